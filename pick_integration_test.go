package distroless

// Integration tests of the distro choice (no silent fallback to a later
// built-in distro) and of error messages that lead with their cause.
// The Debian archive is the real one, reached through a reverse proxy on
// 127.0.0.1 that damages one file on demand.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/packages/deb"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
	"github.com/distroless-dev/distroless/pipeline"
)

// runIn runs the binary in dir with extra environment variables.
func runIn(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	r := clitest.Run(t, testBin, clitest.Cmd{Dir: dir, Env: env}, args...)
	return r.Stdout, r.Stderr, r.Code
}

// mirrorProxy forwards requests to the real Debian archive and, while a
// fault is set, answers one path with it instead.
type mirrorProxy struct {
	*httptest.Server
	upstream string
	path     string // the path the fault applies to
	mu       sync.Mutex
	fault    http.HandlerFunc
	hits     atomic.Int64 // requests of path
}

func newMirrorProxy(t *testing.T, upstream, path string) *mirrorProxy {
	p := &mirrorProxy{upstream: strings.TrimRight(upstream, "/"), path: path}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

func (p *mirrorProxy) setFault(h http.HandlerFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = h
}

func (p *mirrorProxy) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == p.path {
		p.hits.Add(1)
		p.mu.Lock()
		f := p.fault
		p.mu.Unlock()
		if f != nil {
			f(w, r)
			return
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, p.upstream+r.URL.Path, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if resp.ContentLength >= 0 {
		w.Header().Set("Content-Length", fmt.Sprint(resp.ContentLength))
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// hostMirror is the Debian archive the tests read, as gen would find it.
func hostMirror(t *testing.T) string {
	t.Helper()
	m, err := distro.ResolveMirrors(distro.Mirrors{}, "/")
	if m.Archive == "" {
		t.Fatalf("no Debian mirror: set %s or the host's apt sources (%v)", distro.EnvMirror, err)
	}
	return m.Archive
}

func getURL(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %v %v", url, resp.Status, err)
	}
	return body
}

// treeDigest maps every file of a directory to its mode and content hash.
func treeDigest(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		v := info.Mode().String()
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s := sha256.Sum256(data)
			v += " " + hex.EncodeToString(s[:])
		}
		rel, _ := filepath.Rel(dir, p)
		m[rel] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameTree(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: %s changed: %q → %q", what, k, v, after[k])
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s: %s appeared", what, k)
		}
	}
}

func lastLine(s string) string { return clitest.Tail(s, 1) }

// errLine is the first line of the error message in stderr (progress and
// notes come before it).
func errLine(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "distroless: ") {
			return l
		}
	}
	return ""
}

