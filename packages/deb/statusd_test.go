package deb

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
)

func TestStatusRecord(t *testing.T) {
	for in, want := range map[string]string{
		"Package: a\nVersion: 1\n":                          "Package: a\nStatus: install ok installed\nVersion: 1\n",
		"Package: a\nStatus: deinstall ok config-files\n":   "Package: a\nStatus: deinstall ok config-files\n",
		"\nPackage: a\r\nVersion: 1\r\n\n\n":                "Package: a\nStatus: install ok installed\nVersion: 1\n",
		"Package: a\nDescription: x\n more\n\nPackage: b\n": "Package: a\nStatus: install ok installed\nDescription: x\n more\n",
		"Version: 1\n": "Status: install ok installed\nVersion: 1\n",
	} {
		if got := string(statusRecord([]byte(in))); got != want {
			t.Errorf("statusRecord(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPackageDB: status.d holds each package's own control record with
// its Status, and its md5sums; a second package of one name is
// NAME_ARCH; the files of a package depend only on those before it.
func TestPackageDB(t *testing.T) {
	dir := t.TempDir()
	mk := func(file, name, arch string, md5 bool) packages.Installed {
		p := filepath.Join(dir, file+".deb")
		var extra map[string][]byte
		if md5 {
			extra = map[string][]byte{"md5sums": []byte("0123456789abcdef0123456789abcdef  usr/share/x\n")}
		}
		control := "Package: " + name + "\nVersion: 1.0\nArchitecture: " + arch + "\n"
		if err := os.WriteFile(p, debtest.Deb(control, extra, []debtest.DebFile{{Name: "./usr/", Type: tar.TypeDir}}), 0o644); err != nil {
			t.Fatal(err)
		}
		return packages.Installed{File: p, Pkg: &packages.Package{Name: name, Version: "1.0", Arch: arch}}
	}
	a := mk("a", "libx", "amd64", true)
	b := mk("b", "libx", "i386", false)
	c := mk("c", "tool", "amd64", false)
	list := func(in ...packages.Installed) map[string]string {
		files, err := Payload{}.PackageDB(in, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, f := range files {
			m[f.Path] = string(f.Data)
		}
		return m
	}
	first := list(a, b)
	want := map[string]string{
		StatusDir + "/libx":         "Package: libx\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n",
		StatusDir + "/libx.md5sums": "0123456789abcdef0123456789abcdef  usr/share/x\n",
		StatusDir + "/libx_i386":    "Package: libx\nStatus: install ok installed\nVersion: 1.0\nArchitecture: i386\n",
	}
	if fmt.Sprint(first) != fmt.Sprint(want) {
		t.Errorf("PackageDB = %q, want %q", first, want)
	}
	more := list(a, b, c)
	for p, d := range first {
		if more[p] != d {
			t.Errorf("%s changed when a package was added above it", p)
		}
	}
	if len(more) != 4 {
		t.Errorf("with tool: %d files", len(more))
	}
	if _, err := (Payload{}).PackageDB([]packages.Installed{{File: filepath.Join(dir, "missing.deb"), Pkg: a.Pkg}}, time.Time{}); err == nil {
		t.Error("a missing package file: no error")
	}
}
