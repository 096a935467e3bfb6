package distroless

// Integration tests of gen: real binary, real flags, the real Debian
// archive (through the host's apt sources), and the images checked with
// the tools people run them with: podman (run, load), skopeo (inspect).
// scripts/test.sh installs podman, runc and skopeo; a test fails, rather
// than skips, when one is missing.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/pipeline"
)

// The check run inside the Python images (see the script's docstring).
const checkScript = "testdata/python/check_stdlib.py"

// The least number of modules the check must have imported: a walk that
// silently found nothing must not pass (3.11 and 3.13 import 600+).
const minStdlibModules = 500

// ---- images built once per test run, shared by the tests below ----

// sharedImage is one gen, run at most once per test run.
type sharedImage struct {
	once   sync.Once
	name   string
	args   []string
	dir    string // the OCI layout
	tag    string
	res    pipeline.GenResult
	stderr string
	err    error
}

var (
	py311Image  = &sharedImage{name: "python3.11-bookworm", tag: "py", args: []string{"python3.11", "--distro", "debian:bookworm"}}
	py3Image    = &sharedImage{name: "python3-trixie", tag: "py", args: []string{"python3", "--distro", "debian:trixie"}}
	ccImage     = &sharedImage{name: "cc-bookworm", tag: "cc", args: []string{"cc", "--distro", "debian:bookworm"}}
	py311Root   = &sharedImage{name: "python3.11-bookworm-root", tag: "root", args: []string{"python3.11", "--distro", "debian:bookworm", "--user", "root"}}
	sharedMu    sync.Mutex
	sharedRoot  string
	sharedRootE error
)

// sharedDir is where shared outputs go: next to the package's download
// cache, in the directory TestMain removes when the run ends.
func sharedDir() (string, error) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedRoot == "" && sharedRootE == nil {
		sharedRoot = filepath.Join(filepath.Dir(testCache), "gen-integration")
		sharedRootE = os.MkdirAll(sharedRoot, 0o755)
	}
	return sharedRoot, sharedRootE
}

// get builds the image (once) with --json and the shared cache, and
// returns it; a failed build fails every test that needs it.
func (s *sharedImage) get(t *testing.T) *sharedImage {
	t.Helper()
	s.once.Do(func() {
		root, err := sharedDir()
		if err != nil {
			s.err = err
			return
		}
		s.dir = filepath.Join(root, s.name)
		args := append([]string{"gen"}, s.args...)
		// --attach: the tests read the SBOM and provenance referrers of
		// these layouts.
		args = append(args, "--cache-dir", testCache, "-o", "oci:"+s.dir+":"+s.tag, "--json", "--attach")
		start := time.Now()
		stdout, stderr, code, err := runBin("", args...)
		s.stderr = stderr
		switch {
		case err != nil:
			s.err = err
		case code != 0:
			s.err = fmt.Errorf("distroless %s: exit %d\n%s", strings.Join(args, " "), code, clitest.Tail(stderr, 40))
		default:
			if err := clitest.DecodeOne(stdout, &s.res); err != nil {
				s.err = fmt.Errorf("--json output: %v\n%s", err, stdout)
			}
		}
		t.Logf("gen %s: %v", strings.Join(s.args, " "), time.Since(start).Round(time.Millisecond))
	})
	if s.err != nil {
		t.Fatalf("building %s: %v", s.name, s.err)
	}
	return s
}

func (s *sharedImage) ref() string { return "oci:" + s.dir + ":" + s.tag }

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// genDigest runs a plain gen and returns the digest it prints as the last
// line of stdout.
func genDigest(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := cli(t, append([]string{"gen"}, args...)...)
	if code != 0 {
		t.Fatalf("distroless gen %s: exit %d\n%s", strings.Join(args, " "), code, clitest.Tail(stderr, 40))
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	d := lines[len(lines)-1]
	if _, at, ok := strings.Cut(d, "@"); ok {
		d = at // a push prints REPO@DIGEST
	}
	if !digestRE.MatchString(d) {
		t.Fatalf("gen %s: last stdout line %q is not a digest", strings.Join(args, " "), d)
	}
	return d
}

// ---- podman and skopeo ----

// podmanStore is a podman with storage of its own, removed at the end of
// the test. crun cannot set rlimits on some machines (this one among
// them), so podman runs runc, with a containers.conf that sets none.
type podmanStore struct {
	bin, dir, conf string
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: scripts/test.sh installs what these tests need (%v)", name, err)
	}
	return p
}

