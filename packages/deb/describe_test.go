package deb

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
)

// TestDescribe reads a .deb's Maintainer, Homepage, requirements,
// provides and copyright file, with and without the unpack cache.
func TestDescribe(t *testing.T) {
	dir := t.TempDir()
	control := "Package: libfoo1\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: Foo Team\n <foo@example.org>\n" +
		"Homepage: https://foo.example/\nPre-Depends: dpkg (>= 1.15)\nDepends: libc6 (>= 2.34), libbar1 | libbaz1, libarm [arm64], ${shlibs:Depends}\n" +
		"Provides: foo-virtual (= 1.0), libfoo\nDescription: foo\n"
	copyright := []byte("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: Expat\n")
	deb := debtest.Deb(control, nil, []debtest.DebFile{
		{Name: "./usr/", Type: tar.TypeDir},
		{Name: "./usr/lib/libfoo.so.1", Body: []byte("\x7fELF")},
		{Name: "./usr/share/doc/libfoo1/", Type: tar.TypeDir},
		{Name: "./usr/share/doc/libfoo1/changelog.gz", Body: []byte("x")},
		{Name: "./usr/share/doc/libfoo1/copyright", Body: copyright},
	})
	file := filepath.Join(dir, "libfoo1.deb")
	if err := os.WriteFile(file, deb, 0o644); err != nil {
		t.Fatal(err)
	}
	want := packages.Description{
		Supplier: "Foo Team <foo@example.org>", Homepage: "https://foo.example/", License: packages.License{Expression: "MIT"},
		Depends: []packages.Dep{
			{Kind: packages.DepAtom, Atom: packages.Atom{Name: "dpkg", Op: ">=", Version: "1.15"}},
			{Kind: packages.DepAtom, Atom: packages.Atom{Name: "libc6", Op: ">=", Version: "2.34"}},
			{Kind: packages.DepOr, Args: []packages.Dep{{Kind: packages.DepAtom, Atom: packages.Atom{Name: "libbar1"}}, {Kind: packages.DepAtom, Atom: packages.Atom{Name: "libbaz1"}}}},
		},
		Provides: []string{"foo-virtual", "libfoo"},
	}
	for _, p := range []Payload{{}, {CacheDir: filepath.Join(dir, "cache")}, {CacheDir: filepath.Join(dir, "cache")}} {
		if p.CacheDir != "" {
			os.MkdirAll(p.CacheDir, 0o755)
		}
		got, err := p.Describe(file)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("cache %q:\n got %+v\nwant %+v", p.CacheDir, got, want)
		}
	}
}

// TestDescribeDocDir: a doc directory that is a symlink names the package
// whose copyright applies, only when it stays in /usr/share/doc; a
// copyright that is not a regular file or is too large is left out.
func TestDescribeDocDir(t *testing.T) {
	dir := t.TempDir()
	control := "Package: libx1\nVersion: 1\nArchitecture: all\nMaintainer: X <x@example.org>\n"
	for _, tc := range []struct {
		name    string
		files   []debtest.DebFile
		docLink string
		hasCopy bool
	}{
		{"shared doc dir", []debtest.DebFile{{Name: "./usr/share/doc/libx1", Type: tar.TypeSymlink, Link: "libx-common"}}, "libx-common", false},
		{"absolute link", []debtest.DebFile{{Name: "./usr/share/doc/libx1", Type: tar.TypeSymlink, Link: "/usr/share/doc/libx-common"}}, "libx-common", false},
		{"link out of doc", []debtest.DebFile{{Name: "./usr/share/doc/libx1", Type: tar.TypeSymlink, Link: "../../../etc"}}, "", false},
		{"link deeper", []debtest.DebFile{{Name: "./usr/share/doc/libx1", Type: tar.TypeSymlink, Link: "a/b"}}, "", false},
		{"copyright symlink", []debtest.DebFile{{Name: "./usr/share/doc/libx1/copyright", Type: tar.TypeSymlink, Link: "/etc/shadow"}}, "", false},
		{"no doc", []debtest.DebFile{{Name: "./usr/bin/x", Body: []byte("x")}}, "", false},
		{"huge copyright", []debtest.DebFile{{Name: "./usr/share/doc/libx1/copyright", Body: bytes.Repeat([]byte("x"), maxCopyright+1)}}, "", false},
		{"dotted name", []debtest.DebFile{{Name: "usr/share/doc/./libx1/copyright", Body: []byte("c")}}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".deb")
			if err := os.WriteFile(file, debtest.Deb(control, nil, tc.files), 0o644); err != nil {
				t.Fatal(err)
			}
			d, err := Payload{}.Describe(file)
			if err != nil {
				t.Fatal(err)
			}
			if d.DocLink != tc.docLink || (d.License.Expression != "") != tc.hasCopy {
				t.Errorf("DocLink %q, license %+v; want %q, a license %v", d.DocLink, d.License, tc.docLink, tc.hasCopy)
			}
		})
	}
}

// TestDescribeRefuses: a control file without a valid name or with a
// dependency field that does not parse is an error naming the file.
func TestDescribeRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, control := range map[string]string{
		"bad name":    "Package: ../x\nVersion: 1\nArchitecture: all\n",
		"bad depends": "Package: x\nVersion: 1\nArchitecture: all\nDepends: libc6 (>> \n",
	} {
		file := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".deb")
		if err := os.WriteFile(file, debtest.Deb(control, nil, nil), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := (Payload{}).Describe(file); err == nil || !strings.Contains(err.Error(), file) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
