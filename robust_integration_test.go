package distroless

// Crash and concurrency tests of gen's outputs and cache: gen killed with
// SIGKILL at many points, concurrent gens writing one layout, one archive
// and one cold cache, and the modes of what gen writes under different
// umasks. The real binary and the real Debian archive (through the host's
// apt sources); the layouts are read with go-containerregistry, skopeo and
// podman. The static profiles are used: they are the smallest.

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/publish"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// fileState is what a file of an output is: its mode and its content's
// hash ("dir" for a directory).
type fileState struct {
	mode fs.FileMode
	hash string
}

// treeState records every file and directory under dir.
func treeState(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	m := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		s := fileState{mode: st.Mode(), hash: "dir"}
		if !st.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			s.hash = hex.EncodeToString(sum[:])
		}
		m[rel] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func diffStates(a, b map[string]fileState) []string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			d = append(d, "-"+k)
		} else if v != w {
			d = append(d, fmt.Sprintf("~%s (%v %.12s → %v %.12s)", k, v.mode, v.hash, w.mode, w.hash))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, "+"+k)
		}
	}
	slices.Sort(d)
	return d
}

// checkLayoutImage validates the image tagged tag in a layout with
// go-containerregistry (every blob read and checked against its digest),
// copies it into a new layout and validates it there too, and returns its
// digest.
func checkLayoutImage(t *testing.T, dir, tag string) string {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var img v1.Image
	for _, d := range im.Manifests {
		if d.Annotations[publish.RefNameAnnotation] == tag {
			if img, err = idx.Image(d.Digest); err != nil {
				t.Fatalf("%s:%s: %v", dir, tag, err)
			}
		}
	}
	if img == nil {
		t.Fatalf("%s: no tag %s", dir, tag)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("%s:%s: %v", dir, tag, err)
	}
	d, _ := img.Digest()
	copyDir := t.TempDir()
	lp, err := layout.Write(copyDir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatalf("copying %s:%s: %v", dir, tag, err)
	}
	back, err := lp.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(back); err != nil {
		t.Fatalf("%s:%s after a copy: %v", dir, tag, err)
	}
	if bd, _ := back.Digest(); bd != d {
		t.Fatalf("%s:%s: digest %s after a copy, %s before", dir, tag, bd, d)
	}
	return d.String()
}

// checkModes asserts that every file under dir is a regular file of mode
// 0644 and every directory 0755.
func checkModes(t *testing.T, dir string) {
	t.Helper()
	for p, s := range treeState(t, dir) {
		want := fs.FileMode(0o644)
		if s.hash == "dir" {
			want = fs.ModeDir | 0o755
		}
		if s.mode != want {
			t.Errorf("%s/%s: mode %v, want %v", dir, p, s.mode, want)
		}
	}
}

// killedGen is one gen run that may be killed.
type killedGen struct {
	finished bool // exited by itself, before the kill
	code     int
	stderr   string
}

// genKilled starts gen and sends it SIGKILL delay after it starts, or,
// when afterWriting, delay after it reports writing its output, or, when
// swapped is set, as soon as the file swapped names is replaced.
func genKilled(t *testing.T, delay time.Duration, afterWriting bool, swapped string, args ...string) killedGen {
	t.Helper()
	cmd, cancel := clitest.Command(testBin, clitest.Cmd{}, append([]string{"gen"}, args...)...)
	defer cancel()
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	writing := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(pipe)
		once := sync.Once{}
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "writing oci:") {
				once.Do(func() { close(writing) })
			}
		}
		io.Copy(io.Discard, pipe)
	}()
	exited := make(chan struct{})
	var waitErr error
	go func() {
		<-drained
		waitErr = cmd.Wait()
		close(exited)
	}()
	if afterWriting {
		select {
		case <-writing:
		case <-exited:
		case <-time.After(2 * time.Minute):
		}
	}
	if swapped != "" {
		old, err := os.Stat(swapped)
		if err != nil {
			t.Fatal(err)
		}
	poll:
		for {
			select {
			case <-exited:
				break poll
			default:
			}
			if st, err := os.Stat(swapped); err == nil && !os.SameFile(old, st) {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	var r killedGen
	select {
	case <-exited:
		r.finished = true
	case <-time.After(delay):
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	}
	r.stderr = stderr.String()
	if ee, ok := waitErr.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.code = -1
			r.finished = false
		} else {
			r.code = ee.ExitCode()
			r.finished = true
		}
	} else if waitErr == nil {
		r.finished = true // it finished before the signal landed
	} else {
		t.Fatal(waitErr)
	}
	return r
}