func newPodman(t *testing.T) *podmanStore {
	t.Helper()
	bin := needTool(t, "podman")
	needTool(t, "runc")
	dir, err := os.MkdirTemp("", "distroless-podman-")
	if err != nil {
		t.Fatal(err)
	}
	p := &podmanStore{bin: bin, dir: dir, conf: filepath.Join(dir, "containers.conf")}
	if err := os.WriteFile(p.conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Containers (left by a run that timed out), then images, so that
		// no overlay mount stays behind; then the files. Rootless podman's
		// storage holds files of sub-UIDs: only its user namespace can
		// remove them.
		for _, args := range [][]string{{"rm", "--all", "--force"}, {"rmi", "--all", "--force"}} {
			if _, stderr, code := p.run(t, 2*time.Minute, args...); code != 0 {
				t.Logf("podman %s: exit %d: %s", strings.Join(args, " "), code, stderr)
			}
		}
		if os.Geteuid() != 0 {
			p.run(t, 2*time.Minute, "unshare", "rm", "-rf", filepath.Join(dir, "root"), filepath.Join(dir, "runroot"))
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing podman's test storage: %v", err)
		}
	})
	return p
}

// run runs podman with the store's global flags and returns stdout,
// stderr and the exit code (-1 when it could not run or timed out).
func (p *podmanStore) run(t *testing.T, timeout time.Duration, args ...string) (string, string, int) {
	t.Helper()
	global := []string{
		"--root", filepath.Join(p.dir, "root"),
		"--runroot", filepath.Join(p.dir, "runroot"),
		"--tmpdir", filepath.Join(p.dir, "tmp"),
		"--runtime", "runc",
		"--events-backend", "file",
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, append(global, args...)...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+p.conf)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return out.String(), errb.String() + "\n(timed out after " + timeout.String() + ")", -1
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	case err != nil:
		return out.String(), errb.String() + "\n" + err.Error(), -1
	}
	return out.String(), errb.String(), 0
}

var importedRE = regexp.MustCompile(`(?m)^imported (\d+) stdlib modules`)

// runCheck runs the check script in image (anything podman run takes) and
// asserts it passed; it returns the number of stdlib modules imported.
func (p *podmanStore) runCheck(t *testing.T, image string, runArgs ...string) int {
	t.Helper()
	script, err := os.ReadFile(checkScript)
	if err != nil {
		t.Fatal(err)
	}
	// The image has no shell: the script is python's -c program.
	args := append([]string{"run", "--rm", "--network=none"}, runArgs...)
	args = append(args, image, "-c", string(script))
	stdout, stderr, code := p.run(t, 5*time.Minute, args...)
	last := ""
	if lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n"); len(lines) > 0 {
		last = lines[len(lines)-1]
	}
	if code != 0 || last != "ALL OK" {
		t.Fatalf("check script in %s: exit %d, last line %q\nstdout:\n%s\nstderr:\n%s", image, code, last, stdout, clitest.Tail(stderr, 30))
	}
	m := importedRE.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("check script printed no module count:\n%s", stdout)
	}
	n, _ := strconv.Atoi(m[1])
	if n < minStdlibModules {
		t.Fatalf("check script imported only %d modules:\n%s", n, stdout)
	}
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "Python ") || strings.HasPrefix(line, "imported ") || strings.HasPrefix(line, "  ") {
			t.Log(line)
		}
	}
	return n
}

func skopeo(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := needTool(t, "skopeo")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out
}

