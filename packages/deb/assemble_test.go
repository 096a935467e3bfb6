package deb_test

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
)

// Images assembled from real .deb files through deb.Payload: the payload
// reader and the Debian package database as the assembler uses them.

type layerEntry struct {
	h    *tar.Header
	data []byte
}

// layerEntries reads each layer of img: path -> entry.
func layerEntries(t *testing.T, img v1.Image) []map[string]layerEntry {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]layerEntry
	for _, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]layerEntry{}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			m[strings.TrimSuffix(h.Name, "/")] = layerEntry{h, b}
		}
		rc.Close()
		out = append(out, m)
	}
	return out
}

// TestBuildFromDebs builds from real .deb files through deb.Payload,
// with and without its unpack cache: the image must not change.
func TestBuildFromDebs(t *testing.T) {
	dir := t.TempDir()
	mk := func(name, control string, files []debtest.DebFile) assemble.Unpack {
		p := filepath.Join(dir, name+".deb")
		md5 := map[string][]byte{"md5sums": []byte("0123456789abcdef0123456789abcdef  usr/bin/" + name + "\n")}
		if err := os.WriteFile(p, debtest.Deb(control, md5, files), 0o644); err != nil {
			t.Fatal(err)
		}
		return assemble.Unpack{File: p, Pkg: &packages.Package{Name: name, Version: "1.0", Arch: "amd64"}}
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
	spec := assemble.Spec{
		Layers:     []assemble.Layer{{Name: "base", Packages: []assemble.Unpack{base}}, {Name: "tool", Packages: []assemble.Unpack{tool}}},
		Arch:       "amd64",
		PruneFiles: assemble.DefaultPruneFiles,
		OSRelease:  map[string]string{"ID": "debian"},
	}
	var digests []string
	for _, p := range []deb.Payload{{}, {CacheDir: filepath.Join(dir, "cache")}, {CacheDir: filepath.Join(dir, "cache")}} {
		spec.Payload = p
		img, _, err := assemble.Build(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d.String())
		if len(digests) > 1 {
			continue
		}
		layers := layerEntries(t, img)
		fs := map[string]layerEntry{}
		for _, l := range layers {
			for k, v := range l {
				fs[k] = v
			}
		}
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
				t.Errorf("%s missing", path)
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
		// Each layer has the status.d files of its own packages, none
		// of a lower layer's.
		if _, ok := layers[0]["var/lib/dpkg/status.d/base-files"]; !ok {
			t.Error("status.d/base-files not in the base layer")
		}
		for name := range layers[1] {
			if strings.HasPrefix(name, "var/lib/dpkg/status.d/base-files") {
				t.Errorf("the tool layer repeats %s", name)
			}
		}
		if e := fs["usr/bin/tool2"]; e.h == nil || e.h.Typeflag != tar.TypeLink || e.h.Linkname != "usr/bin/tool" {
			t.Errorf("hard link = %+v", e.h)
		}
	}
	if digests[0] != digests[1] || digests[1] != digests[2] {
		t.Errorf("digests differ with the cache: %v", digests)
	}
}

// walkOnly is a payload reader without the identity check, to reach the
// package database's own guards.
type walkOnly struct{ p deb.Payload }

func (w walkOnly) Walk(file string, fn func(h *tar.Header, r io.Reader) error) error {
	return w.p.Walk(file, fn)
}

func (w walkOnly) PackageDB(in []packages.Installed, created time.Time) ([]packages.DBFile, error) {
	return w.p.PackageDB(in, created)
}

// TestStatusNamesGuarded: no package name becomes a status.d path that
// replaces another's file or leaves the directory.
func TestStatusNamesGuarded(t *testing.T) {
	dir := t.TempDir()
	mk := func(file, name, version, control string, md5 bool) assemble.Unpack {
		p := filepath.Join(dir, file+".deb")
		var extra map[string][]byte
		if md5 {
			extra = map[string][]byte{"md5sums": []byte("0123456789abcdef0123456789abcdef  usr/share/x\n")}
		}
		if err := os.WriteFile(p, debtest.Deb(control, extra, []debtest.DebFile{{Name: "./usr/", Type: tar.TypeDir}}), 0o644); err != nil {
			t.Fatal(err)
		}
		return assemble.Unpack{File: p, Pkg: &packages.Package{Name: name, Version: version, Arch: "amd64"}}
	}
	build := func(payload packages.Payload, us ...assemble.Unpack) error {
		_, _, err := assemble.Build(context.Background(), assemble.Spec{Payload: payload, Arch: "amd64", Layers: []assemble.Layer{{Name: "l", Packages: us}}})
		return err
	}

	// A package named like another's md5sums file cannot replace it.
	tool := mk("tool", "tool", "1.0", "Package: tool\nVersion: 1.0\nArchitecture: amd64\n", true)
	shadow := mk("shadow", "tool.md5sums", "1.0", "Package: tool.md5sums\nVersion: 1.0\nArchitecture: amd64\n", false)
	err := build(deb.Payload{}, tool, shadow)
	if err == nil || !strings.Contains(err.Error(), "would both write /var/lib/dpkg/status.d/tool.md5sums") {
		t.Errorf("tool and tool.md5sums: %v", err)
	}
	if err := build(deb.Payload{}, tool); err != nil {
		t.Errorf("tool alone: %v", err)
	}

	// A name that climbs out of status.d, past every other check.
	evil := mk("evil", "../../usr/share/x", "1.0", "Package: ../../usr/share/x\nVersion: 1.0\nArchitecture: amd64\n", false)
	err = build(walkOnly{}, evil)
	if err == nil || !strings.Contains(err.Error(), "cannot be a file name in /var/lib/dpkg/status.d") {
		t.Errorf("../../usr/share/x through a reader without identity check: %v", err)
	}
	// With it, the control file itself is refused.
	err = build(deb.Payload{}, evil)
	if err == nil || !strings.Contains(err.Error(), `package name "../../usr/share/x"`) {
		t.Errorf("../../usr/share/x: %v", err)
	}
	// And a control file naming another package.
	other := mk("other", "tool", "1.0", "Package: libc6\nVersion: 1.0\nArchitecture: amd64\n", false)
	err = build(deb.Payload{}, other)
	if err == nil || !strings.Contains(err.Error(), `own name is "libc6"`) {
		t.Errorf("control naming another package: %v", err)
	}
}
