package depcheck

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
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
		// optional: not there yet is not an error (publish, which is to
		// take assemble's writers, registries and pushes).
		optional bool
	}{{"resolver", false, false}, {"profiles", true, false}, {"assemble", true, false},
		{"sbom", true, false}, {"attest", true, false}, {"publish", true, true},
		{"appdeps", true, false}, {"appdeps/python", true, false}, {"appdeps/npm", true, false}} {
		pkg := c.pkg
		if _, err := os.Stat(filepath.Join(root, pkg)); c.optional && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		deps, err := Deps(root, Module+"/"+pkg, c.tests)
		if err != nil {
			t.Fatal(err)
		}
		// attest imports nothing of the module; the others do.
		if len(deps) == 0 && pkg != "attest" {
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
