package depcheck

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// formats are the packages that know a package format.
var formats = []string{Module + "/packages/deb", Module + "/packages/rpm"}

// TestFormatNeutral: the resolver, the profiles, the assembler, the
// SBOM, the attestations, the publish stage and the application layer's
// installers (appdeps) know no package format,
// directly or through another package of this module. (The format's
// Describer reads licenses for the SBOM, in packages/deb and
// packages/rpm.)
//
// The one known exception, in tests only: resolver/deb_test.go resolves
// real Debian indexes (a signed archive from debtest) end to end. The
// assembler's tests count too: images built from real .deb files (the
// payload reader and status.d, the Debian package database) are tested
// in packages/deb, which imports assemble, not the other way round.
func TestFormatNeutral(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		pkg   string
		tests bool // its own test files count too
	}{{"resolver", false}, {"profiles", true}, {"assemble", true},
		{"sbom", true}, {"attest", true}, {"publish", true}, {"internal/imagediff", true},
		{"appdeps", true}, {"appdeps/python", true}, {"appdeps/npm", true}} {
		pkg := c.pkg
		deps, err := Deps(root, Module+"/"+pkg, c.tests)
		if err != nil {
			t.Fatal(err)
		}
		// attest and imagediff import nothing of the module; the others do.
		if len(deps) == 0 && pkg != "attest" && pkg != "internal/imagediff" {
			t.Fatalf("%s: no module-internal dependencies found; is the module root %s right?", pkg, root)
		}
		for _, f := range formats {
			if chain, ok := deps[f]; ok {
				t.Errorf("%s depends on %s: %s", pkg, f, strings.Join(chain, " → "))
			}
		}
	}
}

// TestDepsFindsIndirect: Deps follows imports through other packages of
// the module, so a format reached through a third package is found.
func TestDepsFindsIndirect(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	// distro imports packages/deb directly; the root package only
	// through distro (and others).
	deps, err := Deps(root, Module, false)
	if err != nil {
		t.Fatal(err)
	}
	chain, ok := deps[Module+"/packages/deb"]
	if !ok || len(chain) < 3 {
		t.Fatalf("root package: packages/deb chain %v, want one through another package", chain)
	}
	// With tests: resolver's tests import packages/deb (the exception
	// TestFormatNeutral names), its code does not; packages/deb's tests
	// import assemble.
	if deps, err = Deps(root, Module+"/resolver", true); err != nil {
		t.Fatal(err)
	}
	if _, ok := deps[Module+"/packages/deb"]; !ok {
		t.Error("resolver's tests: packages/deb not found among their imports")
	}
	if deps, err = Deps(root, Module+"/packages/deb", true); err != nil {
		t.Fatal(err)
	}
	if _, ok := deps[Module+"/assemble"]; !ok {
		t.Error("packages/deb's tests: assemble not found among their imports")
	}
}

// registryImports are the go-containerregistry packages that reach
// registries or write layouts and archives: the publish stage's.
var registryImports = []string{
	"github.com/google/go-containerregistry/pkg/authn",
	"github.com/google/go-containerregistry/pkg/name",
	"github.com/google/go-containerregistry/pkg/v1/layout",
	"github.com/google/go-containerregistry/pkg/v1/remote",
	"github.com/google/go-containerregistry/pkg/v1/tarball",
}

// TestAssembleEndsAtImage: the assembler ends at an image (or index)
// and its attachments as values. Neither it nor a package of the module
// it depends on writes layouts or archives or talks to a registry
// (those are the publish stage's), and it does not import the publish
// stage, nor the publish stage it.
func TestAssembleEndsAtImage(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	deps, err := Deps(root, Module+"/assemble", false)
	if err != nil {
		t.Fatal(err)
	}
	if chain, ok := deps[Module+"/publish"]; ok {
		t.Errorf("assemble depends on publish: %s", strings.Join(chain, " → "))
	}
	pkgs := []string{Module + "/assemble"}
	for p := range deps {
		pkgs = append(pkgs, p)
	}
	checked := 0
	for _, p := range pkgs {
		dir := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(p, Module), "/")))
		bp, err := build.Default.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range bp.Imports {
			if strings.HasPrefix(imp, "github.com/google/go-containerregistry/") {
				checked++
			}
			if slices.Contains(registryImports, imp) {
				t.Errorf("%s imports %s", p, imp)
			}
		}
	}
	if checked == 0 {
		t.Fatal("assemble: no go-containerregistry import found; is the module root right?")
	}
	pdeps, err := Deps(root, Module+"/publish", true)
	if err != nil {
		t.Fatal(err)
	}
	if chain, ok := pdeps[Module+"/assemble"]; ok {
		t.Errorf("publish depends on assemble: %s", strings.Join(chain, " → "))
	}
}
