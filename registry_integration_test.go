package distroless

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/internal/registrytest"
	"github.com/distroless-dev/distroless/pipeline"
)

// userEnv is a user's environment for the binary: its own home, runtime
// and config directories (so that no auth file, certificate directory or
// registries.conf of the machine is read), with extra settings.
type userEnv struct {
	home, runDir string
	extra        []string
}

func newUserEnv(t *testing.T, extra ...string) *userEnv {
	t.Helper()
	dir := t.TempDir()
	u := &userEnv{home: filepath.Join(dir, "home"), runDir: filepath.Join(dir, "run"), extra: extra}
	empty := filepath.Join(dir, "registries.conf")
	for _, d := range []string{u.home, u.runDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	u.extra = append([]string{"CONTAINERS_REGISTRIES_CONF=" + empty}, u.extra...)
	return u
}

func (u *userEnv) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "REGISTRY_AUTH_FILE", "DOCKER_CONFIG", "CONTAINERS_REGISTRIES_CONF":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+u.home, "XDG_RUNTIME_DIR="+u.runDir)
	return append(env, u.extra...)
}

// run runs the distroless binary (the test cache) in the environment;
// stderr is a pipe, not a terminal.
func (u *userEnv) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	r := clitest.Run(t, testBin, clitest.Cmd{Environ: u.env()}, append(args, "--cache-dir", testCache)...)
	return r.Stdout, r.Stderr, r.Code
}

func (u *userEnv) mustGen(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, code := u.run(t, append([]string{"gen"}, args...)...)
	if code != 0 {
		t.Fatalf("gen %s: exit %d\n%s", strings.Join(args, " "), code, clitest.Tail(stderr, 30))
	}
	return stdout, stderr
}

// remoteDigest is the digest ref names in reg.
func remoteDigest(t *testing.T, reg *registrytest.Registry, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r, remote.WithTransport(reg.Transport()), remote.WithAuth(&authn.Basic{Username: reg.User, Password: reg.Password}))
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return d.Digest.String()
}

