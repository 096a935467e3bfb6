package pipeline

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/appdeps"
	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/packages"
)

// fakeFinder answers FindFiles from a table.
type fakeFinder map[string][]packages.FileOwners

func (f fakeFinder) FindFiles(_ context.Context, names []string) (map[string][]packages.FileOwners, error) {
	out := map[string][]packages.FileOwners{}
	for _, n := range names {
		if o, ok := f[n]; ok {
			out[n] = o
		}
	}
	return out, nil
}

// failingFinder is a file index its signed Release refuses.
type failingFinder struct{}

func (failingFinder) FindFiles(context.Context, []string) (map[string][]packages.FileOwners, error) {
	return nil, errors.New("size mismatch")
}

// TestFindAppLibs: a shared object linked against libyaml (built here)
// needs libyaml-0.so.2 and libc.so.6; the closure has libc6, so
// libyaml-0-2 is added; a library several packages ship, one no package
// ships in the loader's directories, and one the set bundles.
func TestFindAppLibs(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatalf("gcc is not installed: scripts/test.sh installs what these tests need (%v)", err)
	}
	if _, err := os.Stat("/usr/include/yaml.h"); err != nil {
		t.Fatal("libyaml's headers are not installed (libyaml-dev): scripts/test.sh installs what these tests need")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "m.c")
	os.WriteFile(src, []byte("#include <yaml.h>\nconst char *v(void) { return yaml_get_version_string(); }\n"), 0o644)
	so := filepath.Join(dir, "_m.so")
	if out, err := exec.Command("gcc", "-shared", "-fPIC", "-o", so, src, "-lyaml").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	data, err := os.ReadFile(so)
	if err != nil {
		t.Fatal(err)
	}
	d, err := distro.Get("debian:trixie")
	if err != nil {
		t.Fatal(err)
	}
	closure := []*packages.Package{{Name: "libc6"}}
	set := func(extra ...assemble.File) []*appdeps.Set {
		return []*appdeps.Set{{Name: "python", Files: append([]assemble.File{{Path: "/usr/local/lib/python3.13/dist-packages/_m.so", Mode: 0o644, Data: data}}, extra...)}}
	}
	libc := []packages.FileOwners{{Path: "/usr/lib/x86_64-linux-gnu/libc.so.6", Packages: []string{"libc6"}}, {Path: "/usr/lib32/libc.so.6", Packages: []string{"libc6-i386"}}}
	yaml := []packages.FileOwners{{Path: "/usr/lib/x86_64-linux-gnu/libyaml-0.so.2", Packages: []string{"libyaml-0-2"}}}

	libs, err := findAppLibs(context.Background(), fakeFinder{"libc.so.6": libc, "libyaml-0.so.2": yaml}, d, "amd64", closure, set())
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) != 1 || libs[0] != (AppLib{Set: "python", File: "/usr/local/lib/python3.13/dist-packages/_m.so", Needs: "libyaml-0.so.2", Package: "libyaml-0-2"}) {
		t.Errorf("libs %+v", libs)
	}
	// Bundled by the set: nothing to add.
	libs, err = findAppLibs(context.Background(), fakeFinder{"libc.so.6": libc, "libyaml-0.so.2": yaml}, d, "amd64", closure,
		set(assemble.File{Path: "/usr/local/lib/python3.13/dist-packages/m.libs/libyaml-0.so.2", Mode: 0o644, Data: []byte("x")}))
	if err != nil || len(libs) != 0 {
		t.Errorf("bundled: %+v, %v", libs, err)
	}
	for _, c := range []struct {
		finder fakeFinder
		want   string
	}{
		{fakeFinder{"libc.so.6": libc, "libyaml-0.so.2": append(yaml, packages.FileOwners{Path: "/lib/x86_64-linux-gnu/libyaml-0.so.2", Packages: []string{"libyaml-fork"}})},
			"_m.so needs libyaml-0.so.2, which several packages of debian:trixie ship (libyaml-0-2, libyaml-fork"},
		{fakeFinder{"libc.so.6": libc, "libyaml-0.so.2": {{Path: "/opt/yaml/libyaml-0.so.2", Packages: []string{"yaml-opt"}}}},
			"_m.so needs libyaml-0.so.2, which no package of debian:trixie ships in the loader's directories"},
		{fakeFinder{"libc.so.6": libc}, "_m.so needs libyaml-0.so.2, which no package"},
	} {
		if _, err := findAppLibs(context.Background(), c.finder, d, "amd64", closure, set()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	// No file index: an error only because a library is to be looked up.
	if _, err := findAppLibs(context.Background(), nil, d, "amd64", closure, set()); err == nil || !strings.Contains(err.Error(), "AppOptions.NoLibs") {
		t.Errorf("no finder: %v", err)
	}
	// A file index that cannot be read (a Contents file its Release
	// refuses) is a fileIndexError, which gen turns into a warning of the
	// image's report, leaving the judgement to the build's ELF check.
	_, err = findAppLibs(context.Background(), failingFinder{}, d, "amd64", closure, set())
	var fe *fileIndexError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "size mismatch") {
		t.Errorf("refused file index: %v", err)
	}
	w := appWarnings(&AppResult{LookupFailed: fe.Error()})
	if len(w) != 1 || !strings.HasPrefix(w[0], "app-libs: looking up the application's libraries (libyaml-0.so.2): size mismatch") {
		t.Errorf("warnings %q", w)
	}
	if libs, err := findAppLibs(context.Background(), nil, d, "amd64", closure, []*appdeps.Set{{Name: "python", Files: []assemble.File{{Path: "/a.py", Data: []byte("x")}}}}); err != nil || libs != nil {
		t.Errorf("no ELF file, no finder: %v %v", libs, err)
	}
}

