package distroless

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/internal/registrytest"
	"github.com/distroless-dev/distroless/lockfile"
)

// releaseEnv runs the binary against a test registry: its CA trusted
// (added to the system's through SSL_CERT_DIR), its credentials in a
// docker config.
type releaseEnv struct {
	reg *registrytest.Registry
	env []string
	dir string
}

func newReleaseEnv(t *testing.T) *releaseEnv {
	t.Helper()
	reg := registrytest.Start(t, registrytest.Options{})
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	if err := os.MkdirAll(certs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(certs, "registry-ca.pem"), reg.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := reg.WriteAuthFile(filepath.Join(dir, "docker", "config.json")); err != nil {
		t.Fatal(err)
	}
	return &releaseEnv{reg: reg, dir: dir, env: []string{
		"SSL_CERT_DIR=" + certs, "DOCKER_CONFIG=" + filepath.Join(dir, "docker"),
		"REGISTRY_AUTH_FILE=" + filepath.Join(dir, "docker", "config.json"),
		"DISTROLESS_CACHE_DIR=" + testCache,
	}}
}

// run runs the binary in the release's directory and returns stdout,
// stderr and the exit status.
func (e *releaseEnv) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	r := clitest.Run(t, testBin, clitest.Cmd{Dir: e.dir, Env: e.env, Timeout: 20 * time.Minute}, args...)
	return r.Stdout, r.Stderr, r.Code
}