// remoteConfig is the config digest of the image ref names in reg.
func remoteConfig(t *testing.T, reg *registrytest.Registry, ref string) string {
	t.Helper()
	r, _ := name.ParseReference(ref)
	img, err := remote.Image(r, remote.WithTransport(reg.Transport()), remote.WithAuth(&authn.Basic{Username: reg.User, Password: reg.Password}))
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// remoteLayers is the layer digests of the image ref names in reg.
func remoteLayers(t *testing.T, reg *registrytest.Registry, ref string) []string {
	t.Helper()
	r, _ := name.ParseReference(ref)
	img, err := remote.Image(r, remote.WithTransport(reg.Transport()), remote.WithAuth(&authn.Basic{Username: reg.User, Password: reg.Password}))
	if err != nil {
		t.Fatal(err)
	}
	return imageLayers(t, img)
}

// TestRegistryPush pushes to the real distribution registry with TLS from
// its own CA and basic auth, as a user would: the CA trusted through
// certs.d, credentials from a real `podman login`; several tags and an
// oci-archive in one gen, a second image mounting the shared layers
// from the first's repository, and podman and skopeo reading the results.
func TestRegistryPush(t *testing.T) {
	integration(t)
	reg := registrytest.Start(t, registrytest.Options{})
	u := newUserEnv(t)
	host := reg.Host
	common := []string{"--distro", "debian:bookworm"}
	gen := func(args ...string) (string, string, int) {
		return u.run(t, append(append([]string{"gen", "static"}, common...), args...)...)
	}

	// The registry's CA is not trusted yet.
	_, stderr, code := gen("-o", host+"/a:t1")
	if code != 1 || !strings.Contains(stderr, "certificate") || !strings.Contains(stderr, "/etc/containers/certs.d/"+host) || !strings.Contains(stderr, "--cert-dir") {
		t.Fatalf("push with an untrusted CA: exit %d, want 1 and a certificate error saying where a CA goes:\n%s", code, clitest.Tail(stderr, 5))
	}
	certs := filepath.Join(u.home, ".config", "containers", "certs.d", host)
	if _, err := reg.CertDir(certs); err != nil {
		t.Fatal(err)
	}

	// No credentials anywhere: the message says so and where it looked.
	_, stderr, code = gen("-o", host+"/a:t1")
	if code != 1 || !strings.Contains(stderr, "none were found") || !strings.Contains(stderr, filepath.Join(u.runDir, "containers", "auth.json")) ||
		!strings.Contains(stderr, "podman login "+host) {
		t.Fatalf("push without credentials: exit %d, want 1 and a message naming where credentials were looked for:\n%s", code, clitest.Tail(stderr, 5))
	}

	// A wrong password in docker's config: the message names the file and user.
	dockerConfig := filepath.Join(u.home, ".docker", "config.json")
	os.MkdirAll(filepath.Dir(dockerConfig), 0o700)
	wrong := `{"auths":{"` + host + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte(reg.User+":wrong-"+reg.Password)) + `"}}}`
	if err := os.WriteFile(dockerConfig, []byte(wrong), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = gen("-o", host+"/a:t1")
	if code != 1 || !strings.Contains(stderr, `refused the credentials of user "distroless"`) || !strings.Contains(stderr, dockerConfig) {
		t.Fatalf("push with a wrong password: exit %d, want 1 and a message naming the user and %s:\n%s", code, dockerConfig, clitest.Tail(stderr, 5))
	}

	// A real podman login (its auth file comes before docker's config).
	p := newPodman(t)
	cmd := exec.Command(p.bin, "login", "--cert-dir", certs, "-u", reg.User, "--password-stdin", host)
	cmd.Env = append(u.env(), "CONTAINERS_CONF="+p.conf)
	cmd.Stdin = strings.NewReader(reg.Password)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("podman login: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(u.runDir, "containers", "auth.json")); err != nil {
		t.Fatalf("podman login did not write $XDG_RUNTIME_DIR/containers/auth.json: %v", err)
	}

	// Two tags of one repository and an oci-archive in one gen.
	archive := filepath.Join(t.TempDir(), "static.tar")
	before := len(reg.Requests(t))
	stdout, stderr, code := gen("-o", host+"/a:t1", "-o", host+"/a:t2", "-o", "oci-archive:"+archive+":v1")
	if code != 0 {
		t.Fatalf("gen: exit %d\n%s", code, clitest.Tail(stderr, 20))
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || !digestRE.MatchString(lines[0]) || lines[1] != host+"/a@"+lines[0] {
		t.Fatalf("stdout %q, want the digest then %s/a@DIGEST", stdout, host)
	}
	digest := lines[0]
	for _, tag := range []string{"t1", "t2"} {
		if got := remoteDigest(t, reg, host+"/a:"+tag); got != digest {
			t.Errorf("%s/a:%s is %s, want %s", host, tag, got, digest)
		}
	}
	reqs := reg.Requests(t).Since(before)
	layersA := remoteLayers(t, reg, host+"/a:t1")
	// The image: one manifest PUT per tag, each blob uploaded once. Beside
	// it, by digest, its referrers (SBOM, provenance) and the referrers
	// tag schema's sha256-HEX index: their blobs are the two documents
	// and the empty config.
	var tagPuts []string
	for _, q := range reqs.ManifestPuts() {
		if ref := q.Path[strings.LastIndex(q.Path, "/")+1:]; !strings.HasPrefix(ref, "sha256") {
			tagPuts = append(tagPuts, ref)
		}
	}
	if slices.Sort(tagPuts); !slices.Equal(tagPuts, []string{"t1", "t2"}) {
		t.Errorf("manifest PUTs by tag %v, want t1 and t2 once each:\n%v", tagPuts, reqs.ManifestPuts())
	}
	imageBlobs := append(slices.Clone(layersA), remoteConfig(t, reg, host+"/a:t1"))
	var ofImage, attached int
	for _, d := range reqs.Uploads().Digests() {
		if slices.Contains(imageBlobs, d) {
			ofImage++
		} else {
			attached++
		}
	}
	if ofImage != len(imageBlobs) || attached > 3 {
		t.Errorf("%d uploads of the image's %d blobs (each layer and the config once) and %d others (at most the 2 attached documents and the empty config):\n%v",
			ofImage, len(imageBlobs), attached, reqs.Uploads())
	}

	// The archive, as skopeo and podman read it.
	var inspected struct{ Digest string }
	if err := json.Unmarshal(skopeo(t, "inspect", "oci-archive:"+archive+":v1"), &inspected); err != nil {
		t.Fatal(err)
	}
	if inspected.Digest != digest {
		t.Errorf("skopeo inspect oci-archive: digest %s, want %s", inspected.Digest, digest)
	}
	if _, stderr, code := p.run(t, 2*time.Minute, "pull", "-q", "oci-archive:"+archive+":v1"); code != 0 {
		t.Errorf("podman pull oci-archive: exit %d: %s", code, stderr)
	}

	// podman pulls what was pushed.
	if _, stderr, code := p.run(t, 2*time.Minute, "pull", "-q", "--cert-dir", certs, "--creds", reg.User+":"+reg.Password, host+"/a:t2"); code != 0 {
		t.Fatalf("podman pull %s/a:t2: exit %d: %s", host, code, stderr)
	}
	out, stderr, code := p.run(t, time.Minute, "image", "inspect", "--format", "{{.Digest}}", host+"/a:t2")
	if code != 0 || strings.TrimSpace(out) != digest {
		t.Errorf("podman image inspect: exit %d, digest %q, want %s: %s", code, strings.TrimSpace(out), digest, stderr)
	}

	// A second image sharing layers, to another repository: every shared
	// layer is mounted from a, none uploaded.
	before = len(reg.Requests(t))
	stdout, stderr = u.mustGen(t, "base", "--distro", "debian:bookworm", "-o", host+"/b/c:v1", "-q")
	if stderr != "" {
		t.Errorf("gen -q printed on stderr:\n%s", stderr)
	}
	reqs = reg.Requests(t).Since(before)
	layersB := remoteLayers(t, reg, host+"/b/c:v1")
	var shared []string
	for _, l := range layersB {
		if slices.Contains(layersA, l) {
			shared = append(shared, l)
		}
	}
	if len(shared) < 2 {
		t.Fatalf("base shares %d layers with static (%v, %v); want the static and os-release layers", len(shared), layersA, layersB)
	}
	mounted := reqs.Mounts().Digests()
	for _, l := range shared {
		if !slices.Contains(mounted, l) {
			t.Errorf("shared layer %s not mounted (mounted %v)", l, mounted)
		}
	}
	for _, q := range reqs.Mounts() {
		if q.Repo() != "b/c" || q.Query.Get("from") != "a" {
			t.Errorf("mount %v: into %q from %q, want b/c from a", q, q.Repo(), q.Query.Get("from"))
		}
	}
	for _, d := range reqs.Uploads().Digests() {
		if slices.Contains(shared, d) {
			t.Errorf("shared layer %s uploaded again", d)
		}
	}
	if want := host + "/b/c@" + remoteDigest(t, reg, host+"/b/c:v1") + "\n"; stdout != want {
		t.Errorf("gen -q stdout %q, want %q", stdout, want)
	}

	// The same image again: none of its blobs uploaded (the provenance
	// records this other invocation, so its one blob is new); --json in a
	// pipe prints no progress on stderr, and names the pushed reference.
	before = len(reg.Requests(t))
	stdout, stderr = u.mustGen(t, append([]string{"static", "-o", host + "/a:t3", "--json"}, common...)...)
	imageBlobs = append(remoteLayers(t, reg, host+"/a:t3"), remoteConfig(t, reg, host+"/a:t3"))
	if up := reg.Requests(t).Since(before).Uploads(); len(up) > 1 {
		t.Errorf("pushing the same image again uploaded %v", up)
	} else {
		for _, d := range up.Digests() {
			if slices.Contains(imageBlobs, d) {
				t.Errorf("pushing the same image again uploaded its layer %s", d)
			}
		}
	}
	if strings.TrimSpace(stderr) != "" {
		t.Errorf("--json with stderr in a pipe printed on stderr:\n%s", stderr)
	}
	var res pipeline.GenResult
	if err := clitest.DecodeOne(stdout, &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if len(res.Pushed) != 1 || res.Pushed[0].Ref != host+"/a@"+digest || !slices.Equal(res.Pushed[0].Tags, []string{"t3"}) {
		t.Errorf("--json pushed %+v, want %s/a@%s with tag t3", res.Pushed, host, digest)
	}
}

// TestRegistryRootPodmanLogin logs in with podman as root without
// XDG_RUNTIME_DIR, which writes /run/containers/0/auth.json, and pushes
// with those credentials. It runs in a private mount namespace with a
// fresh /run/containers, so that the machine's is neither read nor
// changed.
func TestRegistryRootPodmanLogin(t *testing.T) {
	integration(t)
	if os.Geteuid() != 0 {
		t.Fatal("needs root: podman as root keeps its login in /run/containers/0/auth.json")
	}
	reg := registrytest.Start(t, registrytest.Options{})
	u := newUserEnv(t)
	certs, err := reg.CertDir(filepath.Join(u.home, ".config", "containers", "certs.d", reg.Host))
	if err != nil {
		t.Fatal(err)
	}
	p := newPodman(t)
	script := `set -e
mkdir -p /run/containers
mount -t tmpfs tmpfs /run/containers
"$PODMAN" --root "$STORE/root" --runroot "$STORE/runroot" --runtime runc login --cert-dir "$CERTS" -u "$REG_USER" --password-stdin "$HOST" >&2
test -f /run/containers/0/auth.json || { echo "podman did not write /run/containers/0/auth.json" >&2; exit 1; }
"$BIN" gen static --distro debian:bookworm -q -o "$HOST/root:t" --cache-dir "$CACHE"
`
	var env []string
	for _, kv := range u.env() {
		if !strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	cmd.Env = append(env, "PODMAN="+p.bin, "STORE="+p.dir, "CERTS="+certs, "REG_USER="+reg.User, "HOST="+reg.Host,
		"BIN="+testBin, "CACHE="+testCache, "CONTAINERS_CONF="+p.conf)
	cmd.Stdin = strings.NewReader(reg.Password)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("podman login as root, then gen: %v\n%s", err, clitest.Tail(errb.String(), 20))
	}
	if got, want := strings.TrimSpace(out.String()), reg.Host+"/root@"+remoteDigest(t, reg, reg.Host+"/root:t"); got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
}

// TestRegistryInsecure pushes to a plain-HTTP registry on a loopback
// address other than 127.0.0.1 (which registry clients do not treat as
// local): refused over HTTPS by default, accepted with --insecure or with
// registries.conf's insecure = true; a registries.conf blocking the
// registry refuses it before building.
func TestRegistryInsecure(t *testing.T) {
	integration(t)
	reg := registrytest.Start(t, registrytest.Options{IP: "127.0.0.2", PlainHTTP: true, NoAuth: true})
	common := []string{"static", "--distro", "debian:bookworm", "-q"}
	u := newUserEnv(t)
	_, stderr, code := u.run(t, append([]string{"gen", "-o", reg.Host + "/i:t"}, common...)...)
	if code != 1 || !strings.Contains(stderr, "pushing "+reg.Host+"/i:t") || !strings.Contains(stderr, "plain HTTP: allow it with --insecure") {
		t.Fatalf("plain-HTTP push without --insecure: exit %d, want 1 naming the push and --insecure:\n%s", code, clitest.Tail(stderr, 5))
	}
	stdout, _ := u.mustGen(t, append([]string{"-o", reg.Host + "/i:t", "--insecure"}, common...)...)
	if !strings.HasPrefix(stdout, reg.Host+"/i@sha256:") {
		t.Errorf("--insecure push printed %q", stdout)
	}

	conf := filepath.Join(t.TempDir(), "registries.conf")
	write := func(s string) {
		if err := os.WriteFile(conf, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("[[registry]]\nlocation = \"" + reg.Host + "\"\ninsecure = true\n")
	u = newUserEnv(t, "CONTAINERS_REGISTRIES_CONF="+conf)
	before := len(reg.Requests(t))
	stdout, _ = u.mustGen(t, append([]string{"-o", reg.Host + "/j:t"}, common...)...)
	tagPuts := 0
	for _, q := range reg.Requests(t).Since(before).ManifestPuts() {
		if strings.HasSuffix(q.Path, "/manifests/t") {
			tagPuts++
		}
	}
	if !strings.HasPrefix(stdout, reg.Host+"/j@sha256:") || tagPuts != 1 {
		t.Errorf("push allowed by registries.conf printed %q", stdout)
	}

	write("[[registry]]\nprefix = \"" + reg.Host + "/blocked\"\nlocation = \"" + reg.Host + "\"\nblocked = true\n")
	_, stderr, code = u.run(t, append([]string{"gen", "-o", reg.Host + "/blocked/x:t"}, common...)...)
	if code != 2 || !strings.Contains(stderr, conf) || !strings.Contains(stderr, "blocks") {
		t.Errorf("push to a blocked prefix: exit %d, want 2 naming %s:\n%s", code, conf, clitest.Tail(stderr, 5))
	}

	write("[[registry]\nlocation = 1\n")
	_, stderr, code = u.run(t, append([]string{"gen", "-o", reg.Host + "/k:t"}, common...)...)
	if code == 0 || !strings.Contains(stderr, conf) {
		t.Errorf("a malformed registries.conf: exit %d, want an error naming %s:\n%s", code, conf, clitest.Tail(stderr, 5))
	}
}

// TestRegistryClientCert pushes to a registry that requires a client
// certificate: refused without one, accepted with the one --cert-dir
// holds (client.cert and client.key beside ca.crt).
func TestRegistryClientCert(t *testing.T) {
	integration(t)
	reg := registrytest.Start(t, registrytest.Options{ClientCerts: true, NoAuth: true})
	u := newUserEnv(t)
	common := []string{"gen", "static", "--distro", "debian:bookworm", "-q", "-o", reg.Host + "/m:t"}
	caOnly := t.TempDir()
	if err := os.WriteFile(filepath.Join(caOnly, "ca.crt"), reg.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := u.run(t, append(common, "--cert-dir", caOnly)...); code != 1 || !strings.Contains(stderr, "pushing "+reg.Host) {
		t.Errorf("push without a client certificate: exit %d, want 1:\n%s", code, clitest.Tail(stderr, 5))
	}
	dir, err := reg.CertDir(filepath.Join(t.TempDir(), "certs"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := u.run(t, append(common, "--cert-dir", dir)...)
	if code != 0 || !strings.HasPrefix(stdout, reg.Host+"/m@sha256:") {
		t.Errorf("push with the client certificate: exit %d, stdout %q:\n%s", code, stdout, clitest.Tail(stderr, 5))
	}
}

// TestVersionFlag: --version prints the tool's name, module version and
// Go version, and exits 0.
func TestVersionFlag(t *testing.T) {
	stdout, stderr, code := cli(t, "--version")
	if code != 0 || !strings.HasPrefix(stdout, "distroless ") || !strings.Contains(stdout, "go1.") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
