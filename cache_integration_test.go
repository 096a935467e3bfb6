package distroless

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/packages/fetch/faulttest"
)

// A cache altered between two gens (a .deb blob changed in place, same
// size; an unpack cache entry replaced by another package's; an index
// sidecar damaged): the second gen notices each, says so on stderr,
// rebuilds or fetches again, and makes the same image.
func TestGenDamagedCache(t *testing.T) {
	integration(t)
	cache := filepath.Join(t.TempDir(), "cache")
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"static", "--distro", "debian:trixie", "--cache-dir", cache, "-o", "oci:" + out + ":x"}
	first := genDigest(t, args...)

	type file struct {
		path string
		size int64
	}
	list := func(sub string, keep func(p string, head []byte) bool) []file {
		var fs []file
		ents, err := os.ReadDir(filepath.Join(cache, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			p := filepath.Join(cache, sub, e.Name())
			if !e.Type().IsRegular() {
				continue
			}
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			head := make([]byte, 64)
			n, err := io.ReadFull(f, head)
			if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
				t.Fatalf("%s: %v", p, err)
			}
			st, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			if keep(p, head[:n]) {
				fs = append(fs, file{p, st.Size()})
			}
		}
		sort.Slice(fs, func(i, j int) bool { return fs[i].size > fs[j].size })
		return fs
	}
	debs := list("blobs/sha256", func(_ string, h []byte) bool { return bytes.HasPrefix(h, []byte("!<arch>\ndebian-binary")) })
	entries := list("unpacked", func(p string, _ []byte) bool { return strings.HasSuffix(p, ".tar.zst") })
	named := list("named", func(_ string, h []byte) bool {
		return bytes.HasPrefix(h, []byte("DLNAMED1")) && bytes.Contains(h, []byte("DLDEBIX1"))
	})
	if len(debs) < 2 || len(entries) < 2 || len(named) < 1 {
		t.Fatalf("cache holds %d .debs, %d unpack entries, %d sidecars", len(debs), len(entries), len(named))
	}
	// The largest .deb, one byte changed in place.
	deb := debs[0].path
	debBefore, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(deb, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, debs[0].size/2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{b[0] ^ 0x55}, debs[0].size/2); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if after, err := os.ReadFile(deb); err != nil || len(after) != len(debBefore) || bytes.Equal(after, debBefore) {
		t.Fatalf("%s: not changed in place (%d bytes, were %d): %v", deb, len(after), len(debBefore), err)
	}
	// The unpack entry of another package replaced by a third one's.
	var victim, donor string
	for _, e := range entries {
		if strings.HasPrefix(filepath.Base(e.path), filepath.Base(deb)) {
			continue
		}
		if victim == "" {
			victim = e.path
		} else if donor == "" {
			donor = e.path
		}
	}
	if victim == "" || donor == "" {
		t.Fatalf("no two unpack entries of packages other than %s: %v", filepath.Base(deb), entries)
	}
	data, err := os.ReadFile(donor)
	if err != nil {
		t.Fatal(err)
	}
	if old, err := os.ReadFile(victim); err != nil || bytes.Equal(old, data) {
		t.Fatalf("%s: the same as %s, or unreadable (%v): replacing it changes nothing", victim, donor, err)
	}
	if err := os.WriteFile(victim, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// The largest sidecar, one byte changed.
	side, err := os.ReadFile(named[0].path)
	if err != nil {
		t.Fatal(err)
	}
	side[len(side)/2] ^= 1
	if err := os.WriteFile(named[0].path, side, 0o644); err != nil {
		t.Fatal(err)
	}

	stdout, stderr, code := cli(t, append([]string{"gen"}, args...)...)
	if code != 0 {
		t.Fatalf("second gen: exit %d\n%s", code, clitest.Tail(stderr, 30))
	}
	if second := strings.TrimSpace(stdout[strings.LastIndex(strings.TrimSpace(stdout), "\n")+1:]); second != first {
		t.Errorf("second gen made %s, the first %s", second, first)
	}
	// The sidecar is the index's: gen took its resolution from the
	// resolution memo and did not open the index; resolve does.
	_, rerr, code := cli(t, "resolve", "static", "--distro", "debian:trixie", "--cache-dir", cache)
	if code != 0 {
		t.Fatalf("resolve: exit %d\n%s", code, clitest.Tail(rerr, 30))
	}
	for _, want := range []string{
		"warning: cache entry " + deb + " was damaged (its content has sha256 ",
		"warning: unpack cache entry " + victim + " was damaged (it was made from package " + strings.TrimSuffix(filepath.Base(donor), ".tar.zst"),
		"warning: cache entry " + named[0].path + " was damaged",
	} {
		if !strings.Contains(stderr+rerr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, clitest.Tail(stderr, 30))
		}
	}
	t.Logf("second gen:\n%s", clitest.Tail(stderr, 12))
	// A third gen finds nothing wrong.
	_, stderr, code = cli(t, append([]string{"gen"}, args...)...)
	if code != 0 || strings.Contains(stderr, "warning") {
		t.Errorf("third gen: exit %d\n%s", code, clitest.Tail(stderr, 30))
	}

	// cache prune through the command: to zero bytes, nothing in use is
	// protected for long, so the cache ends up empty but for what the
	// last minutes used; then an offline gen names what is missing, and
	// an online one rebuilds the same image.
	pout, perr, code := cli(t, "cache", "prune", "--cache-dir", cache, "--older-than", "0s", "--max-size", "0")
	if code != 0 || !strings.HasPrefix(pout, "removed ") {
		t.Fatalf("cache prune: exit %d %q %q", code, pout, perr)
	}
	if got := genDigest(t, args...); got != first {
		t.Errorf("after prune: %s, want %s", got, first)
	}
}

// A mirror that stalls: gen fails within the timeouts, naming the URL and
// what it waited for.
func TestGenStalledMirror(t *testing.T) {
	heavy(t, "5 attempts with backoff")
	t.Parallel() // hermetic, and mostly waiting (retries, rpmbuild): overlaps the others
	srv := faulttest.New(t, map[string][]byte{
		"/dists/trixie/InRelease":          []byte("x"),
		"/dists/trixie-updates/InRelease":  []byte("x"),
		"/dists/trixie-security/InRelease": []byte("x"),
	})
	for _, p := range []string{"/dists/trixie/InRelease", "/dists/trixie-updates/InRelease", "/dists/trixie-security/InRelease"} {
		srv.Always(p, faulttest.StallHeaders)
	}
	cache := t.TempDir()
	_, stderr, code := cli(t, "resolve", "static", "--distro", "debian:trixie", "--cache-dir", cache,
		"--mirror", srv.URL, "--security-mirror", srv.URL, "--timeout", "300ms")
	if code != 1 || !strings.Contains(stderr, srv.URL+"/dists/trixie") || !strings.Contains(stderr, "no response headers within 300ms") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}
