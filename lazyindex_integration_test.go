package distroless

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages/deb/debtest"
)

// TestResolveDamagedCachedIndex: a warm resolve reads the cached Packages
// file without hashing it whole and checks each stanza it reads. A byte
// changed in a stanza the resolution reads (the file's size kept) fails
// the command, naming the damaged file, which is removed; the next run
// fetches it again and resolves as before. A change in a stanza no
// resolution reads is not noticed and changes nothing.
func TestResolveDamagedCachedIndex(t *testing.T) {
	a := debtest.NewArchive(t, debtest.Suite{Name: "s", Packages: []debtest.Package{
		{Name: "hello", Version: "1.0-1", Depends: "libhello"},
		{Name: "libhello", Version: "2.0-1"},
		{Name: "unrelated", Version: "3.0-1"},
	}})
	distroFile := debDistroFile(t, a, "s")
	cache := filepath.Join(t.TempDir(), "cache")
	prof := writeProfile(t, "name: app\npackages: [hello]\n")
	resolve := func() (string, string, int) {
		return cli(t, "resolve", "-f", prof, "--distro", distroFile, "--cache-dir", cache)
	}
	want, stderr, code := resolve()
	if code != 0 || !strings.Contains(want, "libhello") {
		t.Fatalf("resolve: exit %d\n%s\n%s", code, want, stderr)
	}
	var blob string
	filepath.WalkDir(filepath.Join(cache, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.HasPrefix(b, []byte("Package: ")) {
				blob = p
			}
		}
		return nil
	})
	if blob == "" {
		t.Fatal("no cached Packages file")
	}
	damage := func(in string) {
		t.Helper()
		b, err := os.ReadFile(blob)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(b, []byte("Version: "+in))
		if i < 0 {
			t.Fatalf("no stanza with version %s", in)
		}
		b[i+len("Version: ")] = '9' // the size kept
		if err := os.WriteFile(blob, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	damage("3.0-1") // unrelated: never read
	if out, stderr, code := resolve(); code != 0 || out != want {
		t.Fatalf("damage in an unread stanza: exit %d\n%s\n%s", code, out, stderr)
	}

	damage("2.0-1") // libhello: read
	_, stderr, code = resolve()
	if code == 0 || !strings.Contains(stderr, "is damaged") || !strings.Contains(stderr, blob) {
		t.Fatalf("damage in a read stanza: exit %d, stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(blob); !os.IsNotExist(err) {
		t.Fatalf("damaged file not removed: %v", err)
	}
	if out, stderr, code := resolve(); code != 0 || out != want {
		t.Fatalf("after the damage: exit %d\n%s\n%s", code, out, stderr)
	}
}
