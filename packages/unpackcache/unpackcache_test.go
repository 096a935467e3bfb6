package unpackcache

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tarOf(t *testing.T, names ...string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(n))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(n))
	}
	tw.Close()
	return b.Bytes()
}

func TestWriterWalk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub")
	dst := filepath.Join(dir, "abc.rpm.tar.zst")
	w, err := Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if tmp := filepath.Base(w.f.Name()); !strings.HasPrefix(tmp, ".tmp-") || !strings.HasSuffix(tmp, ".rpm.tar.zst") {
		t.Errorf("temporary file %s", tmp)
	}
	w.Write(tarOf(t, "./a", "./b"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	w.Abort() // does nothing after Commit
	var got []string
	done, err := Walk(dst, func(h *tar.Header, r io.Reader) error {
		b, _ := io.ReadAll(r)
		got = append(got, h.Name+"="+string(b))
		return nil
	})
	if !done || err != nil || strings.Join(got, " ") != "./a=./a ./b=./b" {
		t.Fatalf("Walk: %v %v %q", done, err, got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("dir holds %v", ents)
	}

	w2, _ := Create(filepath.Join(dir, "def.tar.zst"))
	w2.Write(tarOf(t, "./c"))
	w2.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("after Abort, dir holds %v", ents)
	}
	if done, err := Walk(filepath.Join(dir, "def.tar.zst"), nil); done || err != nil {
		t.Errorf("missing entry: %v %v", done, err)
	}
}

func TestWalkDamaged(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "abc.tar.zst")
	// Garbage: not used, removed, nothing passed on.
	os.WriteFile(dst, []byte("not zstd at all"), 0o644)
	if done, err := Walk(dst, func(*tar.Header, io.Reader) error { t.Error("fn called"); return nil }); done || err != nil {
		t.Errorf("garbage entry: %v %v", done, err)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Error("garbage entry not removed")
	}
	// Cut short after the first member: an error, and removed.
	w, _ := Create(dst)
	w.Write(tarOf(t, "./a", "./b")[:1024+100])
	w.Commit()
	done, err := Walk(dst, func(*tar.Header, io.Reader) error { return nil })
	if !done || err == nil || !strings.Contains(err.Error(), "unpack cache entry abc.tar.zst is damaged (removed; run again)") {
		t.Errorf("truncated entry: %v %v", done, err)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Error("truncated entry not removed")
	}
}

func TestKeyHas(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.deb")
	os.WriteFile(file, []byte("hello\n"), 0o644)
	f, _ := os.Open(file)
	k, err := Key(f)
	f.Close()
	if err != nil || k != "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03" {
		t.Fatalf("Key: %s %v", k, err)
	}
	if ok, err := Has(file, dir, ".tar.zst"); ok || err != nil {
		t.Errorf("Has before: %v %v", ok, err)
	}
	os.WriteFile(filepath.Join(dir, k+".tar.zst"), nil, 0o644)
	if ok, err := Has(file, dir, ".tar.zst"); !ok || err != nil {
		t.Errorf("Has after: %v %v", ok, err)
	}
	if _, err := Has(filepath.Join(dir, "missing"), dir, ".tar.zst"); !os.IsNotExist(err) {
		t.Errorf("Has on a missing file: %v", err)
	}
}