// imageConfig is the part of an OCI image config the tests look at.
type imageConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Config       struct {
		User       string            `json:"User"`
		WorkingDir string            `json:"WorkingDir"`
		Entrypoint []string          `json:"Entrypoint"`
		Cmd        []string          `json:"Cmd"`
		Env        []string          `json:"Env"`
		Labels     map[string]string `json:"Labels"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

func inspectConfig(t *testing.T, ref string) imageConfig {
	t.Helper()
	var c imageConfig
	if err := json.Unmarshal(skopeo(t, "inspect", "--config", ref), &c); err != nil {
		t.Fatalf("skopeo inspect --config %s: %v", ref, err)
	}
	return c
}

// ---- the tests ----

// TestGenPythonRuns runs the check script in the bookworm python3.11 and
// trixie python3 images.
func TestGenPythonRuns(t *testing.T) {
	integration(t)
	p := newPodman(t)
	for _, tc := range []struct {
		img     *sharedImage
		profile string
	}{
		{py311Image, "python3.11"},
		{py3Image, "python3.13"},
	} {
		t.Run(tc.img.name, func(t *testing.T) {
			img := tc.img.get(t)
			if img.res.Profile != tc.profile {
				t.Fatalf("profile %s, want %s", img.res.Profile, tc.profile)
			}
			n := p.runCheck(t, img.ref())
			t.Logf("%s: %d stdlib modules imported", tc.profile, n)
		})
	}
}

// TestGenReproducible builds python3.11 twice, each time from an empty
// cache of its own: same digest, same layers, and the same as the shared
// build's.
func TestGenReproducible(t *testing.T) {
	integration(t)
	t.Parallel()
	dir := t.TempDir()
	var digests [2]string
	var layouts [2]*clitest.Image
	for i := range 2 {
		out := filepath.Join(dir, fmt.Sprintf("out%d", i))
		digests[i] = genDigest(t, "python3.11", "--distro", "debian:bookworm",
			"--cache-dir", filepath.Join(dir, fmt.Sprintf("cache%d", i)), "-o", "oci:"+out+":py")
		layouts[i] = clitest.ReadLayout(t, out, "py")
		if layouts[i].Desc.Digest != digests[i] {
			t.Errorf("build %d printed %s, its layout holds %s", i, digests[i], layouts[i].Desc.Digest)
		}
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds from two empty caches: %s and %s", digests[0], digests[1])
	}
	if a, b := layouts[0].LayerDigests(), layouts[1].LayerDigests(); !slices.Equal(a, b) {
		t.Errorf("layers differ:\n%s\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	if !bytes.Equal(layouts[0].Raw, layouts[1].Raw) {
		t.Errorf("manifests differ:\n%s\n%s", layouts[0].Raw, layouts[1].Raw)
	}
	if shared := py311Image.get(t); shared.res.Digest != digests[0] {
		t.Errorf("the shared cache's build has digest %s, the cold ones %s", shared.res.Digest, digests[0])
	}
}

// TestGenLayerSharing: python3.11 extends cc, so cc's package layers are
// python3.11's first layers, byte for byte (assemble/doc.go: "images of
// profiles that extend one another share their lower layers byte for
// byte"). The os-release layer is on top of each image; its content
// depends only on the distro, so on one distro it is the same layer too.
func TestGenLayerSharing(t *testing.T) {
	integration(t)
	cc, py := ccImage.get(t), py311Image.get(t)
	ccL, pyL := clitest.ReadLayout(t, cc.dir, cc.tag), clitest.ReadLayout(t, py.dir, py.tag)
	names := func(r pipeline.GenResult) []string {
		var n []string
		for _, l := range r.Layers {
			n = append(n, l.Name)
		}
		return n
	}
	if got, want := names(cc.res), []string{"static", "base", "cc", "os-release"}; !slices.Equal(got, want) {
		t.Fatalf("cc layers %v, want %v", got, want)
	}
	if got, want := names(py.res), []string{"static", "base", "cc", "python3.11", "os-release"}; !slices.Equal(got, want) {
		t.Fatalf("python3.11 layers %v, want %v", got, want)
	}
	for _, x := range []struct {
		r pipeline.GenResult
		l *clitest.Image
	}{{cc.res, ccL}, {py.res, pyL}} {
		var fromJSON []string
		for _, l := range x.r.Layers {
			fromJSON = append(fromJSON, l.Digest)
		}
		if !slices.Equal(fromJSON, x.l.LayerDigests()) {
			t.Errorf("%s: --json layers %v, manifest layers %v", x.r.Profile, fromJSON, x.l.LayerDigests())
		}
	}
	ccD, pyD := ccL.LayerDigests(), pyL.LayerDigests()
	pkgLayers := len(ccD) - 1 // all but os-release
	for i := range pkgLayers {
		if ccD[i] != pyD[i] {
			t.Errorf("layer %d (%s): cc has %s, python3.11 %s: not shared", i, cc.res.Layers[i].Name, ccD[i], pyD[i])
		}
	}
	if ccD[len(ccD)-1] != pyD[len(pyD)-1] {
		t.Errorf("os-release layer: cc has %s, python3.11 %s (same distro, same content)", ccD[len(ccD)-1], pyD[len(pyD)-1])
	}
}

// TestGenDockerArchive writes python3.11 as a docker-archive, loads it
// into podman and runs the check script in it.
func TestGenDockerArchive(t *testing.T) {
	integration(t)
	p := newPodman(t)
	shared := py311Image.get(t)
	file := filepath.Join(t.TempDir(), "py.tar")
	d := genDigest(t, "python3.11", "--distro", "debian:bookworm", "--cache-dir", testCache,
		"-o", "docker-archive:"+file+":distroless/test:py")
	if d != shared.res.Digest {
		t.Errorf("docker-archive output has digest %s, the OCI layout %s", d, shared.res.Digest)
	}
	stdout, stderr, code := p.run(t, 3*time.Minute, "load", "-i", file)
	if code != 0 {
		t.Fatalf("podman load: exit %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`(?m)^Loaded image(?:\(s\))?: *(\S+)`).FindStringSubmatch(stdout)
	if m == nil || !strings.HasSuffix(m[1], "distroless/test:py") {
		t.Fatalf("podman load did not name distroless/test:py:\n%s", stdout)
	}
	name := m[1]
	// The loaded image's ID is its config's digest: the same config as the
	// OCI layout's.
	id, stderr, code := p.run(t, time.Minute, "image", "inspect", "--format", "{{.Id}}", name)
	if l := clitest.ReadLayout(t, shared.dir, shared.tag); code != 0 || "sha256:"+strings.TrimSpace(id) != l.Manifest.Config.Digest {
		t.Errorf("podman image inspect %s: exit %d, id %q, want the config %s (%s)", name, code, strings.TrimSpace(id), l.Manifest.Config.Digest, stderr)
	}
	n := p.runCheck(t, name, "--pull=never")
	t.Logf("docker-archive python3.11: %d stdlib modules imported", n)
}

// TestGenSkopeoInspect reads the python3.11 image with skopeo.
func TestGenSkopeoInspect(t *testing.T) {
	integration(t)
	img := py311Image.get(t)
	l := clitest.ReadLayout(t, img.dir, img.tag)

	c := inspectConfig(t, img.ref())
	if c.Config.User != "65532:65532" || c.Config.WorkingDir != "/home/nonroot" {
		t.Errorf("user %q, workdir %q; want 65532:65532, /home/nonroot", c.Config.User, c.Config.WorkingDir)
	}
	if !slices.Equal(c.Config.Entrypoint, []string{"/usr/bin/python3.11"}) {
		t.Errorf("entrypoint %q", c.Config.Entrypoint)
	}
	if c.OS != "linux" || c.Architecture != "amd64" {
		t.Errorf("platform %s/%s", c.OS, c.Architecture)
	}
	for _, want := range []string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "LANG=C.UTF-8"} {
		if !slices.Contains(c.Config.Env, want) {
			t.Errorf("env %q lacks %s", c.Config.Env, want)
		}
	}
	if !slices.ContainsFunc(c.Config.Env, func(e string) bool { return strings.HasPrefix(e, "PATH=") && strings.Contains(e, "/usr/bin") }) {
		t.Errorf("env %q has no PATH with /usr/bin", c.Config.Env)
	}
	lb := c.Config.Labels
	if lb["org.opencontainers.image.title"] != "python3.11" || lb["org.opencontainers.image.base.name"] != "scratch" ||
		lb["org.opencontainers.image.version"] == "" || lb["org.opencontainers.image.revision"] == "" ||
		!strings.Contains(lb["org.opencontainers.image.description"], "debian:bookworm") {
		t.Errorf("labels %v", lb)
	}
	if _, err := time.Parse(time.RFC3339, lb["org.opencontainers.image.created"]); err != nil {
		t.Errorf("label org.opencontainers.image.created: %v", err)
	}
	if c.RootFS.Type != "layers" || len(c.RootFS.DiffIDs) != len(l.Manifest.Layers) {
		t.Errorf("rootfs %s with %d diff_ids, %d layers", c.RootFS.Type, len(c.RootFS.DiffIDs), len(l.Manifest.Layers))
	}

	var plain struct {
		Digest       string
		Architecture string
		Os           string
		Labels       map[string]string
		Layers       []string
	}
	if err := json.Unmarshal(skopeo(t, "inspect", img.ref()), &plain); err != nil {
		t.Fatal(err)
	}
	if plain.Digest != img.res.Digest || plain.Os != "linux" || plain.Architecture != "amd64" ||
		!slices.Equal(plain.Layers, l.LayerDigests()) || plain.Labels["org.opencontainers.image.title"] != "python3.11" {
		t.Errorf("skopeo inspect: %+v; want digest %s, layers %v", plain, img.res.Digest, l.LayerDigests())
	}

	raw := skopeo(t, "inspect", "--raw", img.ref())
	if sum := sha256.Sum256(raw); fmt.Sprintf("sha256:%x", sum) != img.res.Digest {
		t.Errorf("raw manifest's digest sha256:%x, gen printed %s", sum, img.res.Digest)
	}
	var m clitest.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != 2 || m.MediaType != "application/vnd.oci.image.manifest.v1+json" ||
		m.Config.MediaType != "application/vnd.oci.image.config.v1+json" {
		t.Errorf("manifest schemaVersion %d, mediaType %q, config %q", m.SchemaVersion, m.MediaType, m.Config.MediaType)
	}
	for _, ly := range m.Layers {
		if ly.MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
			t.Errorf("layer %s: media type %q", ly.Digest, ly.MediaType)
		}
	}
	if m.Annotations["org.opencontainers.image.title"] != "python3.11" {
		t.Errorf("manifest annotations %v", m.Annotations)
	}
	if d := l.Desc; d.MediaType != m.MediaType || d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture != "amd64" {
		t.Errorf("index.json descriptor %+v", d)
	}
}

// TestGenUserRoot: --user root makes a 0:0 image whose process runs as
// root.
func TestGenUserRoot(t *testing.T) {
	integration(t)
	p := newPodman(t)
	img := py311Root.get(t)
	c := inspectConfig(t, img.ref())
	if c.Config.User != "0:0" {
		t.Errorf("--user root: config user %q", c.Config.User)
	}
	if c.Config.WorkingDir != "/" {
		t.Errorf("--user root: workdir %q", c.Config.WorkingDir)
	}
	p.runCheck(t, img.ref(), "-e", "CHECK_UID=0")
}

// TestGenJSON: gen --json prints one JSON object describing what the OCI
// layout holds.
func TestGenJSON(t *testing.T) {
	integration(t)
	img := py311Image.get(t) // built with --json, decoded strictly
	r := img.res
	l := clitest.ReadLayout(t, img.dir, img.tag)
	if r.Digest != l.Desc.Digest {
		t.Errorf("--json digest %s, layout manifest %s", r.Digest, l.Desc.Digest)
	}
	if r.Profile != "python3.11" || r.Distro != "debian:bookworm" || r.Arch != "amd64" || r.Output != img.ref() {
		t.Errorf("--json: profile %q distro %q arch %q output %q", r.Profile, r.Distro, r.Arch, r.Output)
	}
	for _, want := range []string{"python3.11-minimal=", "libpython3.11-stdlib=", "libc6=", "ca-certificates="} {
		if !slices.ContainsFunc(r.Packages, func(p string) bool { return strings.HasPrefix(p, want) }) {
			t.Errorf("--json packages lack %s…: %v", want, r.Packages)
		}
	}
	if !slices.IsSorted(r.Packages) {
		t.Errorf("--json packages not sorted: %v", r.Packages)
	}
	var compressed, size int64
	for i, ly := range r.Layers {
		if i < len(l.Manifest.Layers) && ly.CompressedSize != l.Manifest.Layers[i].Size {
			t.Errorf("layer %s: compressed_size %d, blob %d", ly.Name, ly.CompressedSize, l.Manifest.Layers[i].Size)
		}
		compressed += ly.CompressedSize
		size += ly.Size
	}
	if r.ImageSize != compressed || r.Size < 30e6 || size != r.Size || r.Download < 10e6 {
		t.Errorf("--json sizes: size %d (layers %d), image_size %d (layers %d), download %d", r.Size, size, r.ImageSize, compressed, r.Download)
	}
}

// TestGenLockfile: a lockfile rebuilds the same image from an empty cache;
// a lockfile pinning a sha256 the archive no longer has fails and leaves
// the earlier output alone.
func TestGenLockfile(t *testing.T) {
	integration(t)
	t.Parallel()
	dir := t.TempDir()
	lock := filepath.Join(dir, "python.lock")
	outA, outB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	d1 := genDigest(t, "python3.11", "--distro", "debian:bookworm", "--cache-dir", testCache, "--lock", lock, "-o", "oci:"+outA+":py")
	l, err := pipeline.ReadLock(lock)
	if err != nil {
		t.Fatalf("gen --lock did not write the lockfile: %v", err)
	}
	if l.Profile != "python3.11" || l.Distro != "debian:bookworm" || len(l.Packages) < 20 {
		t.Fatalf("lock: %s on %s, %d packages", l.Profile, l.Distro, len(l.Packages))
	}
	lockBytes, _ := os.ReadFile(lock)
	d2 := genDigest(t, "python3.11", "--distro", "debian:bookworm", "--cache-dir", filepath.Join(dir, "fresh-cache"), "--lock", lock, "-o", "oci:"+outB+":py")
	if d1 != d2 {
		t.Errorf("first build %s, rebuild from the lockfile and an empty cache %s", d1, d2)
	}
	if after, _ := os.ReadFile(lock); !bytes.Equal(after, lockBytes) {
		t.Error("gen --lock with an existing lockfile rewrote it")
	}

	// One pinned sha256 altered.
	var raw map[string]any
	if err := json.Unmarshal(lockBytes, &raw); err != nil {
		t.Fatal(err)
	}
	var pinned, bad string
	for _, p := range raw["packages"].([]any) {
		p := p.(map[string]any)
		if p["name"] == "python3.11-minimal" {
			sum := p["sha256"].(string)
			flip := "0"
			if sum[63] == '0' {
				flip = "1"
			}
			bad = sum[:63] + flip
			p["sha256"], pinned = bad, p["name"].(string)
		}
	}
	if pinned == "" {
		t.Fatal("the lockfile pins no python3.11-minimal")
	}
	badLock := filepath.Join(dir, "bad.lock")
	b, _ := json.MarshalIndent(raw, "", "  ")
	if err := os.WriteFile(badLock, b, 0o644); err != nil {
		t.Fatal(err)
	}
	indexBefore, err := os.ReadFile(filepath.Join(outB, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	entriesBefore := dirList(t, dir)
	// Both with the cache holding the real file (which must not be taken
	// for the pinned one) and with an empty cache (a download).
	for _, cache := range []string{testCache, filepath.Join(dir, "empty-cache")} {
		stdout, stderr, code := cli(t, "gen", "python3.11", "--distro", "debian:bookworm", "--cache-dir", cache, "--lock", badLock, "-o", "oci:"+outB+":py")
		if code == 0 {
			t.Fatalf("gen with an altered sha256 succeeded: %s", stdout)
		}
		for _, want := range []string{"pinned by " + badLock, "can no longer be fetched with its sha256", pinned, bad} {
			if !strings.Contains(stderr, want) {
				t.Errorf("altered sha256 (cache %s): stderr lacks %q:\n%s", filepath.Base(cache), want, clitest.Tail(stderr, 5))
			}
		}
		if strings.TrimSpace(stdout) != "" {
			t.Errorf("failed gen printed %q", stdout)
		}
		if after, err := os.ReadFile(filepath.Join(outB, "index.json")); err != nil || !bytes.Equal(after, indexBefore) {
			t.Errorf("the failed gen changed %s/index.json (%v)", outB, err)
		}
	}
	if after := dirList(t, dir); !slices.Equal(after, entriesBefore) {
		t.Errorf("the failed gens left entries: before %v, after %v", entriesBefore, after)
	}
	clitest.ReadLayout(t, outB, "py") // still whole
}

// dirList lists dir's entries but the caches.
func dirList(t *testing.T, dir string) []string {
	t.Helper()
	return slices.DeleteFunc(entryNames(t, dir), func(n string) bool { return strings.Contains(n, "cache") })
}

// TestGenBadInput: outputs and users gen does not understand are usage
// errors (exit 2) with a message saying what is wrong, and nothing is
// written. Hermetic (offline, a cold cache of its own: nothing is read
// before the usage is checked), so it runs under -short too.
func TestGenBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"no transport", []string{"-o", "nonsense:thing"}, []string{`output "nonsense:thing"`, "oci:DIR", "docker-archive:FILE"}},
		{"bare name", []string{"-o", "justafile"}, []string{`output "justafile"`, "REGISTRY/REPO:TAG"}},
		{"oci without dir", []string{"-o", "oci:"}, []string{`output "oci:"`, "no directory"}},
		{"archive without file", []string{"-o", "docker-archive:"}, []string{`output "docker-archive:"`, "no file"}},
		{"archive bad name", []string{"-o", "docker-archive:out.tar:Not A Name"}, []string{`output "docker-archive:out.tar:Not A Name"`}},
		{"user word", []string{"--user", "bogus", "-o", "oci:out"}, []string{`--user "bogus"`, "nonroot, root, a numeric UID or NAME:UID[:GID]"}},
		{"user negative", []string{"--user=-5", "-o", "oci:out"}, []string{`--user "-5"`}},
		{"user too big", []string{"--user", "4294967296", "-o", "oci:out"}, []string{`--user "4294967296"`}},
		{"user pair", []string{"--user", "1000:1000", "-o", "oci:out"}, []string{`--user "1000:1000"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cache := filepath.Join(t.TempDir(), "cache")
			args := append([]string{"gen", "static", "--distro", "debian:bookworm", "--offline", "--cache-dir", cache}, tc.args...)
			stdout, stderr, code, err := runBin(dir, args...)
			if err != nil {
				t.Fatal(err)
			}
			if code != 2 { // a usage error
				t.Fatalf("exit %d, want 2; stdout %q", code, stdout)
			}
			last := clitest.Tail(stderr, 1)
			for _, w := range tc.want {
				if !strings.Contains(last, w) {
					t.Errorf("error %q lacks %q", last, w)
				}
			}
			if !strings.HasPrefix(last, "distroless: ") {
				t.Errorf("error line %q", last)
			}
			if strings.TrimSpace(stdout) != "" {
				t.Errorf("stdout %q", stdout)
			}
			for _, d := range []string{dir, cache} {
				ents, err := os.ReadDir(d)
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					t.Fatal(err)
				}
				if len(ents) != 0 {
					var n []string
					for _, e := range ents {
						n = append(n, e.Name())
					}
					t.Errorf("wrote %v in %s", n, d)
				}
			}
		})
	}
}