// TestGenKilled kills gen (SIGKILL) at many points while it writes a new
// tag into an existing layout from a cold cache of its own: the download,
// the unpacking, the layers, the layout. After each kill the layout is
// either byte for byte what it was or, when the kill came after the swap,
// holds the new tag whole beside the old; a run that finished wrote it
// whole. Afterwards gens from the cache the kills left give the same
// digests as from an untouched cache.
func TestGenKilled(t *testing.T) {
	integration(t)
	root := t.TempDir()
	out := filepath.Join(root, "layout")
	base := genDigest(t, "static", "--cache-dir", testCache, "-o", "oci:"+out+":base")
	want := genDigest(t, "static-debug", "--cache-dir", testCache, "-o", "oci:"+filepath.Join(root, "ref")+":ref")
	cache := filepath.Join(root, "cache") // cold
	type point struct {
		delay        time.Duration
		afterWriting bool
		afterSwap    bool
	}
	// Blind delays from the start on the cold cache (the downloads), kills
	// from when it starts writing the layout until it has finished, and
	// blind delays again on the filled cache (resolving, unpacking,
	// layers).
	var points []point
	for _, ms := range []int{10, 100, 400, 1500} {
		points = append(points, point{time.Duration(ms) * time.Millisecond, false, false})
	}
	for _, us := range []int{0, 2000, 10000, 40000, 100000, 300000, 60000000} {
		points = append(points, point{time.Duration(us) * time.Microsecond, true, false})
	}
	// (From the filled cache an unchanged gen takes some 50 ms: the image
	// and its resolution are in the cache.)
	for _, ms := range []int{2, 5, 10, 20, 30, 100, 300} {
		points = append(points, point{time.Duration(ms) * time.Millisecond, false, false})
	}
	// Right after the new layout is swapped in, before gen exits.
	points = append(points, point{0, false, true}, point{0, false, true})
	untouched, afterSwap, finished := 0, 0, 0
	for i, pt := range points {
		before := treeState(t, out)
		tagsBefore := clitest.TagDigests(t, out)
		tag := fmt.Sprintf("new%d", i%3) // new tags, then replaced ones
		start := time.Now()
		swapped := ""
		if pt.afterSwap {
			swapped = filepath.Join(out, "index.json")
			tag = fmt.Sprintf("swap%d", i) // a tag the layout does not hold
		}
		// Every run builds: none takes the image a finished run remembered
		// (a killed run may have remembered none).
		removeImageMemos(t, cache)
		r := genKilled(t, pt.delay, pt.afterWriting, swapped, "static-debug", "--cache-dir", cache, "-o", "oci:"+out+":"+tag)
		t.Logf("point %d %+v: finished %v after %v", i, pt, r.finished, time.Since(start).Round(time.Millisecond))
		after := treeState(t, out)
		tagsAfter := clitest.TagDigests(t, out)
		if r.finished {
			finished++
			if r.code != 0 {
				t.Fatalf("point %d (%v): gen exit %d:\n%s", i, pt, r.code, clitest.Tail(r.stderr, 20))
			}
		}
		switch d := diffStates(before, after); {
		case len(d) == 0 && !r.finished:
			untouched++
		case tagsAfter[tag] == want:
			if !r.finished {
				afterSwap++
			}
			// written whole: the other tags kept as they were
			if got := checkLayoutImage(t, out, tag); got != want {
				t.Fatalf("point %d: %s holds %s, want %s", i, tag, got, want)
			}
			delete(tagsAfter, tag)
			delete(tagsBefore, tag)
			if !maps.Equal(tagsBefore, tagsAfter) {
				t.Fatalf("point %d: the other tags changed: %v, were %v", i, tagsAfter, tagsBefore)
			}
		default:
			t.Fatalf("point %d (%+v, finished %v): the layout changed but does not hold %s whole: %v\n%s", i, pt, r.finished, tag, d, clitest.Tail(r.stderr, 10))
		}
		if got := checkLayoutImage(t, out, "base"); got != base {
			t.Fatalf("point %d: base is %s, was %s", i, got, base)
		}
		checkModes(t, out)
	}
	t.Logf("%d runs killed with the layout untouched, %d killed after the new layout was in place, %d finished", untouched, afterSwap, finished)
	if untouched < len(points)/2 || finished == 0 {
		t.Errorf("the points do not cover gen: %d of %d runs killed early, %d finished", untouched, len(points), finished)
	}
	// Killed while making a new layout: the directory is not there, is
	// empty, or is the layout whole; a gen into it then succeeds.
	for i, us := range []int{0, 5000, 20000} {
		fresh := filepath.Join(root, fmt.Sprintf("fresh%d", i))
		r := genKilled(t, time.Duration(us)*time.Microsecond, true, "", "static", "--cache-dir", cache, "-o", "oci:"+fresh+":x")
		if r.finished && r.code != 0 {
			t.Fatalf("gen into %s: exit %d\n%s", fresh, r.code, clitest.Tail(r.stderr, 10))
		}
		ents, err := os.ReadDir(fresh)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		switch {
		case errors.Is(err, fs.ErrNotExist), len(names) == 0:
		case err == nil:
			if got := checkLayoutImage(t, fresh, "x"); got != base {
				t.Fatalf("%s: %s, want %s", fresh, got, base)
			}
		default:
			t.Fatal(err)
		}
		t.Logf("killed while making a layout after %v: finished %v, left %v", time.Duration(us)*time.Microsecond, r.finished, names)
		if d := genDigest(t, "static", "--cache-dir", cache, "-o", "oci:"+fresh+":y"); d != base {
			t.Errorf("static into %s: %s, want %s", fresh, d, base)
		}
		checkLayoutImage(t, fresh, "y")
		checkModes(t, fresh)
	}

	// The cache the kills left gives the same images.
	if d := genDigest(t, "static-debug", "--cache-dir", cache, "-o", "oci:"+out+":final"); d != want {
		t.Errorf("static-debug from the killed runs' cache: %s, want %s", d, want)
	}
	if d := genDigest(t, "static", "--cache-dir", cache, "-o", "oci:"+out+":base"); d != base {
		t.Errorf("static from the killed runs' cache: %s, want %s", d, base)
	}
	checkLayoutImage(t, out, "final")
	skopeo(t, "inspect", "oci:"+out+":final")
}

