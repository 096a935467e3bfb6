package deb_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages/deb"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// packagesBlob returns the path of the cached (uncompressed) Packages file.
func packagesBlob(t *testing.T, dir string) string {
	t.Helper()
	var found string
	filepath.WalkDir(filepath.Join(dir, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.HasPrefix(b, []byte("Package: ")) {
				found = p
			}
		}
		return nil
	})
	if found == "" {
		t.Fatal("no Packages blob in the cache")
	}
	return found
}

// TestWarmOpenChecksStanzas: a warm open does not hash the whole cached
// Packages file; each stanza is checked against the sidecar's digest when
// read. A byte changed in one stanza (the size kept) is found when that
// stanza is read, not before: the stanza is left out, the index reports
// the damage naming the file, and the file is removed, so that the next
// open fetches it again and all is well.
func TestWarmOpenChecksStanzas(t *testing.T) {
	a := debtest.NewArchive(t, basic)
	dir := t.TempDir()
	if _, err := deb.Open(ctx, &fetch.Cache{Dir: dir}, spec(a, "bookworm")); err != nil {
		t.Fatal(err)
	}
	blob := packagesBlob(t, dir)
	data, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte("Package: hello\n"))
	if i < 0 {
		t.Fatal("no hello stanza")
	}
	data[i+len("Package: he")] = 'X' // "heXlo": same size, another name
	if err := os.WriteFile(blob, data, 0o644); err != nil {
		t.Fatal(err)
	}

	ix, err := deb.Open(ctx, &fetch.Cache{Dir: dir}, spec(a, "bookworm"))
	if err != nil {
		t.Fatal(err)
	}
	// Stanzas not damaged read as ever; no damage seen yet.
	if p := ix.Lookup("libc6"); p == nil || p.Version != "2.36-9+deb12u4" {
		t.Fatalf("libc6: %+v", p)
	}
	if err := ix.Damaged(); err != nil {
		t.Fatalf("damage reported before the damaged stanza was read: %v", err)
	}
	if _, err := os.Stat(blob); err != nil {
		t.Fatalf("blob gone before the damage was seen: %v", err)
	}
	// The damaged one: the sidecar still finds it under hello.
	if p := ix.Lookup("hello"); p != nil {
		t.Fatalf("damaged stanza read: %+v", p)
	}
	err = ix.Damaged()
	if err == nil || !strings.Contains(err.Error(), blob) || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("Damaged() = %v, want the damage named with %s", err, blob)
	}
	if _, err := os.Stat(blob); !os.IsNotExist(err) {
		t.Fatalf("damaged blob not removed: %v", err)
	}

	ix, err = deb.Open(ctx, &fetch.Cache{Dir: dir}, spec(a, "bookworm"))
	if err != nil {
		t.Fatal(err)
	}
	if p := ix.Lookup("hello"); p == nil || p.Version != "2.10-3" {
		t.Fatalf("hello after the file was fetched again: %+v", p)
	}
	if err := ix.Damaged(); err != nil {
		t.Fatal(err)
	}
}

// TestWarmOpenWrongSize: a cached Packages file of another size than its
// InRelease lists is not opened lazily: it is hashed, found wrong and
// fetched again.
func TestWarmOpenWrongSize(t *testing.T) {
	a := debtest.NewArchive(t, basic)
	dir := t.TempDir()
	if _, err := deb.Open(ctx, &fetch.Cache{Dir: dir}, spec(a, "bookworm")); err != nil {
		t.Fatal(err)
	}
	blob := packagesBlob(t, dir)
	data, _ := os.ReadFile(blob)
	if err := os.WriteFile(blob, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	ix, err := deb.Open(ctx, &fetch.Cache{Dir: dir, Log: &log}, spec(a, "bookworm"))
	if err != nil {
		t.Fatal(err)
	}
	if p := ix.Lookup("hello"); p == nil || ix.Damaged() != nil {
		t.Fatalf("hello: %+v, damaged: %v", p, ix.Damaged())
	}
	if got, _ := os.ReadFile(blob); !bytes.Equal(got, data) {
		t.Fatal("the cached file was not fetched again")
	}
}