// TestPythonTarget: the interpreter and glibc from the closure's packages.
func TestPythonTarget(t *testing.T) {
	deb, _ := distro.Get("debian:trixie")
	pt, err := pythonTarget(appTarget{Distro: deb, Arch: "arm64", Packages: []*packages.Package{
		{Name: "libc6", Version: "2.41-12"}, {Name: "python3.9-minimal"}, {Name: "libpython3.13-stdlib"}, {Name: "python3.13"}}})
	if err != nil {
		t.Fatal(err)
	}
	if pt.Python != "3.13" || pt.Glibc != "2.41" || pt.Interpreter != "/usr/bin/python3.13" || pt.Site != "/usr/local/lib/python3.13/dist-packages" || pt.Arch != "arm64" {
		t.Errorf("%+v", pt)
	}
	if _, err := pythonTarget(appTarget{Distro: deb, Arch: "amd64", Packages: []*packages.Package{{Name: "libc6", Version: "2.41-12"}}}); err == nil || !strings.Contains(err.Error(), "no python 3") {
		t.Errorf("no python: %v", err)
	}
}

// TestAppProvenance: the provenance lists the application's packages by
// purl with their digests (a sha256 pin, and an npm integrity string).
func TestAppProvenance(t *testing.T) {
	res := &AppResult{Sets: []*appdeps.Set{{Name: "python", Components: []appdeps.Component{
		{Type: "pypi", Name: "hello-app", Version: "1.0", Hash: "sha256:" + strings.Repeat("ab", 32), Source: "http://127.0.0.1/files/hello_app-1.0-py3-none-any.whl", PURL: "pkg:pypi/hello-app@1.0"},
		{Type: "npm", Name: "left-pad", Version: "1.3.0", Hash: "sha512-" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xef}, 64)), PURL: "pkg:npm/left-pad@1.3.0"},
	}}}}
	b := attest.Build{Subject: "app", Digest: "sha256:" + strings.Repeat("cd", 32), Apps: appDependencies(res)}
	data, err := attest.Provenance(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"uri":"pkg:pypi/hello-app@1.0"`, `"sha256":"` + strings.Repeat("ab", 32) + `"`, `"uri":"pkg:npm/left-pad@1.3.0"`, `"sha512":"` + strings.Repeat("ef", 64) + `"`, `"kind":"app"`} {
		if !strings.Contains(strings.ReplaceAll(string(data), " ", ""), want) {
			t.Errorf("provenance has no %s:\n%s", want, data)
		}
	}
}