// runGens runs gens concurrently; each args is one gen's arguments. It
// returns each one's digest, failing the test on any non-zero exit.
func runGens(t *testing.T, gens [][]string) []string {
	t.Helper()
	digests := make([]string, len(gens))
	errs := make([]string, len(gens))
	var wg sync.WaitGroup
	for i, args := range gens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stdout, stderr, code, err := runBin("", append([]string{"gen"}, args...)...)
			lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
			switch {
			case err != nil:
				errs[i] = err.Error()
			case code != 0:
				errs[i] = fmt.Sprintf("exit %d\n%s", code, clitest.Tail(stderr, 10))
			case !digestRE.MatchString(lines[len(lines)-1]):
				errs[i] = "no digest: " + stdout
			default:
				digests[i] = lines[len(lines)-1]
			}
		}()
	}
	wg.Wait()
	for i, e := range errs {
		if e != "" {
			t.Errorf("gen %s: %s", strings.Join(gens[i], " "), e)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return digests
}

// TestGenConcurrentWriters runs gens of different tags into one existing
// layout and into one directory that does not exist yet, all at once,
// plus writers of one docker-archive: every gen exits 0, every tag is
// there (go-containerregistry, skopeo), and podman runs an image from the
// layout.
func TestGenConcurrentWriters(t *testing.T) {
	integration(t)
	// podman names an image from an OCI layout by its path, which must be
	// lower case: not t.TempDir.
	root, err := os.MkdirTemp("", "distroless-concurrent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	existing, fresh := filepath.Join(root, "existing"), filepath.Join(root, "new", "layout")
	archive := filepath.Join(root, "image.tar")
	// Warm the cache for both profiles; the existing layout gets "base".
	digests := map[string]string{
		"static":       genDigest(t, "static", "--cache-dir", testCache, "-o", "oci:"+existing+":base"),
		"static-debug": genDigest(t, "static-debug", "--cache-dir", testCache, "-o", "oci:"+filepath.Join(root, "ref")),
	}
	const n = 6
	var gens [][]string
	want := map[string]map[string]string{existing: {"base": digests["static"]}, fresh: {}}
	for i := range n {
		profile := []string{"static", "static-debug"}[i%2]
		for _, dir := range []string{existing, fresh} {
			tag := fmt.Sprintf("t%d", i)
			gens = append(gens, []string{profile, "--cache-dir", testCache, "-o", "oci:" + dir + ":" + tag})
			want[dir][tag] = digests[profile]
		}
	}
	for i := range 3 {
		gens = append(gens, []string{"static-debug", "--cache-dir", testCache, "-o", fmt.Sprintf("docker-archive:%s:distroless/test:v%d", archive, i)})
	}
	got := runGens(t, gens)
	for i, g := range gens {
		if p := g[0]; got[i] != digests[p] {
			t.Errorf("gen %s: digest %s, want %s", strings.Join(g, " "), got[i], digests[p])
		}
	}
	for _, dir := range []string{existing, fresh} {
		if tags := clitest.TagDigests(t, dir); !maps.Equal(tags, want[dir]) {
			t.Fatalf("%s: tags %v, want %v", dir, tags, want[dir])
		}
		for tag, d := range want[dir] {
			if got := checkLayoutImage(t, dir, tag); got != d {
				t.Errorf("%s:%s: %s, want %s", dir, tag, got, d)
			}
			var inspected struct{ Digest string }
			if err := json.Unmarshal(skopeo(t, "inspect", "oci:"+dir+":"+tag), &inspected); err != nil || inspected.Digest != d {
				t.Errorf("skopeo inspect oci:%s:%s: digest %q, want %s (%v)", dir, tag, inspected.Digest, d, err)
			}
		}
		checkModes(t, dir)
		// Writers took turns without a file of theirs in the layout.
		if names := entryNames(t, dir); !slices.Equal(names, []string{"blobs", "index.json", "oci-layout"}) {
			t.Errorf("%s holds %v", dir, names)
		}
	}
	// Nothing is left beside the outputs.
	for _, d := range []string{root, filepath.Dir(fresh)} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("left in %s: %s", d, e.Name())
			}
		}
	}
	// The archive is one writer's, whole.
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(archive) })
	if err != nil || len(m) != 1 || len(m[0].RepoTags) != 1 {
		t.Fatalf("%s: manifest %+v, %v", archive, m, err)
	}
	tag, err := name.NewTag(m[0].RepoTags[0])
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(archive, &tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("%s: %v", archive, err)
	}
	if st, err := os.Stat(archive); err != nil || st.Mode() != 0o644 {
		t.Errorf("%s: mode %v, %v", archive, st.Mode(), err)
	}

	// podman runs the debug image from the layout written concurrently.
	p := newPodman(t)
	stdout, stderr, code := p.run(t, 3*time.Minute, "run", "--rm", "--network=none", "oci:"+fresh+":t1",
		"busybox", "cat", "/etc/os-release")
	if code != 0 || !strings.Contains(stdout, "\nID=\"debian\"\n") {
		t.Fatalf("podman run oci:%s:t1: exit %d\n%s\n%s", fresh, code, stdout, clitest.Tail(stderr, 20))
	}
}