func (e *releaseEnv) release(t *testing.T, args ...string) *ReleaseResult {
	t.Helper()
	stdout, stderr, code := e.run(t, append([]string{"release", "release.yaml", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("release %v: exit %d\n%s", args, code, clitest.Tail(stderr, 40))
	}
	var res ReleaseResult
	if err := clitest.DecodeOne(stdout, &res); err != nil {
		t.Fatalf("release --json: %v\n%s", err, stdout)
	}
	return &res
}

// images is res's images, failing t unless there are n: a loop over
// them must not check nothing.
func images(t *testing.T, res *ReleaseResult, n int) []ReleasedImage {
	t.Helper()
	if len(res.Images) != n {
		t.Fatalf("release: %d images, want %d: %+v", len(res.Images), n, res.Images)
	}
	return res.Images
}

// head is the digest a tag holds in the test registry.
func (e *releaseEnv) head(t *testing.T, tag string) string {
	t.Helper()
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref, remote.WithTransport(e.reg.Transport()),
		remote.WithAuth(&authn.Basic{Username: e.reg.User, Password: e.reg.Password}))
	if err != nil {
		t.Fatalf("HEAD %s: %v", tag, err)
	}
	return desc.Digest.String()
}

// TestReleaseRegistry: a release of python3 (root and nonroot) and static
// (plain and debug, amd64 and arm64 in one index) against the real
// distribution registry with TLS and basic auth: --dry-run pushes
// nothing; the release pushes every image with all its tags, each the
// digest gen gives the same image; a second release uploads no blob and
// stores no manifest; a tag moved elsewhere is put back with no blob
// upload; podman pulls and runs the pushed images; lock update finds
// nothing to do (exit 0), then reports a package it must move (exit 3).
func TestReleaseRegistry(t *testing.T) {
	integration(t)
	e := newReleaseEnv(t)
	host := e.reg.Host
	release := `registry: ` + host + `/distroless
distros: [debian:trixie]
images:
  - profile: python3
    users: [root, nonroot]
  - profile: static
    platforms: [linux/amd64, linux/arm64]
    debug: [false, true]
    tags: ["{registry}/{name}-{distro}:{variant}", "{registry}/{name}:{variant}-{codename}"]
`
	if err := os.WriteFile(filepath.Join(e.dir, "release.yaml"), []byte(release), 0o644); err != nil {
		t.Fatal(err)
	}
	lockPath := filepath.Join(e.dir, "release.lock.json")

	// Dry run: everything would be pushed; nothing is, no lockfile.
	before := len(e.reg.Requests(t))
	dry := e.release(t, "--dry-run")
	if len(dry.Images) != 4 {
		t.Fatalf("dry run: %d images, want 4: %+v", len(dry.Images), dry.Images)
	}
	for _, im := range dry.Images {
		if im.Status != "would push" || len(im.Pushed) != len(im.Tags) || !digestRE.MatchString(im.Digest) {
			t.Errorf("dry run: %s %s: status %q, pushed %v of %v, digest %q", im.Name, im.Variant, im.Status, im.Pushed, im.Tags, im.Digest)
		}
	}
	reqs := e.reg.Requests(t).Since(before)
	if n, m := len(reqs.Uploads()), len(reqs.ManifestPuts()); n+m != 0 {
		t.Errorf("dry run uploaded %d blobs and %d manifests", n, m)
	}
	if _, err := os.Stat(lockPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dry run wrote the lockfile (%v)", err)
	}

	// The release: every tag pushed, each holding the image's digest.
	res := e.release(t)
	want := map[string]string{ // tag → variant
		host + "/distroless/python3-debian13:latest":       "latest",
		host + "/distroless/python3-debian13:nonroot":      "nonroot",
		host + "/distroless/static-debian13:nonroot":       "nonroot",
		host + "/distroless/static:nonroot-trixie":         "nonroot",
		host + "/distroless/static-debian13:debug-nonroot": "debug-nonroot",
		host + "/distroless/static:debug-nonroot-trixie":   "debug-nonroot",
	}
	digests := map[string]string{} // name/variant → digest
	tags := 0
	for _, im := range images(t, res, 4) {
		if im.Status != "pushed" || !im.Built {
			t.Errorf("%s %s: status %q, built %v", im.Name, im.Variant, im.Status, im.Built)
		}
		digests[im.Name+"/"+im.Variant] = im.Digest
		for _, tag := range im.Tags {
			tags++
			if want[tag] != im.Variant {
				t.Errorf("tag %s of %s %s not expected", tag, im.Name, im.Variant)
			}
			if got := e.head(t, tag); got != im.Digest {
				t.Errorf("%s holds %s, the release said %s", tag, got, im.Digest)
			}
		}
	}
	if tags != len(want) {
		t.Errorf("%d tags pushed, want %d", tags, len(want))
	}
	if digests["python3/latest"] == digests["python3/nonroot"] {
		t.Error("root and nonroot python3 have one digest")
	}
	set, err := lockfile.ReadSet(lockPath)
	if err != nil {
		t.Fatalf("the release's lockfile: %v", err)
	}
	var keys []string
	for _, l := range set.Locks {
		keys = append(keys, l.Key())
	}
	if strings.Join(keys, ",") != "python3 debian:trixie amd64,static debian:trixie amd64,static debian:trixie arm64,static-debug debian:trixie amd64,static-debug debian:trixie arm64" {
		t.Errorf("lockfile keys %v", keys)
	}

	// The same image as gen makes: python3 as root, from the release's lock.
	pyLock := filepath.Join(e.dir, "py.lock")
	if err := lockfile.Write(pyLock, set.Find("python3 debian:trixie amd64")); err != nil {
		t.Fatal(err)
	}
	if d := genDigest(t, "python3", "--distro", "debian:trixie", "--user", "root", "--lock", pyLock, "--cache-dir", testCache,
		"-o", "oci:"+filepath.Join(e.dir, "gen")+":py"); d != digests["python3/latest"] {
		t.Errorf("gen python3 --user root gives %s, the release pushed %s", d, digests["python3/latest"])
	}

	// The multi-platform static image is an index of amd64 and arm64.
	idx, err := remote.Index(mustTag(t, host+"/distroless/static-debian13:nonroot"), remote.WithTransport(e.reg.Transport()),
		remote.WithAuth(&authn.Basic{Username: e.reg.User, Password: e.reg.Password}))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, m := range im.Manifests {
		plats = append(plats, m.Platform.OS+"/"+m.Platform.Architecture)
	}
	if strings.Join(plats, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("static index platforms %v", plats)
	}

	// Each platform image has its SBOM and its provenance beside it, of
	// its own digest (the root and nonroot python3 each theirs), listed
	// under the referrers tag schema's fallback tag (the registry has no
	// referrers API).
	subjects := map[string]string{ // image digest → repository
		digests["python3/latest"]:  "distroless/python3-debian13",
		digests["python3/nonroot"]: "distroless/python3-debian13",
	}
	for _, m := range im.Manifests {
		subjects[m.Digest.String()] = "distroless/static-debian13"
	}
	for d, repo := range subjects {
		e.checkReferrers(t, host+"/"+repo, d)
	}

	// Again: nothing built, nothing uploaded, no manifest stored.
	before = len(e.reg.Requests(t))
	again := e.release(t)
	reqs = e.reg.Requests(t).Since(before)
	if n, m := len(reqs.Uploads()), len(reqs.ManifestPuts()); n+m != 0 {
		t.Errorf("a release with nothing changed uploaded %d blobs and %d manifests", n, m)
	}
	for _, im := range images(t, again, 4) {
		if im.Status != "unchanged" || im.Built || im.Digest != digests[im.Name+"/"+im.Variant] || len(im.Pushed) != 0 {
			t.Errorf("second release: %s %s: status %q, built %v, digest %s, pushed %v", im.Name, im.Variant, im.Status, im.Built, im.Digest, im.Pushed)
		}
	}

	// A tag moved to another image is put back, without a blob upload:
	// the image is built again and its SBOM and provenance are the same
	// bytes as the first release's (else they would be stored again,
	// under both tags of the repository), so one manifest is stored.
	moved := host + "/distroless/python3-debian13:latest"
	src, err := remote.Get(mustTag(t, host+"/distroless/python3-debian13:nonroot"), remote.WithTransport(e.reg.Transport()),
		remote.WithAuth(&authn.Basic{Username: e.reg.User, Password: e.reg.Password}))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Tag(mustTag(t, moved), src, remote.WithTransport(e.reg.Transport()),
		remote.WithAuth(&authn.Basic{Username: e.reg.User, Password: e.reg.Password})); err != nil {
		t.Fatal(err)
	}
	before = len(e.reg.Requests(t))
	stdout, stderr, code := e.run(t, "release", "release.yaml")
	if code != 0 {
		t.Fatalf("release after moving a tag: exit %d\n%s", code, clitest.Tail(stderr, 30))
	}
	reqs = e.reg.Requests(t).Since(before)
	if n, m := len(reqs.Uploads()), reqs.ManifestPuts(); n != 0 || len(m) != 1 || m[0].Repo() != "distroless/python3-debian13" {
		t.Errorf("putting back one tag: %d blob uploads, manifest puts %v", n, m)
	}
	if got := e.head(t, moved); got != digests["python3/latest"] {
		t.Errorf("%s holds %s after the release, want %s", moved, got, digests["python3/latest"])
	}
	row := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(moved) + ` +` + digests["python3/latest"] + ` +pushed$`)
	for _, im := range images(t, e.release(t, "--dry-run"), 4) {
		if im.Status != "unchanged" {
			t.Errorf("dry run after putting the tag back: %s %s %s", im.Name, im.Variant, im.Status)
		}
	}
	if !row.MatchString(stdout) || len(regexp.MustCompile(`(?m)sha256:[0-9a-f]{64} +unchanged$`).FindAllString(stdout, -1)) != 5 || !strings.Contains(stdout, "# 4 images: 1 pushed, 3 unchanged") {
		t.Errorf("release table:\n%s", stdout)
	}

	// podman pulls the pushed images and runs them as their users.
	p := newPodman(t)
	certDir, err := e.reg.CertDir(filepath.Join(e.dir, "podman-certs"))
	if err != nil {
		t.Fatal(err)
	}
	for tag, uid := range map[string]string{host + "/distroless/python3-debian13:latest": "0", host + "/distroless/python3-debian13:nonroot": "65532"} {
		if out, errs, code := p.run(t, 5*time.Minute, "pull", "--cert-dir", certDir, "--creds", e.reg.User+":"+e.reg.Password, tag); code != 0 {
			t.Fatalf("podman pull %s: exit %d\n%s\n%s", tag, code, out, errs)
		}
		out, errs, code := p.run(t, 2*time.Minute, "run", "--rm", "--network=none", tag, "-c", "import os, ssl; print(os.getuid(), ssl.OPENSSL_VERSION.split()[0])")
		if code != 0 || strings.TrimSpace(out) != uid+" OpenSSL" {
			t.Errorf("podman run %s: exit %d, %q\n%s", tag, code, out, errs)
		}
	}

	// lock update: nothing moved since the release resolved.
	stdout, stderr, code = e.run(t, "lock", "update", "--release", "release.yaml")
	if code != 0 || strings.Count(stdout, ": unchanged") != 5 {
		t.Fatalf("lock update right after the release: exit %d\n%s\n%s", code, stdout, clitest.Tail(stderr, 20))
	}
	// A package locked at another version is moved, said, and written.
	for _, l := range set.Locks {
		for i := range l.Packages {
			if l.Packages[i].Name == "tzdata" {
				l.Packages[i].Version += "~old"
			}
		}
	}
	if err := lockfile.WriteSet(lockPath, set); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = e.run(t, "lock", "update", "--release", "release.yaml")
	updated := stdout
	if code != 3 || strings.Count(stdout, "tzdata ") != 5 || !strings.Contains(stdout, "~old → ") || !strings.Contains(stderr, "wrote ") {
		t.Fatalf("lock update with tzdata moved: exit %d (want 3)\n%s\n%s", code, stdout, clitest.Tail(stderr, 20))
	}
	if stdout, _, code = e.run(t, "lock", "update", "--release", "release.yaml"); code != 0 {
		t.Errorf("lock update after writing: exit %d\n%s", code, stdout)
	}
	// The lockfile is back to what the images were built from: the
	// release has nothing to push.
	for _, im := range images(t, e.release(t), 4) {
		if im.Status != "unchanged" {
			t.Errorf("release after lock update: %s %s %s: %s, the first release %s; the lock update said:\n%s",
				im.Name, im.Variant, im.Status, im.Digest, digests[im.Name+"/"+im.Variant], updated)
		}
	}

	// Without valid credentials the release fails naming the tag it
	// asked about, and pushes nothing.
	if err := os.WriteFile(filepath.Join(e.dir, "docker", "config.json"), []byte(`{"auths":{"`+host+`":{"auth":"ZGlzdHJvbGVzczp3cm9uZw=="}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	before = len(e.reg.Requests(t))
	_, stderr, code = e.run(t, "release", "release.yaml")
	if code != 1 || !strings.Contains(stderr, host+"/distroless/python3-debian13:latest") || !strings.Contains(stderr, "401") && !strings.Contains(strings.ToLower(stderr), "unauthorized") {
		t.Errorf("release with a wrong password: exit %d\n%s", code, clitest.Tail(stderr, 10))
	}
	if n := len(e.reg.Requests(t).Since(before).ManifestPuts()); n != 0 {
		t.Errorf("release with a wrong password stored %d manifests", n)
	}
}

// checkReferrers checks that the image digest of repo has exactly two
// referrers, listed in the fallback tag's index: an SPDX SBOM and an
// in-toto SLSA provenance statement, each naming the image's digest.
func (e *releaseEnv) checkReferrers(t *testing.T, repo, digest string) {
	t.Helper()
	opts := []remote.Option{remote.WithTransport(e.reg.Transport()), remote.WithAuth(&authn.Basic{Username: e.reg.User, Password: e.reg.Password})}
	h, err := v1.NewHash(digest)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r.Tag(attest.FallbackTag(h, "")), opts...)
	if err != nil {
		t.Fatalf("%s@%s: the referrers fallback tag: %v", repo, digest, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{} // artifact type → referrer digest
	for _, m := range im.Manifests {
		types[m.ArtifactType] = m.Digest.String()
	}
	if len(im.Manifests) != 2 || types["application/spdx+json"] == "" || types[attest.InTotoMediaType] == "" {
		t.Fatalf("%s@%s: referrers %+v, want an SPDX SBOM and a provenance", repo, digest, im.Manifests)
	}
	for typ, d := range types {
		img, err := remote.Image(r.Digest(d), opts...)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject == nil || m.Subject.Digest != h {
			t.Errorf("%s referrer %s: subject %+v, want %s", typ, d, m.Subject, digest)
		}
		ls, err := img.Layers()
		if err != nil || len(ls) != 1 {
			t.Fatalf("%s referrer %s: %d layers, %v", typ, d, len(ls), err)
		}
		rc, err := ls[0].Compressed()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte(h.Hex)) {
			t.Errorf("%s referrer %s does not name the image %s:\n%.400s", typ, d, digest, data)
		}
	}
}

func mustTag(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

// TestReleaseSigned: release --sign-key pushes a two-platform index whose
// signature and attestations (the provenance and SBOM of each platform
// image) cosign verifies with the public key and refuses with another;
// a second release stores nothing, the signatures included.
func TestReleaseSigned(t *testing.T) {
	integration(t)
	s := newSupplyEnv(t)
	key, pub := s.keyPair(t)
	_, otherPub := s.keyPair(t)
	release := "registry: " + s.reg.Host + "/signed\ndistros: [debian:trixie]\nplatforms: [linux/amd64, linux/arm64]\nimages: [static]\n"
	if err := os.WriteFile(filepath.Join(s.dir, "release.yaml"), []byte(release), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func() *ReleaseResult {
		t.Helper()
		stdout, stderr, code := s.run(t, s.dir, nil, testBin, "release", "release.yaml", "--json", "--cache-dir", testCache, "--sign-key", key)
		if code != 0 {
			t.Fatalf("release --sign-key: exit %d\n%s", code, clitest.Tail(stderr, 30))
		}
		var res ReleaseResult
		if err := clitest.DecodeOne(stdout, &res); err != nil {
			t.Fatalf("release --json: %v\n%s", err, stdout)
		}
		return &res
	}
	res := run()
	if len(res.Images) != 1 || res.Images[0].Status != "pushed" || len(res.Images[0].Tags) != 1 {
		t.Fatalf("release: %+v", res.Images)
	}
	tag := res.Images[0].Tags[0]
	digestRef := mustTag(t, tag).Context().Name() + "@" + res.Images[0].Digest
	st := s.verify(t, digestRef, pub, "slsaprovenance1", "spdxjson")
	if !bytes.Contains(st["spdxjson"], []byte(`"SPDX-2.3"`)) {
		t.Errorf("spdxjson statement %.300s", st["spdxjson"])
	}
	s.refuses(t, digestRef, otherPub)

	before := len(s.reg.Requests(t))
	again := run()
	reqs := s.reg.Requests(t).Since(before)
	if n, m := len(reqs.Uploads()), len(reqs.ManifestPuts()); n+m != 0 || images(t, again, 1)[0].Status != "unchanged" {
		t.Errorf("a signed release with nothing changed: %s, uploaded %d blobs and %d manifests", again.Images[0].Status, n, m)
	}
}
