package distroless

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/attest/attesttest"
	"github.com/distroless-dev/distroless/internal/clitest"
)

// registryState is every tag of the repositories under prefix (their
// names without it) and what it holds: the digest, or "present" for
// cosign's signature and attestation tags (a signature differs from run
// to run). The shards' platform records are left out.
func (e *releaseEnv) registryState(t *testing.T, prefix string) map[string]string {
	t.Helper()
	opts := []remote.Option{remote.WithTransport(e.reg.Transport()), remote.WithAuth(&authn.Basic{Username: e.reg.User, Password: e.reg.Password})}
	reg, err := name.NewRegistry(e.reg.Host)
	if err != nil {
		t.Fatal(err)
	}
	repos, err := remote.Catalog(context.Background(), reg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]string{}
	for _, r := range repos {
		rest, ok := strings.CutPrefix(r, prefix+"/")
		if !ok {
			continue
		}
		repo, err := name.NewRepository(e.reg.Host + "/" + r)
		if err != nil {
			t.Fatal(err)
		}
		tags, err := remote.List(repo, opts...)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range tags {
			switch {
			case strings.HasPrefix(tg, PlatformTagPrefix):
			case strings.HasSuffix(tg, attest.SignatureSuffix), strings.HasSuffix(tg, attest.AttestationSuffix):
				state[rest+":"+tg] = "present"
			default:
				desc, err := remote.Head(repo.Tag(tg), opts...)
				if err != nil {
					t.Fatal(err)
				}
				state[rest+":"+tg] = desc.Digest.String()
			}
		}
	}
	return state
}

