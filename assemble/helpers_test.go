package assemble

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/packages"
	"github.com/google/go-containerregistry/pkg/v1"
)

// fakePayload serves package payloads from memory, keyed by file name.
type fakePayload map[string]*fakePkg

type fakePkg struct {
	entries []fakeEntry
	control map[string][]byte
}

type fakeEntry struct {
	h    tar.Header
	data []byte
}

func (f fakePayload) Walk(file string, fn func(*tar.Header, io.Reader) error) error {
	p, ok := f[file]
	if !ok {
		return fmt.Errorf("%s: %w", file, fs.ErrNotExist)
	}
	for _, e := range p.entries {
		h := e.h
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := fn(&h, bytes.NewReader(e.data)); err != nil {
			return err
		}
	}
	return nil
}

func (f fakePayload) ControlFile(file, name string) ([]byte, error) {
	p, ok := f[file]
	if !ok {
		return nil, fmt.Errorf("%s: %w", file, fs.ErrNotExist)
	}
	b, ok := p.control[name]
	if !ok {
		return nil, fmt.Errorf("%s: %s: %w", file, name, fs.ErrNotExist)
	}
	return b, nil
}

// PackageDB is a package database of one file per package,
// /var/lib/fakedb/NAME holding "NAME VERSION" and its control files.
func (f fakePayload) PackageDB(installed []packages.Installed, _ time.Time) ([]packages.DBFile, error) {
	var out []packages.DBFile
	for _, in := range installed {
		data := in.Pkg.Name + " " + in.Pkg.Version + "\n"
		if p := f[in.File]; p != nil {
			for _, k := range slices.Sorted(maps.Keys(p.control)) {
				data += k + ": " + string(p.control[k])
			}
		}
		out = append(out, packages.DBFile{Path: "/var/lib/fakedb/" + in.Pkg.Name, Data: []byte(data)})
	}
	return out, nil
}

func reg(name string, mode int64, data string) fakeEntry {
	return fakeEntry{h: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode}, data: []byte(data)}
}

func regBytes(name string, mode int64, data []byte) fakeEntry {
	return fakeEntry{h: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode}, data: data}
}

func dir(name string, mode int64) fakeEntry {
	return fakeEntry{h: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: mode}}
}

func sym(name, target string) fakeEntry {
	return fakeEntry{h: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}}
}

func hard(name, target string) fakeEntry {
	return fakeEntry{h: tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target}}
}

// fixture builds specs from fake packages.
type fixture struct {
	payload fakePayload
}

func newFixture() *fixture { return &fixture{payload: fakePayload{}} }

// pkg registers a package and returns its Unpack.
func (f *fixture) pkg(name string, entries ...fakeEntry) Unpack {
	file := "pool/" + name + "_1.0_amd64.deb"
	f.payload[file] = &fakePkg{entries: entries, control: map[string][]byte{
		"md5sums": []byte("d41d8cd98f00b204e9800998ecf8427e  usr/share/" + name + "\n"),
	}}
	return Unpack{File: file, Pkg: &packages.Package{Name: name, Version: "1.0", Arch: "amd64"}}
}

func (f *fixture) spec(layers ...Layer) Spec {
	return Spec{
		Layers:     layers,
		Payload:    f.payload,
		Arch:       "amd64",
		Created:    time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		PruneFiles: DefaultPruneFiles,
		OSRelease:  map[string]string{"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Distroless (Debian GNU/Linux 12 (bookworm))"},
	}
}

func layer(name string, pkgs ...Unpack) Layer { return Layer{Name: name, Packages: pkgs} }

// tarFile is one entry of a layer as read back.
type tarFile struct {
	h    *tar.Header
	data []byte
}

// layerFiles reads an image layer's tar entries, in order.
func layerFiles(t *testing.T, l v1.Layer) []tarFile {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []tarFile
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarFile{h, b})
	}
}

// rootfs flattens an image's layers into path -> entry (later layers win).
func rootfs(t *testing.T, img v1.Image) map[string]tarFile {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]tarFile{}
	for _, l := range ls {
		for _, f := range layerFiles(t, l) {
			m[strings.TrimSuffix(f.h.Name, "/")] = f
		}
	}
	return m
}

func mustBuild(t *testing.T, spec Spec) (v1.Image, *Report) {
	t.Helper()
	img, rep, err := Build(context.Background(), spec)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return img, rep
}

func layerDigests(t *testing.T, img v1.Image) []string {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d.String())
	}
	return out
}

func names(m map[string]tarFile) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func digestOf(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
