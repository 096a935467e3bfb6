package assemble

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
)

// TestBuildFromDebs builds from real .deb files through deb.Payload,
// with and without its unpack cache: the image must not change.
func TestBuildFromDebs(t *testing.T) {
	dir := t.TempDir()
	mk := func(name, control string, files []debtest.DebFile) Unpack {
		p := filepath.Join(dir, name+".deb")
		md5 := map[string][]byte{"md5sums": []byte("0123456789abcdef0123456789abcdef  usr/bin/" + name + "\n")}
		if err := os.WriteFile(p, debtest.Deb(control, md5, files), 0o644); err != nil {
			t.Fatal(err)
		}
		return Unpack{File: p, Pkg: &packages.Package{Name: name, Version: "1.0", Arch: "amd64"}}
	}
	base := mk("base-files", "Package: base-files\nVersion: 1.0\nArchitecture: amd64", []debtest.DebFile{
		{Name: "./", Type: tar.TypeDir}, {Name: "./etc/", Type: tar.TypeDir},
		{Name: "./etc/debian_version", Body: []byte("12.5\n")},
		{Name: "./usr/share/doc/base-files/copyright", Body: []byte("copyright")},
		{Name: "./usr/share/doc/base-files/README", Body: []byte("readme")},
	})
	tool := mk("tool", "Package: tool\nVersion: 1.0\nArchitecture: amd64", []debtest.DebFile{
		{Name: "./bin/", Type: tar.TypeDir},
		{Name: "./bin/tool", Body: []byte("#!/bin/sh\n"), Mode: 0o4755},
		{Name: "./bin/tool2", Type: tar.TypeLink, Link: "./bin/tool"},
		{Name: "./usr/bin/t", Type: tar.TypeSymlink, Link: "../../bin/tool"},
	})
	spec := Spec{
		Layers:     []Layer{{Name: "base", Packages: []Unpack{base}}, {Name: "tool", Packages: []Unpack{tool}}},
		Arch:       "amd64",
		PruneFiles: DefaultPruneFiles,
		OSRelease:  map[string]string{"ID": "debian"},
	}
	var digests []string
	for _, p := range []deb.Payload{{}, {CacheDir: filepath.Join(dir, "cache")}, {CacheDir: filepath.Join(dir, "cache")}} {
		spec.Payload = p
		img, _ := mustBuild(t, spec)
		digests = append(digests, digestOf(t, img))
		if len(digests) == 1 {
			fs := rootfs(t, img)
			for path, want := range map[string]string{
				"usr/bin/tool":                       "755",
				"etc/debian_version":                 "644",
				"usr/share/doc/base-files/copyright": "644",
				"var/lib/dpkg/status.d/tool":         "644",
				"var/lib/dpkg/status.d/tool.md5sums": "644",
				"var/lib/dpkg/status.d/base-files":   "644",
			} {
				e, ok := fs[path]
				if !ok {
					t.Errorf("%s missing; have %v", path, names(fs))
				} else if got := fmt.Sprintf("%o", e.h.Mode); got != want {
					t.Errorf("%s mode %s, want %s", path, got, want)
				}
			}
			if _, ok := fs["usr/share/doc/base-files/README"]; ok {
				t.Error("README not pruned")
			}
			if got := string(fs["var/lib/dpkg/status.d/tool"].data); got != "Package: tool\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n" {
				t.Errorf("status.d/tool from the .deb's control = %q", got)
			}
			// deb.Payload is the package database: each layer has the
			// status.d files of its own packages, none of a lower layer's.
			ls, _ := img.Layers()
			for _, e := range layerFiles(t, ls[1]) {
				if strings.HasPrefix(e.h.Name, "var/lib/dpkg/status.d/base-files") {
					t.Errorf("the tool layer repeats %s", e.h.Name)
				}
			}
			if e := fs["usr/bin/tool2"]; e.h == nil || e.h.Typeflag != tar.TypeLink || e.h.Linkname != "usr/bin/tool" {
				t.Errorf("hard link = %+v", e.h)
			}
		}
	}
	if digests[0] != digests[1] || digests[1] != digests[2] {
		t.Errorf("digests differ with the cache: %v", digests)
	}
}