// TestGenConcurrentColdCache runs 8 gens at once on one cold cache, into
// one layout: they all agree on the digest, which is the one gen gives
// from the shared test cache, and every tag is there.
func TestGenConcurrentColdCache(t *testing.T) {
	integration(t)
	root := t.TempDir()
	cache := filepath.Join(root, "cache")
	out := filepath.Join(root, "layout")
	want := genDigest(t, "static", "--cache-dir", testCache, "-o", "oci:"+filepath.Join(root, "ref"))
	var gens [][]string
	for i := range 8 {
		gens = append(gens, []string{"static", "--cache-dir", cache, "-o", fmt.Sprintf("oci:%s:t%d", out, i)})
	}
	for i, d := range runGens(t, gens) {
		if d != want {
			t.Errorf("gen %d on a cold shared cache: %s, want %s", i, d, want)
		}
	}
	tags := clitest.TagDigests(t, out)
	if len(tags) != 8 {
		t.Errorf("tags %v", tags)
	}
	for tag, d := range tags {
		if d != want {
			t.Errorf("%s: %s", tag, d)
		}
	}
	checkLayoutImage(t, out, "t0")
	// The cache they filled gives the same image again.
	if d := genDigest(t, "static", "--cache-dir", cache, "-o", "oci:"+out+":again"); d != want {
		t.Errorf("from the filled cache: %s, want %s", d, want)
	}
}

