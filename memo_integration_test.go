package distroless

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const memoUsed = "the image of these inputs is in the cache"

// TestGenMemo: a second gen of the same inputs takes the image from the
// cache (and says so) with the same digest and the same layout; a gen
// with an input changed builds; a gen after a package file left the
// cache fetches and builds, and still gives the same digest.
func TestGenMemo(t *testing.T) {
	integration(t)
	// A creation time of its own, so that no other test's build left the
	// memo of these inputs.
	t.Setenv("SOURCE_DATE_EPOCH", fmt.Sprint(1600000000+time.Now().UnixNano()%100000000))
	dir := t.TempDir()
	gen := func(out string, args ...string) (string, string) {
		t.Helper()
		args = append([]string{"gen", "static", "--distro", "debian:trixie", "--cache-dir", testCache, "-o", "oci:" + filepath.Join(dir, out) + ":s", "--json"}, args...)
		stdout, stderr, code := cli(t, args...)
		if code != 0 {
			t.Fatalf("distroless %s: exit %d\n%s", strings.Join(args, " "), code, tail(stderr, 30))
		}
		var r GenResult
		if err := decodeOne(stdout, &r); err != nil {
			t.Fatalf("--json: %v", err)
		}
		return r.Digest, stderr
	}
	d1, e1 := gen("a")
	if strings.Contains(e1, memoUsed) {
		t.Fatalf("first build of new inputs said %q", memoUsed)
	}
	d2, e2 := gen("b")
	if !strings.Contains(e2, memoUsed) || d2 != d1 {
		t.Fatalf("second build: digest %s (first %s), memo used: %v", d2, d1, strings.Contains(e2, memoUsed))
	}
	a, b := readLayout(t, filepath.Join(dir, "a"), "s"), readLayout(t, filepath.Join(dir, "b"), "s")
	if !bytes.Equal(a.Raw, b.Raw) || !bytes.Equal(a.Index, b.Index) {
		t.Error("the layouts differ")
	}
	for _, l := range b.Manifest.Layers {
		x, _ := os.ReadFile(filepath.Join(dir, "a", "blobs", "sha256", strings.TrimPrefix(l.Digest, "sha256:")))
		y, _ := os.ReadFile(filepath.Join(dir, "b", "blobs", "sha256", strings.TrimPrefix(l.Digest, "sha256:")))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("layer %s differs", l.Digest)
		}
	}
	// Another input: built, another image.
	d3, e3 := gen("c", "--user", "root")
	if strings.Contains(e3, memoUsed) || d3 == d1 {
		t.Errorf("--user root: digest %s (nonroot %s), memo used: %v", d3, d1, strings.Contains(e3, memoUsed))
	}
	// A package file gone from the cache: fetched again and built.
	if _, stderr, code := cli(t, "resolve", "static", "--distro", "debian:trixie", "--cache-dir", testCache, "--lock", filepath.Join(dir, "lock")); code != 0 {
		t.Fatalf("resolve --lock: exit %d\n%s", code, tail(stderr, 20))
	}
	lock, err := ReadLock(filepath.Join(dir, "lock"))
	if err != nil || len(lock.Packages) == 0 {
		t.Fatalf("lockfile: %v", err)
	}
	blob := filepath.Join(testCache, "blobs", "sha256", lock.Packages[0].SHA256)
	if err := os.Remove(blob); err != nil {
		t.Fatal(err)
	}
	d4, e4 := gen("d")
	if strings.Contains(e4, memoUsed) || d4 != d1 {
		t.Errorf("package file removed: digest %s, want %s; memo used: %v", d4, d1, strings.Contains(e4, memoUsed))
	}
	if _, err := os.Stat(blob); err != nil {
		t.Errorf("the package file was not fetched again: %v", err)
	}
	// A package file damaged in place: said, fetched again, built.
	raw, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	if err := os.WriteFile(blob, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	d5, e5 := gen("e")
	if strings.Contains(e5, memoUsed) || d5 != d1 || !strings.Contains(e5, "warning: cache entry "+blob+" was damaged") {
		t.Errorf("package file damaged: digest %s, want %s; memo used: %v\n%s", d5, d1, strings.Contains(e5, memoUsed), tail(e5, 10))
	}
}

// dropImageMemos removes the image memos from a cache (named entries
// holding a memo's JSON), so that the next gen builds.
func dropImageMemos(t *testing.T, cache string) {
	t.Helper()
	named, _ := filepath.Glob(filepath.Join(cache, "named", "*"))
	for _, p := range named {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		head := make([]byte, 128)
		n, _ := f.Read(head)
		f.Close()
		if bytes.Contains(head[:n], []byte(`{"Version":1,"Manifest":`)) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
	}
}