// TestReleaseShards: a release file's matrix split over four shard
// processes, each with its own empty cache, run at once (one of them
// killed as it starts pushing), then --finish: the finishing run refuses
// while a platform image is missing, naming it and storing nothing;
// once the killed shard has run again it makes every image, and the
// registry holds what a single-process release of the same file holds
// in another namespace: every tag at the same digest (images, indexes,
// referrers' fallback indexes, records), the same signature and
// attestation tags. A second --finish changes nothing.
func TestReleaseShards(t *testing.T) {
	integration(t)
	e := newReleaseEnv(t)
	host := e.reg.Host
	key, pub := attesttest.KeyPair(t, filepath.Join(e.dir, "keys"))
	body := "distros: [debian:trixie]\nimages:\n  - profile: static\n    platforms: [linux/amd64, linux/arm64]\n    users: [root, nonroot]\n  - profile: base\n"
	for _, ns := range []string{"single", "sharded"} {
		if err := os.MkdirAll(filepath.Join(e.dir, ns), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(e.dir, ns, "release.yaml"), []byte("registry: "+host+"/"+ns+"\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(t *testing.T, dir string, args ...string) (string, string, int) {
		t.Helper()
		r := clitest.Run(t, testBin, clitest.Cmd{Dir: filepath.Join(e.dir, dir), Env: e.env, Timeout: 20 * time.Minute},
			append([]string{"release", "release.yaml", "--json", "--sign-key", key}, args...)...)
		return r.Stdout, r.Stderr, r.Code
	}
	stdout, stderr, code := run(t, "single", "--cache-dir", testCache)
	if code != 0 {
		t.Fatalf("single release: exit %d\n%s", code, clitest.Tail(stderr, 30))
	}
	lock, err := os.ReadFile(filepath.Join(e.dir, "single", "release.lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "sharded", "release.lock.json"), lock, 0o644); err != nil {
		t.Fatal(err)
	}

	// The matrix: four shards, every platform image in one.
	stdout, stderr, code = run(t, "sharded", "--matrix", "--shards", "4")
	var m ReleaseMatrix
	if code != 0 || strings.Count(strings.TrimSpace(stdout), "\n") != 0 || json.Unmarshal([]byte(stdout), &m) != nil || len(m.Include) != 4 {
		t.Fatalf("--matrix: exit %d\n%s\n%s", code, stdout, stderr)
	}
	all := map[string]string{} // platform image → shard
	for _, s := range m.Include {
		for _, im := range s.Images {
			if all[im] != "" {
				t.Errorf("%s in shards %s and %s", im, all[im], s.Shard)
			}
			all[im] = s.Shard
		}
	}
	if len(all) != 5 {
		t.Fatalf("--matrix lists %d platform images, want 5: %s", len(all), stdout)
	}
	// The shard to kill: one with two platform images (the root and
	// nonroot static of one platform, one build).
	victim := ""
	for _, s := range m.Include {
		if len(s.Images) == 2 && victim == "" {
			victim = s.Shard
		}
	}
	if victim == "" {
		t.Fatalf("no shard with two platform images: %s", stdout)
	}

	var wg sync.WaitGroup
	errs := make([]string, 4)
	for k := 1; k <= 4; k++ {
		shard := fmt.Sprintf("%d/4", k)
		cache := filepath.Join(t.TempDir(), "cache")
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"release", "release.yaml", "--json", "--sign-key", key, "--cache-dir", cache, "--shard", shard}
			if shard == victim {
				args = slices.DeleteFunc(args, func(a string) bool { return a == "--json" }) // progress lines
			}
			cmd, cancel := clitest.Command(testBin, clitest.Cmd{Dir: filepath.Join(e.dir, "sharded"), Env: e.env, Timeout: 20 * time.Minute}, args...)
			defer cancel()
			if shard != victim {
				out, err := cmd.CombinedOutput()
				if err != nil {
					errs[k-1] = fmt.Sprintf("shard %s: %v\n%s", shard, err, clitest.Tail(string(out), 30))
				}
				return
			}
			// Killed on its first push.
			pipe, err := cmd.StderrPipe()
			if err != nil {
				errs[k-1] = err.Error()
				return
			}
			if err := cmd.Start(); err != nil {
				errs[k-1] = err.Error()
				return
			}
			sc := bufio.NewScanner(pipe)
			sc.Split(scanLinesOrCR)
			killed := false
			for sc.Scan() {
				if !killed && strings.Contains(sc.Text(), ": pushing") {
					cmd.Process.Kill()
					killed = true
				}
			}
			cmd.Wait()
			if !killed {
				errs[k-1] = "shard " + shard + " was not killed: it never said it was pushing"
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Fatal(e)
		}
	}

	// --finish with the killed shard's second platform image missing.
	before := len(e.reg.Requests(t))
	_, stderr, code = run(t, "sharded", "--cache-dir", filepath.Join(t.TempDir(), "cache"), "--finish")
	if code == 0 || !strings.Contains(stderr, "not finishing") {
		t.Fatalf("--finish with shard %s killed: exit %d\n%s", victim, code, clitest.Tail(stderr, 10))
	}
	var victimImages []string
	for im, s := range all {
		if s == victim {
			victimImages = append(victimImages, im)
		} else if strings.Contains(stderr, im) {
			t.Errorf("--finish names %s (shard %s ran to its end):\n%s", im, s, stderr)
		}
	}
	sort.Strings(victimImages)
	named := 0
	for _, im := range victimImages {
		if strings.Contains(stderr, im) {
			named++
		}
	}
	if named == 0 {
		t.Errorf("--finish names none of %v of the killed shard:\n%s", victimImages, stderr)
	}
	if n := len(e.reg.Requests(t).Since(before).ManifestPuts()); n != 0 {
		t.Errorf("the refused --finish stored %d manifests", n)
	}

	// The killed shard again, on a fresh runner; then --finish.
	if _, stderr, code := run(t, "sharded", "--cache-dir", filepath.Join(t.TempDir(), "cache"), "--shard", victim); code != 0 {
		t.Fatalf("shard %s again: exit %d\n%s", victim, code, clitest.Tail(stderr, 30))
	}
	stdout, stderr, code = run(t, "sharded", "--cache-dir", filepath.Join(t.TempDir(), "cache"), "--finish")
	if code != 0 {
		t.Fatalf("--finish: exit %d\n%s", code, clitest.Tail(stderr, 30))
	}
	var res ReleaseResult
	if err := clitest.DecodeOne(stdout, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Images) != 3 {
		t.Errorf("--finish: %d images, want 3: %+v", len(res.Images), res.Images)
	}

	single, sharded := e.registryState(t, "single"), e.registryState(t, "sharded")
	if len(single) < 10 {
		t.Fatalf("the single release left %d tags: %v", len(single), single)
	}
	for tg, d := range single {
		if sharded[tg] != d {
			t.Errorf("%s: single release %s, sharded %q", tg, d, sharded[tg])
		}
	}
	for tg, d := range sharded {
		if _, ok := single[tg]; !ok {
			t.Errorf("%s (%s): only in the sharded release", tg, d)
		}
	}

	// The index --finish made verifies: signed, and each platform image
	// rebuilt from the provenance --finish attached.
	if stdout, stderr, code := e.run(t, "verify", host+"/sharded/static-debian13:latest", "--key", pub, "--cache-dir", filepath.Join(t.TempDir(), "cache")); code != 0 ||
		strings.Count(stdout, "rebuilt to the same digest") != 2 {
		t.Errorf("verify of a finished index: exit %d\n%s\n%s", code, stdout, clitest.Tail(stderr, 20))
	}

	// Again: nothing to do.
	before = len(e.reg.Requests(t))
	stdout, stderr, code = run(t, "sharded", "--cache-dir", filepath.Join(t.TempDir(), "cache"), "--finish")
	if code != 0 {
		t.Fatalf("--finish again: exit %d\n%s", code, clitest.Tail(stderr, 30))
	}
	res = ReleaseResult{}
	if err := clitest.DecodeOne(stdout, &res); err != nil {
		t.Fatal(err)
	}
	for _, im := range images(t, &res, 3) {
		if im.Status != "unchanged" {
			t.Errorf("--finish again: %s %s %s", im.Name, im.Variant, im.Status)
		}
	}
	if reqs := e.reg.Requests(t).Since(before); len(reqs.ManifestPuts())+len(reqs.Uploads()) != 0 {
		t.Errorf("--finish again stored %d manifests, %d blobs", len(reqs.ManifestPuts()), len(reqs.Uploads()))
	}
}

// scanLinesOrCR splits progress output at newlines and carriage returns.
func scanLinesOrCR(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		if b == '\n' || b == '\r' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
