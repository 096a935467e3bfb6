package deb

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages/decompress"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// corruptions are the ways a compressed member is damaged: each keeps the
// ar archive well-formed (the member's size is its new size), so only the
// stream itself is wrong.
var corruptions = []struct {
	name string
	do   func(b []byte) []byte
}{
	{"flipped byte in the middle", func(b []byte) []byte { return flipAt(b, len(b)/2) }},
	{"flipped last byte", func(b []byte) []byte { return flipAt(b, len(b)-1) }},
	{"flipped byte 6 from the end", func(b []byte) []byte { return flipAt(b, len(b)-6) }},
	{"flipped byte 12 from the end", func(b []byte) []byte { return flipAt(b, len(b)-12) }},
	{"truncated by 1 byte", func(b []byte) []byte { return b[:len(b)-1] }},
	{"truncated by 8 bytes", func(b []byte) []byte { return b[:len(b)-8] }},
	{"trailing garbage", func(b []byte) []byte { return append(bytes.Clone(b), "garbage!"...) }},
	{"trailing zeros", func(b []byte) []byte { return append(bytes.Clone(b), 0, 0, 0, 0, 0, 0) }},
}

func flipAt(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0xff
	return b
}

// corruptTestTar is a tar padded as GNU tar and dpkg-deb pad them (to a
// 10240-byte record), so that the tar reader stops well before the
// compressor's trailer.
func corruptTestTar(t *testing.T, entries []payloadTestEntry) []byte {
	b := payloadTestTar(t, entries)
	if r := len(b) % 10240; r != 0 {
		b = append(b, make([]byte, 10240-r)...)
	}
	return b
}

// corruptTestDeb writes a .deb whose control.tar and data.tar are
// compressed as ext, then damaged by ctrlDo and dataDo (nil: intact).
func corruptTestDeb(t *testing.T, dir, ext string, ctrlDo, dataDo func([]byte) []byte) string {
	t.Helper()
	ctrl := payloadTestCompress(t, ext, corruptTestTar(t, []payloadTestEntry{
		{name: "./", typ: tar.TypeDir, mode: 0o755},
		{name: "./control", typ: tar.TypeReg, mode: 0o644, data: payloadTestControl},
		{name: "./md5sums", typ: tar.TypeReg, mode: 0o644, data: "0123  usr/bin/hello\n"},
	}))
	data := payloadTestCompress(t, ext, corruptTestTar(t, payloadTestData))
	if ctrlDo != nil {
		ctrl = ctrlDo(ctrl)
	}
	if dataDo != nil {
		data = dataDo(data)
	}
	b := payloadTestAr([]payloadTestMember{
		{"debian-binary", []byte("2.0\n")},
		{"control.tar" + ext, ctrl},
		{"data.tar" + ext, data},
	})
	p := filepath.Join(dir, "hello_1.0-1_amd64.deb")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cacheFiles lists what a cache directory holds, temporary files too.
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, filepath.Base(p))
		}
		return nil
	})
	return out
}

// TestDebPayloadCorruptStream: a data.tar or control.tar whose stream is
// damaged in any way (also after the tar's end marker, where the tar
// reader never looks) is an error naming the package file and the
// member, and nothing of it goes into the unpack cache.
func TestDebPayloadCorruptStream(t *testing.T) {
	for _, ext := range []string{".xz", ".gz", ".zst", ".bz2"} {
		format, _ := decompress.FromExt(ext)
		// The intact package walks, so the damage is what fails below.
		dir := t.TempDir()
		good := corruptTestDeb(t, dir, ext, nil, nil)
		payloadTestWalk(t, Payload{CacheDir: filepath.Join(dir, "cache")}, good)
		if _, err := (Payload{}).ControlFile(good, "control"); err != nil {
			t.Fatalf("%s: intact package: %v", ext, err)
		}
		for _, c := range corruptions {
			t.Run("data.tar"+ext+"/"+c.name, func(t *testing.T) {
				dir := t.TempDir()
				file := corruptTestDeb(t, dir, ext, nil, c.do)
				cache := filepath.Join(dir, "cache")
				p := Payload{CacheDir: cache}
				var got []string
				err := p.Walk(file, func(h *tar.Header, r io.Reader) error {
					got = append(got, h.Name)
					_, err := io.Copy(io.Discard, r)
					return err
				})
				checkCorruptErr(t, err, file, "data.tar"+ext, format)
				if err := p.Prepare(file); err == nil {
					t.Error("Prepare: no error")
				}
				if err := (Payload{}).Walk(file, func(*tar.Header, io.Reader) error { return nil }); err == nil {
					t.Error("Walk without a cache: no error")
				}
				if files := cacheFiles(t, cache); len(files) != 0 {
					t.Errorf("the unpack cache holds %v", files)
				}
			})
			t.Run("control.tar"+ext+"/"+c.name, func(t *testing.T) {
				dir := t.TempDir()
				file := corruptTestDeb(t, dir, ext, c.do, nil)
				cache := filepath.Join(dir, "cache")
				for _, p := range []Payload{{CacheDir: cache}, {}} {
					_, err := p.ControlFile(file, "control")
					checkCorruptErr(t, err, file, "control.tar"+ext, format)
					if _, err := p.Identity(file); err == nil {
						t.Error("Identity: no error")
					}
				}
				if files := cacheFiles(t, cache); len(files) != 0 {
					t.Errorf("the unpack cache holds %v", files)
				}
			})
		}
	}
}

