package distroless

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
	"github.com/distroless-dev/distroless/pipeline"
)

// TestResolutionMemo: a gen whose inputs are unchanged takes its
// resolution from the cache without its Packages files (it builds
// --offline with them removed, to the same image); a damaged entry is
// said, not used and made again; a new InRelease, another profile and
// another --add each resolve from the index.
func TestResolutionMemo(t *testing.T) {
	pkgs := []debtest.Package{
		{Name: "hello", Version: "1.0-1", Depends: "libhello", Deb: helloDeb("Package: hello\nVersion: 1.0-1\nArchitecture: amd64\n")},
		{Name: "libhello", Version: "1.0", Deb: helloDeb("Package: libhello\nVersion: 1.0\nArchitecture: amd64\n")},
		{Name: "extra", Version: "1.0", Deb: helloDeb("Package: extra\nVersion: 1.0\nArchitecture: amd64\n")},
	}
	a := debtest.NewArchive(t, debtest.Suite{Name: "s", Packages: pkgs})
	distroFile := debDistroFile(t, a, "s")
	cache := filepath.Join(t.TempDir(), "cache")
	prof := writeProfile(t, "name: app\npackages: [hello]\n")
	out := "oci:" + filepath.Join(t.TempDir(), "img") + ":v1"
	gen := func(extra ...string) (pipeline.GenResult, string) {
		t.Helper()
		args := append([]string{"gen", "-f", prof, "--distro", distroFile, "--cache-dir", cache, "-o", out, "--json"}, extra...)
		stdout, stderr, code := cli(t, args...)
		if code != 0 {
			t.Fatalf("distroless %s: exit %d\n%s", strings.Join(args, " "), code, clitest.Tail(stderr, 20))
		}
		var r pipeline.GenResult
		if err := clitest.DecodeOne(stdout, &r); err != nil {
			t.Fatalf("gen --json: %v\n%s", err, stdout)
		}
		return r, stderr
	}
	// entries are the files of the cache's named entries holding a kept
	// resolution; nonDebs removes every blob that is not a .deb (the
	// Packages files) and returns how many.
	entries := func() []string {
		t.Helper()
		var out []string
		ents, _ := os.ReadDir(filepath.Join(cache, "named"))
		for _, e := range ents {
			p := filepath.Join(cache, "named", e.Name())
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(`"Key":"resolution/v1/`)) {
				out = append(out, p)
			}
		}
		return out
	}
	nonDebs := func() int {
		t.Helper()
		n := 0
		dir := filepath.Join(cache, "blobs", "sha256")
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			if b, err := os.ReadFile(p); err == nil && !bytes.HasPrefix(b, []byte("!<arch>\n")) {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				n++
			}
		}
		return n
	}
	has := func(r pipeline.GenResult, name string) bool {
		return slices.ContainsFunc(r.Packages, func(p string) bool {
			return p == name || strings.HasPrefix(p, name+" ") || strings.HasPrefix(p, name+"=")
		})
	}

	first, _ := gen()
	if !has(first, "hello") || !has(first, "libhello") || has(first, "extra") {
		t.Fatalf("packages %v, want hello and libhello", first.Packages)
	}
	kept := entries()
	if len(kept) != 1 {
		t.Fatalf("%d kept resolutions after one gen, want 1", len(kept))
	}

	// Unchanged: no Packages file needed.
	if n := nonDebs(); n == 0 {
		t.Fatal("no Packages file in the cache: the check below proves nothing")
	}
	again, _ := gen("--offline")
	if again.Digest != first.Digest || !slices.Equal(again.Packages, first.Packages) {
		t.Errorf("from the memo: %s %v, want %s %v", again.Digest, again.Packages, first.Digest, first.Packages)
	}
	// Without the memo the same gen needs the Packages files (so the
	// check above did test the memo).
	stdout, stderr, code := cli(t, "gen", "-f", writeProfile(t, "name: app\npackages: [hello, extra]\n"), "--distro", distroFile,
		"--cache-dir", cache, "-o", out, "--offline")
	if code == 0 || !strings.Contains(stderr, "Packages") {
		t.Fatalf("another profile, offline without the Packages files: exit %d, want a failure naming them\n%s%s", code, stdout, clitest.Tail(stderr, 10))
	}

	// A damaged entry: said, not used (the index is read), made again.
	raw, err := os.ReadFile(kept[0])
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(raw, []byte(`"libhello"`), []byte(`"libhellx"`), 1)
	if bytes.Equal(bad, raw) {
		t.Fatal("the kept resolution does not name libhello")
	}
	if err := os.WriteFile(kept[0], bad, 0o644); err != nil {
		t.Fatal(err)
	}
	fixed, stderr := gen()
	if fixed.Digest != first.Digest || !strings.Contains(stderr, "damaged") {
		t.Errorf("damaged entry: digest %s (want %s), stderr %q (want a warning)", fixed.Digest, first.Digest, clitest.Tail(stderr, 5))
	}
	if b, err := os.ReadFile(kept[0]); err != nil || !bytes.Equal(b, raw) {
		t.Errorf("the damaged entry was not made again: %v", err)
	}
	// (The entry as it was, for what follows.)
	if err := os.WriteFile(kept[0], raw, 0o644); err != nil {
		t.Fatal(err)
	}

	// Another --add, another profile: resolved from the index.
	added, _ := gen("--add", "extra")
	if !has(added, "extra") {
		t.Errorf("--add extra: packages %v", added.Packages)
	}
	prof2 := writeProfile(t, "name: app\npackages: [hello, extra]\n")
	prof, prof2 = prof2, prof
	other, _ := gen()
	if !has(other, "extra") {
		t.Errorf("a profile with extra: packages %v", other.Packages)
	}
	prof = prof2

	// A new InRelease (libhello 2.0): resolved from the new index, even
	// though the profile and options are the same. The cached InRelease
	// is fresh for an hour, so the cache forgets it.
	pkgs[1] = debtest.Package{Name: "libhello", Version: "2.0", Deb: helloDeb("Package: libhello\nVersion: 2.0\nArchitecture: amd64\n")}
	a.SetSuite(debtest.Suite{Name: "s", Packages: pkgs})
	ents, _ := os.ReadDir(filepath.Join(cache, "named"))
	forgot := 0
	for _, e := range ents {
		p := filepath.Join(cache, "named", e.Name())
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte("-----BEGIN PGP SIGNED MESSAGE")) {
			os.Remove(p)
			forgot++
		}
	}
	if forgot == 0 {
		t.Fatal("no cached InRelease found to forget")
	}
	updated, _ := gen()
	if updated.Digest == first.Digest || !slices.ContainsFunc(updated.Packages, func(p string) bool { return strings.Contains(p, "2.0") }) {
		t.Errorf("after a new InRelease: %s %v, want libhello 2.0 in another image", updated.Digest, updated.Packages)
	}
}
