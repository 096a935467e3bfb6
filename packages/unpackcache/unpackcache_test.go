package unpackcache

import (
	"archive/tar"
	"bytes"
	"errors"
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

var (
	keyA = strings.Repeat("a", 64)
	keyB = strings.Repeat("b", 64)
)

func TestWriterWalk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub")
	dst := filepath.Join(dir, "abc.rpm.tar.zst")
	w, err := Create(dst, keyA)
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
	done, err := Walk(dst, keyA, nil, func(h *tar.Header, r io.Reader) error {
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

	w2, _ := Create(filepath.Join(dir, "def.tar.zst"), keyA)
	w2.Write(tarOf(t, "./c"))
	w2.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("after Abort, dir holds %v", ents)
	}
	if done, err := Walk(filepath.Join(dir, "def.tar.zst"), keyA, nil, nil); done || err != nil {
		t.Errorf("missing entry: %v %v", done, err)
	}
}

func TestWalkDamaged(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "abc.tar.zst")
	var warnings []string
	warn := func(s string) { warnings = append(warnings, s) }
	noFn := func(*tar.Header, io.Reader) error { t.Error("fn called"); return nil }
	// Garbage: not used, removed, nothing passed on.
	os.WriteFile(dst, []byte("not zstd at all"), 0o644)
	if done, err := Walk(dst, keyA, warn, noFn); done || err != nil {
		t.Errorf("garbage entry: %v %v", done, err)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Error("garbage entry not removed")
	}
	// Cut short after the first member, sealed: its tar is bad. Removed,
	// nothing passed on (the seal is checked first, but it holds here, so
	// the tar error shows while walking).
	w, _ := Create(dst, keyA)
	w.Write(tarOf(t, "./a", "./b")[:1024+100])
	w.Commit()
	done, err := Walk(dst, keyA, warn, func(*tar.Header, io.Reader) error { return nil })
	if !done || err == nil || !strings.Contains(err.Error(), "unpack cache entry abc.tar.zst is damaged (removed; run again)") {
		t.Errorf("truncated entry: %v %v", done, err)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Error("truncated entry not removed")
	}
}

func TestWalkSeal(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, keyA+".tar.zst"), filepath.Join(dir, keyB+".tar.zst")
	for _, e := range []struct{ path, key, name string }{{a, keyA, "./a"}, {b, keyB, "./b"}} {
		w, _ := Create(e.path, e.key)
		w.Write(tarOf(t, e.name))
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	good, _ := os.ReadFile(a)
	var warnings []string
	warn := func(s string) { warnings = append(warnings, s) }
	noFn := func(*tar.Header, io.Reader) error { t.Error("a bad entry was used"); return nil }
	cases := []struct {
		name string
		data []byte
		why  string // in the warning; "" = no warning
	}{
		{"another package's entry", mustRead(t, b), "it was made from package " + keyB + ", not " + keyA},
		{"a byte changed", flip(good, 20), "its content does not match its digest"},
		{"seal cut off", good[:len(good)-sealLen], ""},
		{"cut in the seal", good[:len(good)-10], ""}, // looks like an unsealed entry of an older version
		{"empty", nil, "no seal"},
	}
	for _, tc := range cases {
		warnings = nil
		os.WriteFile(a, tc.data, 0o644)
		if done, err := Walk(a, keyA, warn, noFn); done || err != nil {
			t.Errorf("%s: %v %v", tc.name, done, err)
		}
		if _, err := os.Stat(a); err == nil {
			t.Errorf("%s: not removed", tc.name)
		}
		switch {
		case tc.why == "" && len(warnings) != 0:
			t.Errorf("%s: warned %q", tc.name, warnings)
		case tc.why != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], "unpack cache entry "+a+" was damaged ("+tc.why+"): removed, decoding the package again")):
			t.Errorf("%s: warnings %q", tc.name, warnings)
		}
	}
	// The good one still walks.
	os.WriteFile(a, good, 0o644)
	n := 0
	if done, err := Walk(a, keyA, warn, func(*tar.Header, io.Reader) error { n++; return nil }); !done || err != nil || n != 1 {
		t.Errorf("good entry: %v %v %d", done, err, n)
	}

	// Small entries, the same way.
	c := filepath.Join(dir, keyA+".control.tar")
	if err := WriteFile(c, keyA, []byte("control")); err != nil {
		t.Fatal(err)
	}
	if got := ReadFile(c, keyA, warn); string(got) != "control" {
		t.Fatalf("ReadFile = %q", got)
	}
	warnings = nil
	if got := ReadFile(c, keyB, warn); got != nil || len(warnings) != 1 {
		t.Errorf("ReadFile with another key = %q, warnings %q", got, warnings)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("dir holds %v", ents)
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 1
	return c
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
	if ok, err := has(file, dir, ".tar.zst"); ok || err != nil {
		t.Errorf("Has before: %v %v", ok, err)
	}
	os.WriteFile(filepath.Join(dir, k+".tar.zst"), nil, 0o644)
	if ok, err := has(file, dir, ".tar.zst"); !ok || err != nil {
		t.Errorf("Has after: %v %v", ok, err)
	}
	if _, err := has(filepath.Join(dir, "missing"), dir, ".tar.zst"); !os.IsNotExist(err) {
		t.Errorf("Has on a missing file: %v", err)
	}
}