// TestNoSilentDowngrade: without --distro, when debian:trixie's InRelease
// cannot be verified or fetched, gen python3 fails naming debian:trixie
// and the failure, instead of building from bookworm; the previous output
// is untouched, and a clean run afterwards gives the same digest as
// before.
func TestNoSilentDowngrade(t *testing.T) {
	integration(t)
	upstream := hostMirror(t)
	real := getURL(t, upstream+"/dists/trixie/InRelease")
	bookworm := getURL(t, upstream+"/dists/bookworm/InRelease")

	// An InRelease with the real contents, expired, signed by a key that
	// --keyring adds to Debian's: what a replayed, once valid InRelease is.
	key := debtest.NewKey(t, "replay")
	keyring := filepath.Join(t.TempDir(), "keys.gpg")
	{
		el, err := deb.DebianKeyring()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		for _, e := range append(el, key) {
			if err := e.Serialize(&buf); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(keyring, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	block, _ := clearsign.Decode(real)
	if block == nil {
		t.Fatal("trixie's InRelease is not clearsigned")
	}
	text := regexp.MustCompile(`(?m)^Valid-Until:.*\n`).ReplaceAll(block.Plaintext, nil)
	text = regexp.MustCompile(`(?m)^(Date:.*\n)`).ReplaceAll(text, []byte("${1}Valid-Until: Sat, 01 Jan 2000 00:00:00 UTC\n"))
	if !bytes.Contains(text, []byte("Valid-Until: Sat, 01 Jan 2000")) {
		t.Fatal("could not date the InRelease")
	}
	expired := debtest.Clearsign(t, text, key)
	tampered := bytes.Replace(real, []byte("\nOrigin: Debian\n"), []byte("\nOrigin: Debiam\n"), 1)
	if bytes.Equal(tampered, real) {
		t.Fatal("could not tamper with the InRelease")
	}
	serve := func(status int, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			w.Write(body)
		}
	}

	work := t.TempDir()
	out := filepath.Join(work, "out")
	gen := func(p *mirrorProxy, extra ...string) (string, string, int) {
		args := append([]string{"gen", "python3", "--mirror", p.URL, "--cache-dir", testCache, "-o", "oci:" + out + ":py"}, extra...)
		return runIn(t, work, nil, args...)
	}

	// The baseline: trixie through a proxy that damages nothing.
	base := newMirrorProxy(t, upstream, "/dists/trixie/InRelease")
	stdout, stderr, code := gen(base, "--json")
	if code != 0 {
		t.Fatalf("baseline gen: exit %d\n%s", code, clitest.Tail(stderr, 20))
	}
	var res pipeline.GenResult
	if err := clitest.DecodeOne(stdout, &res); err != nil {
		t.Fatal(err)
	}
	if res.Distro != "debian:trixie" || !digestRE.MatchString(res.Digest) {
		t.Fatalf("baseline: %s from %s", res.Digest, res.Distro)
	}
	before := treeDigest(t, out)

	for _, c := range []struct {
		name    string
		fault   http.HandlerFunc
		extra   []string
		want    string // in the first line of the error, after the InRelease URL
		keyring bool
	}{
		{name: "bad signature", fault: serve(200, tampered), want: "no valid signature"},
		{name: "expired", fault: serve(200, expired), want: "expired: Valid-Until", keyring: true},
		{name: "503", fault: serve(503, []byte("busy")), want: "503 Service Unavailable"},
		{name: "HTML", fault: serve(200, []byte("<!DOCTYPE html>\n<html><body><h1>Welcome to our portal</h1></body></html>\n")), want: "not a clearsigned file"},
		{name: "other suite", fault: serve(200, bookworm), want: `not "trixie"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A new proxy (a new URL), so that no cached InRelease is used.
			p := newMirrorProxy(t, upstream, "/dists/trixie/InRelease")
			p.setFault(c.fault)
			var extra []string
			if c.keyring {
				extra = []string{"--keyring", keyring}
			}
			stdout, stderr, code := gen(p, extra...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, stderr)
			}
			first := errLine(stderr)
			inRelease := p.URL + "/dists/trixie/InRelease"
			if !strings.HasPrefix(first, "distroless: ") || !strings.Contains(first, inRelease) || !strings.Contains(first, c.want) {
				t.Errorf("error does not lead with %s and %q:\n%s", inRelease, c.want, stderr)
			}
			if !strings.Contains(stderr, "debian:trixie could not be read") || !strings.Contains(stderr, "--distro") {
				t.Errorf("error does not name debian:trixie and --distro:\n%s", stderr)
			}
			if strings.Contains(stderr, "using debian:") || strings.Contains(stderr, "writing") || stdout != "" {
				t.Errorf("built from another distro:\nstdout %q\nstderr:\n%s", stdout, stderr)
			}
			if p.hits.Load() == 0 {
				t.Error("the damaged InRelease was never asked for")
			}
			sameTree(t, "output", before, treeDigest(t, out))

			// resolve, why and gen --lock choose the same way.
			lock := filepath.Join(work, "new.lock")
			for _, args := range [][]string{
				{"resolve", "python3"},
				{"why", "python3", "libc6"},
				{"gen", "python3", "--lock", lock, "-o", "oci:" + filepath.Join(work, "other")},
			} {
				args = append(args, append([]string{"--mirror", p.URL, "--cache-dir", testCache}, extra...)...)
				_, stderr, code := runIn(t, work, nil, args...)
				if code != 1 || !strings.Contains(stderr, "debian:trixie could not be read") {
					t.Errorf("%s: exit %d\n%s", strings.Join(args, " "), code, stderr)
				}
			}
			if c.name == "HTML" {
				// java17 says it is for bookworm only: trixie, which it is
				// not for, need not be read to choose bookworm.
				if _, stderr, code := runIn(t, work, nil, "resolve", "java17", "--mirror", p.URL, "--cache-dir", testCache); code != 0 ||
					!strings.Contains(stderr, "java17: using debian:bookworm") {
					t.Errorf("resolve java17: exit %d\n%s", code, stderr)
				}
				// The listing chooses nothing: it notes the unread distro,
				// and what only later distros package needs --distro.
				stdout, stderr, code := runIn(t, work, nil, "profiles", "--mirror", p.URL, "--cache-dir", testCache)
				for _, want := range []string{
					"python3.11 (debian:bookworm, only with --distro while debian:trixie is not read)",
					"# debian:trixie not read: " + p.URL + "/dists/trixie/InRelease: not a clearsigned file",
					"a profile that no distro before debian:trixie packages fails there",
				} {
					if code != 0 || !strings.Contains(stdout, want) {
						t.Errorf("profiles: exit %d, output lacks %q:\n%s\n%s", code, want, stdout, stderr)
					}
				}
			}
			for _, f := range []string{lock, filepath.Join(work, "other")} {
				if _, err := os.Stat(f); err == nil {
					t.Errorf("%s was written", f)
				}
			}

			// The fault gone, the same proxy gives the baseline again:
			// nothing of the damaged file was kept.
			p.setFault(nil)
			stdout, stderr, code = gen(p, extra...)
			if code != 0 {
				t.Fatalf("clean run: exit %d\n%s", code, clitest.Tail(stderr, 20))
			}
			if got := lastLine(stdout); got != res.Digest {
				t.Errorf("clean run: digest %s, baseline %s", got, res.Digest)
			}
			// The image is the baseline's (the layout holds it alone; its
			// SBOM and provenance, unattached, would name this proxy's URLs).
			before = treeDigest(t, out)
		})
	}
}

// TestUnreadRPMDistroStops: an RPM profile without --distro goes to the
// RPM built-ins (the Debian ones are not for it, so they are not read);
// when rocky:9's key host cannot be reached, the choice stops there,
// naming it, and no later RPM distro is tried.
func TestUnreadRPMDistroStops(t *testing.T) {
	heavy(t, "5 attempts with backoff")
	t.Parallel() // hermetic, and mostly waiting (retries, rpmbuild): overlaps the others
	var mu sync.Mutex
	var hosts []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts = append(hosts, r.Host)
		mu.Unlock()
		http.Error(w, "no route", http.StatusBadGateway)
	}))
	defer proxy.Close()
	dir := t.TempDir()
	prof := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(prof, []byte("name: tiny\nformat: rpm\npackages: [glibc]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	env := []string{"HTTPS_PROXY=" + proxy.URL, "https_proxy=" + proxy.URL, "NO_PROXY=", "no_proxy="}
	_, stderr, code := runIn(t, dir, env, "resolve", "-f", prof, "--cache-dir", cache)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	first := errLine(stderr)
	if !strings.Contains(first, "rocky:9") || !strings.Contains(first, "signing key") {
		t.Errorf("error does not lead with rocky:9's key download:\n%s", stderr)
	}
	if !strings.Contains(stderr, "rocky:9 could not be read") || strings.Contains(stderr, "almalinux") {
		t.Errorf("error:\n%s", stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hosts) == 0 {
		t.Error("rocky:9's key host was never asked for (through HTTPS_PROXY)")
	}
	for _, h := range hosts {
		if !strings.Contains(h, "rockylinux.org") {
			t.Errorf("went on to %s", h)
		}
	}
}

// requestCounter counts every request it gets, as a mirror and as a
// proxy: a command that downloads nothing leaves it at zero.
func requestCounter(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "counted", http.StatusServiceUnavailable)
	}))
	t.Cleanup(s.Close)
	return s, &n
}

// TestErrorsLeadWithCause: usage errors exit 2 and are reported before any
// download; a cold cache offline exits 1 naming the missing file first.
func TestErrorsLeadWithCause(t *testing.T) {
	srv, n := requestCounter(t)
	env := []string{"HTTP_PROXY=" + srv.URL, "HTTPS_PROXY=" + srv.URL, "http_proxy=" + srv.URL, "https_proxy=" + srv.URL,
		"NO_PROXY=", "no_proxy=", "DISTROLESS_DEBIAN_MIRROR=" + srv.URL, "DISTROLESS_DEBIAN_SECURITY_MIRROR=" + srv.URL}
	for _, c := range []struct {
		name string
		args []string
		code int
		lead string // the error's first line starts "distroless: " + lead
		want string // and contains this
	}{
		{"bad arch", []string{"gen", "python3", "--arch", "x86-64x"}, 2, `--platform/--arch: platform "x86-64x" is not a known architecture`, "linux/arm64/v8"},
		{"bad arch resolve", []string{"resolve", "python3", "--arch", "armel"}, 2, `--platform/--arch: platform "armel"`, "armhf"},
		{"bad platform why", []string{"why", "python3", "libc6", "--platform", "darwin/arm64"}, 2, `--platform/--arch: platform "darwin/arm64": only linux images`, ""},
		{"two platforms profiles", []string{"profiles", "--arch", "amd64,s390x"}, 2, `--platform/--arch "amd64,s390x": names 2 platforms`, "gen builds an image index"},
		{"platform not published", []string{"gen", "static", "--distro", "debian:bookworm", "--platform", "linux/riscv64"}, 2, "debian:bookworm does not publish linux/riscv64", "linux/arm/v7"},
		{"unknown profile", []string{"gen", "pyhton3"}, 2, `unknown profile "pyhton3"`, "python3"},
		{"unknown profile resolve", []string{"resolve", "nodejs99"}, 2, `unknown profile "nodejs99"`, ""},
		{"unknown distro", []string{"resolve", "python3", "--distro", "debian:buster"}, 2, `unknown distro "debian:buster"`, "debian:trixie"},
		{"output ./dir", []string{"gen", "static", "-o", "./dir"}, 2, `output "./dir" is a path`, "oci:./dir"},
		{"output ../dir", []string{"gen", "static", "-o", "../dir"}, 2, `output "../dir" is a path`, "REGISTRY/REPO:TAG"},
		{"output /abs", []string{"gen", "static", "-o", "/tmp/x/out"}, 2, `output "/tmp/x/out" is a path`, "docker-archive:FILE"},
		{"output dir/", []string{"gen", "static", "-o", "out/"}, 2, `output "out/" is a path`, "oci:DIR"},
		{"output bare", []string{"gen", "static", "-o", "out"}, 2, `output "out" has no transport`, "oci:DIR"},
		{"output bad reference", []string{"gen", "static", "-o", "registry.example/Bad Repo:t"}, 2, `output "registry.example/Bad Repo:t" is not a registry reference`, "REGISTRY/REPO:TAG"},
		{"output bad transport", []string{"gen", "static", "-o", "nonsense:thing"}, 2, `output "nonsense:thing"`, "oci:DIR"},
		{"output oci empty", []string{"gen", "static", "-o", "oci:"}, 2, `output "oci:"`, "no directory"},
		{"user", []string{"gen", "static", "--user", "bogus"}, 2, `--user "bogus"`, ""},
		{"cache prune size", []string{"cache", "prune", "--max-size", "5XB"}, 2, `--max-size: size "5XB"`, "MiB"},
		{"cache prune age", []string{"cache", "prune", "--older-than", "yesterday"}, 2, `--older-than: age "yesterday"`, "30d"},
		{"offline cold", []string{"resolve", "python3", "--offline"}, 1, "offline: " + srv.URL + "/dists/trixie/InRelease is not in the cache", "debian:trixie"},
		{"offline cold distro", []string{"gen", "python3.11", "--distro", "debian:bookworm", "--offline"}, 1, "offline: " + srv.URL + "/dists/bookworm/InRelease is not in the cache", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cache := filepath.Join(dir, "cache")
			before := n.Load()
			stdout, stderr, code := runIn(t, dir, env, append(c.args, "--cache-dir", cache)...)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s", code, c.code, stderr)
			}
			// Nothing (no note, no progress) comes before the error.
			if !strings.HasPrefix(stderr, "distroless: "+c.lead) || !strings.Contains(stderr, c.want) {
				t.Errorf("stderr does not start with the error %q (and contain %q):\n%s", c.lead, c.want, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
			if got := n.Load() - before; got != 0 {
				t.Errorf("%d requests made", got)
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 0 {
				t.Errorf("%s: wrote %v", dir, ents)
			}
		})
	}
}

// TestFileSizeLimit: a write refused for the file size limit (EFBIG, as a
// quota would) leads the error with the cause and the full path, for the
// cache and for the output; a previous output is untouched.
func TestFileSizeLimit(t *testing.T) {
	integration(t)
	prlimit, err := exec.LookPath("prlimit") // util-linux
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	cache := filepath.Join(work, "cache")
	run := func(limit string, args ...string) (string, int) {
		r := clitest.Run(t, testBin, clitest.Cmd{Dir: work, Wrap: []string{prlimit, "--fsize=" + limit, "--"}}, args...)
		return r.Stderr, r.Code
	}
	stderr, code := run("100000", "resolve", "static", "--cache-dir", cache)
	if first := errLine(stderr); code != 1 || !strings.HasPrefix(first, "distroless: file too large: write "+cache+"/") {
		t.Errorf("cache: exit %d\n%s", code, stderr)
	}
	// The previous output is the same image: its build also fills the
	// cache, so that the limited run writes only the output.
	prev := filepath.Join(work, "prev")
	genDigest(t, "python3", "--distro", "debian:trixie", "--cache-dir", testCache, "-o", "oci:"+prev)
	before := treeDigest(t, prev)
	// The build keeps file contents in a spool file in the cache (a
	// file larger than any the output has): that write fails first. (Not
	// the same image: that one is in the cache and the layout holds it,
	// so nothing is written at all; a label makes another.)
	stderr, code = run("1000000", "gen", "python3", "--distro", "debian:trixie", "--label", "limit=1", "--cache-dir", testCache, "-o", "oci:"+prev)
	if first := errLine(stderr); code != 1 || !strings.HasPrefix(first, "distroless: file too large: write "+testCache+"/.spool-") {
		t.Errorf("output: exit %d\n%s", code, stderr)
	}
	sameTree(t, "previous output", before, treeDigest(t, prev))
	// The same image again: in the cache and in the layout, it writes
	// nothing, so the limit does not matter.
	if stderr, code = run("1000000", "gen", "python3", "--distro", "debian:trixie", "--cache-dir", testCache, "-o", "oci:"+prev); code != 0 {
		t.Errorf("the unchanged image under the limit: exit %d\n%s", code, stderr)
	}
	sameTree(t, "unchanged output", before, treeDigest(t, prev))
}

// TestDiskFull: a cache or an output on a full file system fails with an
// error that leads with "no space left on device" and the full path, and
// a previous output is untouched.
func TestDiskFull(t *testing.T) {
	integration(t)
	if os.Geteuid() != 0 {
		t.Fatal("mounting the small file system this test fills needs root (scripts/test.sh runs as root or through sudo)")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })

	// The cache on the full file system.
	work := t.TempDir()
	_, stderr, code := runIn(t, work, nil, "resolve", "static", "--cache-dir", filepath.Join(mnt, "cache"))
	first := errLine(stderr)
	if code != 1 || !strings.HasPrefix(first, "distroless: no space left on device: write "+filepath.Join(mnt, "cache")+"/") {
		t.Errorf("cache on a full disk: exit %d\n%s", code, stderr)
	}
	if strings.Contains(stderr, "could not be read") {
		t.Errorf("a full disk blamed on the distro:\n%s", stderr)
	}

	// The output on the full file system, next to a previous small one.
	prev := filepath.Join(mnt, "prev")
	if d := genDigest(t, "static", "--distro", "debian:trixie", "--cache-dir", testCache, "-o", "oci:"+prev); d == "" {
		t.Fatal("no digest")
	}
	before := treeDigest(t, prev)
	// Fill what is left, but for a little.
	filler, err := os.Create(filepath.Join(mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(filler)
	for chunk := make([]byte, 64<<10); ; {
		if _, err := w.Write(chunk); err != nil {
			break
		}
	}
	w.Flush()
	filler.Close()
	_, stderr, code = runIn(t, work, nil, "gen", "python3", "--distro", "debian:trixie", "--cache-dir", testCache, "-o", "oci:"+prev)
	first = errLine(stderr)
	if code != 1 || !strings.HasPrefix(first, "distroless: no space left on device: ") || !strings.Contains(first, mnt+"/") {
		t.Errorf("output on a full disk: exit %d\n%s", code, stderr)
	}
	sameTree(t, "previous output", before, treeDigest(t, prev))
}