func checkCorruptErr(t *testing.T, err error, file, member string, format decompress.Format) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), member) {
		t.Errorf("error %q does not name %s and %s", err, file, member)
	}
	// The tar reader may see the damage first (a broken header); when it
	// does not, it is the decompressor's check that fails.
	var e *decompress.Error
	if errors.As(err, &e) && e.Format != format {
		t.Errorf("error %q names format %s, want %s", err, e.Format, format)
	}
}

// TestDebPayloadTrailerOnly: damage confined to the compressor's trailer
// (gzip's CRC-32 and size), after every byte of the tar was read
// correctly, is still an error: the walk reads the stream to its end.
func TestDebPayloadTrailerOnly(t *testing.T) {
	dir := t.TempDir()
	for _, at := range []int{1, 2, 3, 4, 5, 6, 7, 8} {
		file := corruptTestDeb(t, dir, ".gz", nil, func(b []byte) []byte { return flipAt(b, len(b)-at) })
		cache := filepath.Join(dir, "cache")
		var files int
		err := Payload{CacheDir: cache}.Walk(file, func(h *tar.Header, r io.Reader) error {
			files++
			return nil
		})
		var e *decompress.Error
		if !errors.As(err, &e) || e.Format != decompress.Gzip {
			t.Errorf("trailer byte -%d: err = %v, want a gzip stream error", at, err)
		}
		if files != len(payloadTestData) {
			t.Errorf("trailer byte -%d: %d entries walked before the error, want all %d", at, files, len(payloadTestData))
		}
		if got := cacheFiles(t, cache); len(got) != 0 {
			t.Errorf("trailer byte -%d: the unpack cache holds %v", at, got)
		}
	}
}

// TestPackagesIndexCorrupt: a Packages.gz or Packages.xz whose stream is
// damaged (in the data, in the trailer, truncated, or followed by
// garbage) is refused by the index reader itself, even when the digest
// and size of its uncompressed content are right (in a real archive the
// compressed file's SHA-256 from the signed Release refuses it earlier).
func TestPackagesIndexCorrupt(t *testing.T) {
	data := []byte(strings.Repeat("Package: hello\nVersion: 1.0-1\nArchitecture: amd64\n\n", 300))
	sum := sha256.Sum256(data)
	entry := releaseEntry{Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	for _, kind := range []string{"gz", "xz"} {
		comp := payloadTestCompress(t, "."+kind, data)
		dir := t.TempDir()
		write := func(b []byte) string {
			p := filepath.Join(dir, "Packages."+kind)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
		c := &fetch.Cache{Dir: filepath.Join(dir, "cache")}
		if _, _, err := indexPackages(c, write(comp), kind, entry, "Packages."+kind); err != nil {
			t.Fatalf("%s: intact: %v", kind, err)
		}
		for _, cr := range corruptions {
			c := &fetch.Cache{Dir: filepath.Join(dir, "cache-"+strings.ReplaceAll(cr.name, " ", "-"))}
			_, _, err := indexPackages(c, write(cr.do(comp)), kind, entry, "Packages."+kind)
			if err == nil || !strings.Contains(err.Error(), "Packages."+kind) {
				t.Errorf("%s, %s: err = %v, want an error naming the file", kind, cr.name, err)
			}
			if _, ok := c.Blob(entry.SHA256); ok {
				t.Errorf("%s, %s: the decompressed index was cached", kind, cr.name)
			}
		}
	}
}