// TestPrepare: the format's walk runs only when the directory lacks the
// file's entry, and its errors (and the file's) come back.
func TestPrepare(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.rpm")
	os.WriteFile(file, []byte("hello\n"), 0o644)
	var walked []string
	walk := func(f string, fn func(*tar.Header, io.Reader) error) error {
		walked = append(walked, f)
		if err := fn(&tar.Header{Name: "x"}, strings.NewReader("data")); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03.tar"), nil, 0o644)
	}
	if err := Prepare(file, "", ".tar", walk); err != nil || len(walked) != 0 {
		t.Fatalf("without a directory: %v, walked %q", err, walked)
	}
	if err := Prepare(file, dir, ".tar", walk); err != nil || len(walked) != 1 || walked[0] != file {
		t.Fatalf("first: %v, walked %q", err, walked)
	}
	if err := Prepare(file, dir, ".tar", walk); err != nil || len(walked) != 1 {
		t.Fatalf("second: %v, walked %q (want no new walk)", err, walked)
	}
	boom := errors.New("damaged payload")
	if err := Prepare(file, dir, ".other", func(string, func(*tar.Header, io.Reader) error) error { return boom }); err != boom {
		t.Errorf("walk error: %v", err)
	}
	if err := Prepare(filepath.Join(dir, "missing"), dir, ".tar", walk); !os.IsNotExist(err) || len(walked) != 1 {
		t.Errorf("missing file: %v, walked %q", err, walked)
	}
}

// TestPrepareMax: Prepare stops a walk (returning nil, so the build
// decodes the package itself) as soon as the entries' sizes come to more
// than PrepareMax, whether in one entry or in several; up to it, the walk
// goes to the end.
func TestPrepareMax(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.deb")
	os.WriteFile(file, []byte("package\n"), 0o644)
	for _, tc := range []struct {
		name  string
		sizes []int64
		seen  int // entries passed before the walk must stop
		stop  bool
	}{
		{"one huge entry", []int64{PrepareMax + 1, 1}, 1, true},
		{"many entries", []int64{PrepareMax / 4, PrepareMax / 4, PrepareMax / 4, PrepareMax / 4, 1, 1}, 5, true},
		{"negative sizes do not offset", []int64{-PrepareMax, PrepareMax, 1, 1}, 3, true},
		{"exactly the limit", []int64{PrepareMax / 2, PrepareMax / 2}, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen, stopped := 0, false
			walk := func(f string, fn func(*tar.Header, io.Reader) error) error {
				for _, s := range tc.sizes {
					seen++
					if err := fn(&tar.Header{Name: "x", Size: s}, strings.NewReader("")); err != nil {
						stopped = true
						return err
					}
				}
				return nil
			}
			if err := Prepare(file, dir, ".tar.zst", walk); err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if stopped != tc.stop || (tc.stop && seen != tc.seen) {
				t.Errorf("stopped %v after %d entries, want stopped %v after %d", stopped, seen, tc.stop, tc.seen)
			}
		})
	}
}
