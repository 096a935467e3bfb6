package distroless

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/pipeline"
)

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
	gen := func(out string, args ...string) (string, bool, string) {
		t.Helper()
		args = append([]string{"gen", "static", "--distro", "debian:trixie", "--cache-dir", testCache, "-o", "oci:" + filepath.Join(dir, out) + ":s", "--json"}, args...)
		r, stderr := genJSON(t, args...)
		return r.Digest, r.Memo, stderr
	}
	d1, e1, _ := gen("a")
	if e1 {
		t.Fatal("the first build of new inputs took the image from the memo")
	}
	d2, e2, _ := gen("b")
	if !e2 || d2 != d1 {
		t.Fatalf("second build: digest %s (first %s), memo used: %v", d2, d1, e2)
	}
	a, b := clitest.ReadLayout(t, filepath.Join(dir, "a"), "s"), clitest.ReadLayout(t, filepath.Join(dir, "b"), "s")
	// The image manifests and their descriptors; index.json differs by
	// the provenance referrer, which records the command's arguments
	// (another output).
	if !bytes.Equal(a.Raw, b.Raw) || a.Desc.Digest != b.Desc.Digest || a.Desc.Size != b.Desc.Size {
		t.Error("the layouts' images differ")
	}
	for _, l := range b.Manifest.Layers {
		x, _ := os.ReadFile(filepath.Join(dir, "a", "blobs", "sha256", strings.TrimPrefix(l.Digest, "sha256:")))
		y, _ := os.ReadFile(filepath.Join(dir, "b", "blobs", "sha256", strings.TrimPrefix(l.Digest, "sha256:")))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("layer %s differs", l.Digest)
		}
	}
	// Another input: built, another image.
	d3, e3, _ := gen("c", "--user", "root")
	if e3 || d3 == d1 {
		t.Errorf("--user root: digest %s (nonroot %s), memo used: %v", d3, d1, e3)
	}
	// A package file gone from the cache: fetched again and built.
	if _, stderr, code := cli(t, "resolve", "static", "--distro", "debian:trixie", "--cache-dir", testCache, "--lock", filepath.Join(dir, "lock")); code != 0 {
		t.Fatalf("resolve --lock: exit %d\n%s", code, clitest.Tail(stderr, 20))
	}
	lock, err := pipeline.ReadLock(filepath.Join(dir, "lock"))
	if err != nil || len(lock.Packages) == 0 {
		t.Fatalf("lockfile: %v", err)
	}
	blob := filepath.Join(testCache, "blobs", "sha256", lock.Packages[0].SHA256)
	if err := os.Remove(blob); err != nil {
		t.Fatal(err)
	}
	d4, e4, _ := gen("d")
	if e4 || d4 != d1 {
		t.Errorf("package file removed: digest %s, want %s; memo used: %v", d4, d1, e4)
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
	d5, e5, stderr5 := gen("e")
	if e5 || d5 != d1 || !strings.Contains(stderr5, "warning: cache entry "+blob+" was damaged") {
		t.Errorf("package file damaged: digest %s, want %s; memo used: %v\n%s", d5, d1, e5, clitest.Tail(stderr5, 10))
	}
}

// genJSON runs distroless with args (a gen with --json), which must
// succeed, and returns its decoded result and its stderr.
func genJSON(t *testing.T, args ...string) (*pipeline.GenResult, string) {
	t.Helper()
	stdout, stderr, code := cli(t, args...)
	if code != 0 {
		t.Fatalf("distroless %s: exit %d\n%s", strings.Join(args, " "), code, clitest.Tail(stderr, 30))
	}
	var r pipeline.GenResult
	if err := clitest.DecodeOne(stdout, &r); err != nil {
		t.Fatalf("--json: %v", err)
	}
	return &r, stderr
}

// dropImageMemos removes the image memos from a cache (named entries
// holding a memo record), so that the next gen builds; the test fails if
// there was none to remove.
func dropImageMemos(t *testing.T, cache string) {
	t.Helper()
	if removeImageMemos(t, cache) == 0 {
		t.Fatalf("%s holds no image memo to remove", cache)
	}
}

// removeImageMemos removes the image memos from a cache, if any, and
// says how many it removed.
func removeImageMemos(t *testing.T, cache string) int {
	t.Helper()
	named, err := filepath.Glob(filepath.Join(cache, "named", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range named {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 128)
		m, err := io.ReadFull(f, head)
		f.Close()
		if err != nil && err != io.ErrUnexpectedEOF {
			t.Fatalf("%s: %v", p, err)
		}
		if bytes.Contains(head[:m], []byte(`{"Version":1,"Manifest":`)) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	return n
}

// TestGenMemoPlatforms: an image index is taken from the memo only as a
// whole. A second gen of the same two platforms takes both images from
// the cache (and says so) with the same index digest; a single-platform
// gen of amd64 takes the index's amd64 image (the same inputs); one of
// arm64 does not take the index's arm64 image (which took its Python
// bytecode from the amd64 build, an input a lone build lacks): it builds,
// the same image here as static has no Python, and is then in the memo.
func TestGenMemoPlatforms(t *testing.T) {
	integration(t)
	t.Setenv("SOURCE_DATE_EPOCH", fmt.Sprint(1600000000+time.Now().UnixNano()%100000000))
	dir := t.TempDir()
	gen := func(out, platform string) (string, bool, *pipeline.GenResult) {
		t.Helper()
		r, _ := genJSON(t, "gen", "static", "--distro", "debian:trixie", "--platform", platform, "--cache-dir", testCache, "-o", "oci:"+filepath.Join(dir, out)+":s", "--json")
		return r.Digest, r.Memo, r
	}
	d1, e1, r1 := gen("a", "linux/amd64,linux/arm64")
	if e1 || len(r1.Platforms) != 2 {
		t.Fatalf("first index build: memo used %v, %d platforms", e1, len(r1.Platforms))
	}
	d2, e2, r2 := gen("b", "linux/amd64,linux/arm64")
	if !e2 || d2 != d1 {
		t.Fatalf("second index build: digest %s (first %s), memo used: %v", d2, d1, e2)
	}
	for i := range r1.Platforms {
		if r2.Platforms[i].Digest != r1.Platforms[i].Digest {
			t.Errorf("platform %d: %s from the memo, %s built", i, r2.Platforms[i].Digest, r1.Platforms[i].Digest)
		}
	}
	amd, e3, _ := gen("c", "linux/amd64")
	if !e3 || amd != r1.Platforms[0].Digest {
		t.Errorf("amd64 alone: digest %s (index's %s), memo used: %v", amd, r1.Platforms[0].Digest, e3)
	}
	arm, e4, _ := gen("d", "linux/arm64")
	if e4 || arm != r1.Platforms[1].Digest {
		t.Errorf("arm64 alone: digest %s (index's %s), memo used: %v", arm, r1.Platforms[1].Digest, e4)
	}
	arm2, e5, _ := gen("e", "linux/arm64")
	if !e5 || arm2 != arm {
		t.Errorf("arm64 alone again: digest %s (first %s), memo used: %v", arm2, arm, e5)
	}
}
