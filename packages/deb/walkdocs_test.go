package deb

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages/deb/debtest"
)

func hasWalked(t *testing.T, file string) bool {
	t.Helper()
	id, ok := idOf(file)
	if !ok {
		t.Fatalf("stat %s", file)
	}
	walkedMu.Lock()
	defer walkedMu.Unlock()
	_, ok = walkedDocs[id]
	return ok
}

// TestDescribeAfterWalk: Describe of a file a complete walk saw takes
// the docs from that walk (once), and says exactly what reading the
// package says; the walk's fn still gets every byte; a walk stopped
// early records nothing.
func TestDescribeAfterWalk(t *testing.T) {
	dir := t.TempDir()
	control := "Package: libx1\nVersion: 1\nArchitecture: all\nMaintainer: X <x@example.org>\n"
	gpl := []byte("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+\n")
	mit := []byte("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: Expat\n")
	for name, files := range map[string][]debtest.DebFile{
		"copyright":       {{Name: "./usr/share/doc/libx1/", Type: tar.TypeDir}, {Name: "./usr/share/doc/libx1/copyright", Body: gpl}},
		"first wins":      {{Name: "./usr/share/doc/libx1/copyright", Body: gpl}, {Name: "./usr/share/doc/libx1/copyright", Body: mit}},
		"link first":      {{Name: "./usr/share/doc/libx1", Type: tar.TypeSymlink, Link: "libx-common"}, {Name: "./usr/share/doc/libx1/copyright", Body: mit}},
		"other package":   {{Name: "./usr/share/doc/liby/copyright", Body: mit}},
		"shared doc dir":  {{Name: "./usr/share/doc/libx1", Type: tar.TypeSymlink, Link: "libx-common"}},
		"link out":        {{Name: "./usr/share/doc/libx1", Type: tar.TypeSymlink, Link: "../../../etc"}},
		"deeper":          {{Name: "./usr/share/doc/libx1/sub/copyright", Body: mit}},
		"copyright link":  {{Name: "./usr/share/doc/libx1/copyright", Type: tar.TypeSymlink, Link: "/etc/shadow"}},
		"huge copyright":  {{Name: "./usr/share/doc/libx1/copyright", Body: bytes.Repeat([]byte("x"), maxCopyright+1)}},
		"dotted name":     {{Name: "usr/share/doc/./libx1/copyright", Body: gpl}},
		"no doc":          {{Name: "./usr/bin/x", Body: []byte("x")}},
		"many copyrights": {{Name: "./usr/share/doc/a/copyright", Body: gpl}, {Name: "./usr/share/doc/libx1/copyright", Body: mit}},
	} {
		t.Run(name, func(t *testing.T) {
			deb := debtest.Deb(control, nil, files)
			walked := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".deb")
			fresh := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".fresh.deb")
			for _, f := range []string{walked, fresh} {
				if err := os.WriteFile(f, deb, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range []Payload{{}, {CacheDir: filepath.Join(dir, "cache")}, {CacheDir: filepath.Join(dir, "cache")}} {
				// The walk's fn sees each file's bytes as they are.
				i := 0
				err := p.Walk(walked, func(h *tar.Header, r io.Reader) error {
					for i < len(files) && files[i].Type != 0 && files[i].Type != tar.TypeReg {
						i++
					}
					if h.Typeflag == tar.TypeReg {
						b, err := io.ReadAll(r)
						if err != nil {
							return err
						}
						if i >= len(files) || !bytes.Equal(b, files[i].Body) {
							t.Errorf("%s: the walk passed %d bytes, not the package's", h.Name, len(b))
						}
						i++
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if !hasWalked(t, walked) {
					t.Fatal("a complete walk recorded nothing")
				}
				got, err := p.Describe(walked)
				if err != nil {
					t.Fatal(err)
				}
				if hasWalked(t, walked) {
					t.Error("Describe left the walk's record")
				}
				want, err := p.Describe(fresh)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("cache %q: after a walk %+v; reading the package %+v", p.CacheDir, got, want)
				}
			}
		})
	}
	// A walk stopped early records nothing: Describe then reads the package.
	file := filepath.Join(dir, "stopped.deb")
	if err := os.WriteFile(file, debtest.Deb(control, nil, []debtest.DebFile{{Name: "./usr/bin/x", Body: []byte("x")}, {Name: "./usr/share/doc/libx1/copyright", Body: gpl}}), 0o644); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	if err := (Payload{}).Walk(file, func(*tar.Header, io.Reader) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("walk: %v", err)
	}
	if hasWalked(t, file) {
		t.Error("a walk stopped early was recorded")
	}
	d, err := Payload{}.Describe(file)
	if err != nil || d.License.Expression == "" {
		t.Errorf("after a stopped walk: %+v, %v", d, err)
	}
}

// TestWalkedDocsBounded: the records keep at most maxWalkedDocs bytes of
// copyright files; past it a walk records nothing.
func TestWalkedDocsBounded(t *testing.T) {
	dir := t.TempDir()
	control := "Package: big\nVersion: 1\nArchitecture: all\n"
	big := bytes.Repeat([]byte("x"), maxCopyright)
	var files []string
	for i := range maxWalkedDocs/maxCopyright + 2 {
		f := filepath.Join(dir, "big"+string(rune('a'+i))+".deb")
		if err := os.WriteFile(f, debtest.Deb(control, nil, []debtest.DebFile{{Name: "./usr/share/doc/big/copyright", Body: big}}), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := (Payload{}).Walk(f, func(*tar.Header, io.Reader) error { return nil }); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	walkedMu.Lock()
	n := walkedBytes
	walkedMu.Unlock()
	if n > maxWalkedDocs || n < maxWalkedDocs-maxCopyright {
		t.Errorf("%d bytes recorded, bound %d", n, maxWalkedDocs)
	}
	if hasWalked(t, files[len(files)-1]) {
		t.Error("the walk past the bound was recorded")
	}
	for _, f := range files {
		takeDocs(f)
	}
	walkedMu.Lock()
	n = walkedBytes
	walkedMu.Unlock()
	if n != 0 {
		t.Errorf("%d bytes left once every record was taken", n)
	}
}
