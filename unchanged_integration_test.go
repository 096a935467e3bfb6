package distroless

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/distroless-dev/distroless/packages/deb/debtest"
)

// TestGenLayoutUnchanged: a gen that changes nothing leaves the OCI
// layout untouched (no file replaced, rewritten or synced anew), and the
// layout is the one a write makes; a layout that differs in any way (a
// damaged blob, a stray file, a mode, another tag) is written again, to
// the same content as a fresh write.
func TestGenLayoutUnchanged(t *testing.T) {
	a := debtest.NewArchive(t, debtest.Suite{Name: "s", Packages: []debtest.Package{
		{Name: "hello", Version: "1.0-1", Deb: helloDeb("Package: hello\nVersion: 1.0-1\nArchitecture: amd64\n")},
	}})
	distroFile := debDistroFile(t, a, "s")
	cache := filepath.Join(t.TempDir(), "cache")
	prof := writeProfile(t, "name: app\npackages: [hello]\n")
	out := filepath.Join(t.TempDir(), "img")
	gen := func(t *testing.T, tag string) string {
		t.Helper()
		return genDigest(t, "-f", prof, "--distro", distroFile, "--cache-dir", cache, "-o", "oci:"+out+":"+tag)
	}
	// ids are every file's inode and modification time.
	ids := func(t *testing.T) map[string][2]int64 {
		t.Helper()
		m := map[string][2]int64{}
		filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			st, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			m[strings.TrimPrefix(p, out)] = [2]int64{int64(st.Sys().(*syscall.Stat_t).Ino), st.ModTime().UnixNano()}
			return nil
		})
		return m
	}
	same := func(a, b map[string][2]int64) bool {
		ok := len(a) == len(b)
		for k, v := range a {
			if b[k] != v {
				ok = false
			}
		}
		return ok
	}

	d := gen(t, "v1")
	fresh := treeDigest(t, out)
	before := ids(t)
	if got := gen(t, "v1"); got != d {
		t.Fatalf("second gen: %s, first %s", got, d)
	}
	if !same(before, ids(t)) {
		t.Error("a gen that changed nothing rewrote the layout")
	}
	sameTree(t, "no change", fresh, treeDigest(t, out))
	if len(treeDigest(t, out)) != len(fresh) {
		t.Error("no change: the layout gained files")
	}

	blobs := filepath.Join(out, "blobs", "sha256")
	ents, err := os.ReadDir(blobs)
	if err != nil || len(ents) < 2 {
		t.Fatalf("blobs: %v %d", err, len(ents))
	}
	for _, c := range []struct {
		name  string
		spoil func() error
	}{
		{"damaged blob", func() error {
			p := filepath.Join(blobs, ents[0].Name())
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 1
			return os.WriteFile(p, b, 0o644)
		}},
		{"stray blob", func() error { return os.WriteFile(filepath.Join(blobs, strings.Repeat("0", 64)), []byte("x"), 0o644) }},
		{"stray file", func() error { return os.WriteFile(filepath.Join(out, "notes.txt"), []byte("x"), 0o644) }},
		{"mode", func() error { return os.Chmod(filepath.Join(blobs, ents[1].Name()), 0o600) }},
		{"index.json reformatted", func() error {
			p := filepath.Join(out, "index.json")
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, append(b, '\n'), 0o644)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.spoil(); err != nil {
				t.Fatal(err)
			}
			spoiled := ids(t)
			if got := gen(t, "v1"); got != d {
				t.Fatalf("gen: %s, want %s", got, d)
			}
			if same(spoiled, ids(t)) {
				t.Error("the spoiled layout was left as it was")
			}
			now := treeDigest(t, out)
			sameTree(t, c.name, fresh, now)
			if len(now) != len(fresh) {
				t.Errorf("%d files, a fresh write has %d", len(now), len(fresh))
			}
		})
	}

	// Another tag: written beside v1; then v1 again keeps both.
	gen(t, "v2")
	gen(t, "v1")
	idx, err := os.ReadFile(filepath.Join(out, "index.json"))
	if err != nil || !strings.Contains(string(idx), `"v1"`) || !strings.Contains(string(idx), `"v2"`) {
		t.Errorf("index.json after v2 and v1 again: %v\n%s", err, idx)
	}

	// With --attach (the SBOM and provenance beside the image) too, a gen
	// that changes nothing leaves the layout as it is; one without
	// --attach takes them out.
	out = filepath.Join(t.TempDir(), "attached")
	attached := func(extra ...string) string {
		t.Helper()
		return genDigest(t, append([]string{"-f", prof, "--distro", distroFile, "--cache-dir", cache, "-o", "oci:" + out}, extra...)...)
	}
	attached("--attach")
	before = ids(t)
	if attached("--attach") != d || !same(before, ids(t)) {
		t.Error("a gen --attach that changed nothing rewrote the layout")
	}
	if idx, err := os.ReadFile(filepath.Join(out, "index.json")); err != nil || strings.Count(string(idx), `"digest"`) != 3 {
		t.Errorf("index.json with --attach: %v\n%s", err, idx)
	}
	attached()
	if idx, err := os.ReadFile(filepath.Join(out, "index.json")); err != nil || strings.Count(string(idx), `"digest"`) != 1 {
		t.Errorf("index.json after a gen without --attach: %v\n%s", err, idx)
	}
}