// TestGenOutputModes writes layouts and an archive under umask 077 and
// 022: layout files and the archive are 0644, layout directories 0755,
// in a fresh layout and in one a second tag was added to under the other
// umask.
func TestGenOutputModes(t *testing.T) {
	integration(t)
	root := t.TempDir()
	umaskGen := func(mask string, args ...string) {
		t.Helper()
		clitest.Must(t, testBin, clitest.Cmd{Wrap: []string{"sh", "-c", `umask "$0"; exec "$@"`, mask}}, append([]string{"gen"}, args...)...)
	}
	for _, masks := range [][2]string{{"077", "022"}, {"022", "077"}} {
		dir := filepath.Join(root, "layout-"+masks[0])
		archive := filepath.Join(root, "image-"+masks[0]+".tar")
		umaskGen(masks[0], "static", "--cache-dir", testCache, "-o", "oci:"+dir+":one")
		umaskGen(masks[0], "static", "--cache-dir", testCache, "-o", "docker-archive:"+archive)
		checkModes(t, dir)
		umaskGen(masks[1], "static-debug", "--cache-dir", testCache, "-o", "oci:"+dir+":two")
		checkModes(t, dir)
		if tags := clitest.TagDigests(t, dir); len(tags) != 2 {
			t.Errorf("%s: tags %v", dir, tags)
		}
		if st, err := os.Stat(archive); err != nil || st.Mode() != 0o644 {
			t.Errorf("%s: mode %v, %v", archive, st.Mode(), err)
		}
	}
	// Another user can read the layout: skopeo run as nobody.
	if os.Geteuid() != 0 {
		t.Fatal("needs root, to read the layout as another user (nobody)")
	}
	for d := root; d != filepath.Dir(d) && strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, mask := range []string{"077", "022"} {
		ref := "oci:" + filepath.Join(root, "layout-"+mask) + ":two"
		cmd := exec.Command(needTool(t, "skopeo"), "inspect", ref)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		cmd.Env = append(os.Environ(), "HOME=/nonexistent")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("skopeo inspect %s as another user: %v\n%s", ref, err, b)
		}
	}
}
