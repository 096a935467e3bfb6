package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "sub", "f")
	if err := WriteFile(dst, []byte("one"), Options{}); err == nil {
		t.Fatal("wrote into a missing directory without MkdirAll")
	}
	if err := WriteFile(dst, []byte("one"), Options{MkdirAll: true, Sync: true}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(dst); err != nil || string(b) != "one" {
		t.Fatalf("%q, %v", b, err)
	}
	if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}
	// A failed fill leaves the old file and no temporary file.
	boom := errors.New("boom")
	err := Write(dst, Options{Pattern: ".partial-*"}, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("fill's error: %v", err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "one" {
		t.Errorf("a failed write changed the file: %q", b)
	}
	if ents, _ := os.ReadDir(filepath.Dir(dst)); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
	// fill has the file itself, to go back and write a header.
	err = Write(dst, Options{}, func(w io.Writer) error {
		f, ok := w.(*os.File)
		if !ok {
			return errors.New("not an *os.File")
		}
		if _, err := f.Write([]byte("xxxdata")); err != nil {
			return err
		}
		_, err := f.WriteAt([]byte("hdr"), 0)
		return err
	})
	if b, _ := os.ReadFile(dst); err != nil || string(b) != "hdrdata" {
		t.Fatalf("%q, %v", b, err)
	}
	// Commit once; a second Commit fails, Abort then does nothing.
	f, err := Create(dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("two")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err == nil {
		t.Error("a second Commit succeeded")
	}
	f.Abort()
	if b, _ := os.ReadFile(dst); string(b) != "two" {
		t.Errorf("after Commit: %q", b)
	}
	// A rename that cannot happen (dst is a non-empty directory) removes
	// the temporary file.
	os.MkdirAll(filepath.Join(dir, "d", "x2"), 0o755)
	os.WriteFile(filepath.Join(dir, "d", "x2", "y"), nil, 0o644)
	if err := WriteFile(filepath.Join(dir, "d", "x2"), []byte("z"), Options{}); err == nil {
		t.Error("renamed over a non-empty directory")
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "d")); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
}
