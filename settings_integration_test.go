package distroless

// Integration tests of gen's image settings (--env, --entrypoint, --cmd,
// --workdir, --label, --annotation, and a release file's) and of its
// default outputs, which hold the image alone so that podman, skopeo,
// umoci and syft read them untagged.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/distroless-dev/distroless/attest/attesttest"
	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/pipeline"
)

const sourceURL = "https://example.com/team/app"

// TestGenSettingsAndPlainLayout: every settings flag reads back from the
// image config (skopeo inspect --config) and the manifest (skopeo inspect
// --raw); the default layout and oci-archive hold one manifest, read
// untagged by skopeo, podman run and umoci; --attach adds the SBOM and
// provenance, and a gen without it takes them out again.
func TestGenSettingsAndPlainLayout(t *testing.T) {
	integration(t)
	// podman names an image of oci:DIR by DIR: a lower-case path.
	dir, err := os.MkdirTemp("", "distroless-settings-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	out, archive := filepath.Join(dir, "img"), filepath.Join(dir, "img.tar")
	settings := []string{"--env", "FOO=bar baz", "--env", "EMPTY=", "--env", "FOO=over",
		"--entrypoint", `["/busybox/sh", "-c"]`, "--cmd", `["echo \"$FOO\"; pwd"]`, "--workdir", "/tmp",
		"--label", "team=platform", "--label", "org.opencontainers.image.title=mine",
		"--annotation", "org.opencontainers.image.source=" + sourceURL}
	gen := func(extra ...string) *pipeline.GenResult {
		t.Helper()
		r, _ := genJSON(t, append([]string{"gen", "static", "--debug", "--distro", "debian:trixie", "--cache-dir", testCache,
			"-o", "oci:" + out, "-o", "oci-archive:" + archive, "--json"}, extra...)...)
		return r
	}
	res := gen(settings...)
	if res.SBOM != "" || res.Provenance != "" {
		t.Errorf("a layout without --attach: gen says SBOM %q, provenance %q", res.SBOM, res.Provenance)
	}
	for _, ref := range []string{"oci:" + out, "oci-archive:" + archive} {
		cfg := inspectConfig(t, ref) // untagged
		c := cfg.Config
		if !slices.Equal(c.Entrypoint, []string{"/busybox/sh", "-c"}) || !slices.Equal(c.Cmd, []string{`echo "$FOO"; pwd`}) || c.WorkingDir != "/tmp" {
			t.Errorf("%s: entrypoint %q, cmd %q, workdir %q", ref, c.Entrypoint, c.Cmd, c.WorkingDir)
		}
		if !slices.Contains(c.Env, "FOO=over") || !slices.Contains(c.Env, "EMPTY=") || !slices.ContainsFunc(c.Env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
			t.Errorf("%s: env %q, want FOO=over, EMPTY= and the profile's PATH", ref, c.Env)
		}
		if c.Labels["team"] != "platform" || c.Labels["org.opencontainers.image.title"] != "mine" || c.Labels["org.opencontainers.image.version"] == "" {
			t.Errorf("%s: labels %v", ref, c.Labels)
		}
		if _, ok := c.Labels["org.opencontainers.image.source"]; ok {
			t.Errorf("%s: the annotation became a label", ref)
		}
		if c.User != "65532:65532" {
			t.Errorf("%s: user %q", ref, c.User)
		}
		var m clitest.Manifest
		if err := json.Unmarshal(skopeo(t, "inspect", "--raw", ref), &m); err != nil {
			t.Fatal(err)
		}
		if m.Annotations["org.opencontainers.image.source"] != sourceURL || m.Annotations["team"] != "platform" {
			t.Errorf("%s: manifest annotations %v", ref, m.Annotations)
		}
		var info struct{ Digest string }
		if err := json.Unmarshal(skopeo(t, "inspect", ref), &info); err != nil || info.Digest != res.Digest {
			t.Errorf("%s: skopeo inspect says digest %q (%v), gen %s", ref, info.Digest, err, res.Digest)
		}
	}
	if n := len(clitest.ReadIndex(t, out).Manifests); n != 1 {
		t.Errorf("the default layout holds %d manifests, want 1", n)
	}

	// podman runs it untagged, as the settings say.
	p := newPodman(t)
	stdout, stderr, code := p.run(t, 5*time.Minute, "run", "--rm", "--network=none", "oci:"+out)
	if code != 0 || stdout != "over\n/tmp\n" {
		t.Errorf("podman run oci:DIR: exit %d, stdout %q\n%s", code, stdout, clitest.Tail(stderr, 20))
	}

	// umoci lists and unpacks it (its default tag), with the settings in
	// the runtime config.
	umoci := needTool(t, "umoci")
	if b, err := exec.Command(umoci, "ls", "--layout", out).CombinedOutput(); err != nil || strings.TrimSpace(string(b)) != "latest" {
		t.Errorf("umoci ls: %v: %q", err, b)
	}
	bundle := filepath.Join(dir, "bundle")
	if b, err := exec.Command(umoci, "unpack", "--rootless", "--image", out, bundle).CombinedOutput(); err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, b)
	}
	if st, err := os.Stat(filepath.Join(bundle, "rootfs", "busybox", "sh")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("umoci's rootfs has no /busybox/sh: %v", err)
	}
	var spec struct {
		Process struct {
			Args []string
			Env  []string
			Cwd  string
		}
	}
	if b, err := os.ReadFile(filepath.Join(bundle, "config.json")); err != nil || json.Unmarshal(b, &spec) != nil {
		t.Fatalf("umoci's config.json: %v", err)
	}
	if !slices.Equal(spec.Process.Args, []string{"/busybox/sh", "-c", `echo "$FOO"; pwd`}) || spec.Process.Cwd != "/tmp" || !slices.Contains(spec.Process.Env, "FOO=over") {
		t.Errorf("umoci's process: %+v", spec.Process)
	}

	// --attach: the SBOM and provenance join the image; a later gen
	// without it takes them out.
	res = gen(append(settings, "--attach")...)
	ix := clitest.ReadIndex(t, out)
	if res.SBOM == "" || res.Provenance == "" || len(ix.Manifests) != 3 ||
		!slices.ContainsFunc(ix.Manifests, func(d clitest.Descriptor) bool { return d.Digest == res.SBOM }) {
		t.Errorf("--attach: SBOM %q, provenance %q, layout %+v", res.SBOM, res.Provenance, ix.Manifests)
	}
	again := gen(settings...)
	if again.Digest != res.Digest || len(clitest.ReadIndex(t, out).Manifests) != 1 {
		t.Errorf("after a gen without --attach: digest %s (was %s), %d manifests", again.Digest, res.Digest, len(clitest.ReadIndex(t, out).Manifests))
	}
	// A signing key needs somewhere to put the signatures.
	keyFile, _ := attesttest.KeyPair(t, filepath.Join(dir, "key"))
	if _, stderr, code := cli(t, "gen", "static", "--offline", "--cache-dir", testCache, "-o", "oci:"+out, "--sign-key", keyFile); code != 2 || !strings.Contains(stderr, "--sign-key: no output holds signatures") || !strings.Contains(stderr, "--attach") {
		t.Errorf("--sign-key into a layout without --attach: exit %d, %s", code, stderr)
	}
}

// TestGenAnnotationOnIndex: with several platforms --annotation goes on
// the image index and on each image.
func TestGenAnnotationOnIndex(t *testing.T) {
	integration(t)
	out := filepath.Join(t.TempDir(), "idx")
	genDigest(t, "static", "--distro", "debian:trixie", "--platform", "linux/amd64,linux/arm64", "--cache-dir", testCache,
		"-o", "oci:"+out, "--annotation", "org.opencontainers.image.source="+sourceURL)
	var ix v1.IndexManifest
	if err := json.Unmarshal(skopeo(t, "inspect", "--raw", "oci:"+out), &ix); err != nil {
		t.Fatal(err)
	}
	if ix.Annotations["org.opencontainers.image.source"] != sourceURL || len(ix.Manifests) != 2 {
		t.Fatalf("index: annotations %v, %d manifests", ix.Annotations, len(ix.Manifests))
	}
	// Each image's manifest, read from the layout.
	for _, d := range ix.Manifests {
		var m clitest.Manifest
		if err := json.Unmarshal(clitest.ReadBlob(t, out, clitest.Descriptor{Digest: d.Digest.String(), Size: d.Size}), &m); err != nil {
			t.Fatal(err)
		}
		if m.Annotations["org.opencontainers.image.source"] != sourceURL {
			t.Errorf("%s: annotations %v", d.Platform, m.Annotations)
		}
	}
}

// TestGenPlainLayoutSyft: syft reads the default layout (oci-dir:DIR, the
// image alone) and finds every package gen put in it.
func TestGenPlainLayoutSyft(t *testing.T) {
	integration(t)
	tools := scanners(t)
	out := filepath.Join(t.TempDir(), "base")
	res, _ := genJSON(t, "gen", "base", "--distro", "debian:trixie", "--cache-dir", testCache, "-o", "oci:"+out, "--json")
	b, err := exec.Command(filepath.Join(tools, "syft"), "scan", "-q", "-o", "syft-json", "oci-dir:"+out).Output()
	if err != nil {
		t.Fatalf("syft scan oci-dir:%s: %v\n%s", out, err, stderrOf(err))
	}
	var doc struct{ Artifacts []struct{ Name, Type string } }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, a := range doc.Artifacts {
		if a.Type == "deb" {
			found = append(found, a.Name)
		}
	}
	if len(res.Packages) < 5 {
		t.Fatalf("gen says %d packages", len(res.Packages))
	}
	var want []string
	for _, p := range res.Packages {
		want = append(want, strings.SplitN(p, "=", 2)[0])
	}
	if d := setDiff(want, found); d != "" {
		t.Errorf("syft's packages differ from gen's:\n%s", d)
	}
	t.Logf("syft: %d packages", len(found))
}

// TestReleaseSettings: a release file's settings (the file's for every
// image, an image's over them) are in the pushed images' configs and
// manifests as skopeo reads them, for root and nonroot alike, and the
// image is the one gen makes with the same settings as flags.
func TestReleaseSettings(t *testing.T) {
	integration(t)
	e := newReleaseEnv(t)
	release := `registry: ` + e.reg.Host + `/settings
distros: [debian:trixie]
users: [root, nonroot]
env: {TZ: UTC, FOO: file}
annotations: {org.opencontainers.image.source: "` + sourceURL + `"}
images:
  - profile: static
    debug: [true]
    entrypoint: [/busybox/sh, -c]
    cmd: [echo hi]
    workdir: /srv
    env: {FOO: image}
    labels: {team: platform}
`
	if err := os.WriteFile(filepath.Join(e.dir, "release.yaml"), []byte(release), 0o644); err != nil {
		t.Fatal(err)
	}
	res := e.release(t)
	digests := map[string]string{}
	for _, im := range res.Images {
		digests[im.Variant] = im.Digest
	}
	creds := "--creds=" + e.reg.User + ":" + e.reg.Password
	for variant, user := range map[string]string{"debug": "0:0", "debug-nonroot": "65532:65532"} {
		ref := "docker://" + e.reg.Host + "/settings/static-debian13:" + variant
		var cfg imageConfig
		if err := json.Unmarshal(skopeo(t, "inspect", "--tls-verify=false", creds, "--config", ref), &cfg); err != nil {
			t.Fatal(err)
		}
		c := cfg.Config
		if !slices.Equal(c.Entrypoint, []string{"/busybox/sh", "-c"}) || !slices.Equal(c.Cmd, []string{"echo hi"}) || c.WorkingDir != "/srv" || c.User != user {
			t.Errorf("%s: entrypoint %q, cmd %q, workdir %q, user %q", variant, c.Entrypoint, c.Cmd, c.WorkingDir, c.User)
		}
		if !slices.Contains(c.Env, "FOO=image") || !slices.Contains(c.Env, "TZ=UTC") || c.Labels["team"] != "platform" {
			t.Errorf("%s: env %q, labels %v", variant, c.Env, c.Labels)
		}
		var m clitest.Manifest
		if err := json.Unmarshal(skopeo(t, "inspect", "--tls-verify=false", creds, "--raw", ref), &m); err != nil {
			t.Fatal(err)
		}
		if m.Annotations["org.opencontainers.image.source"] != sourceURL {
			t.Errorf("%s: manifest annotations %v", variant, m.Annotations)
		}
	}
	set, err := lockfile.ReadSet(filepath.Join(e.dir, "release.lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(e.dir, "static-debug.lock")
	if err := lockfile.Write(lock, set.Find("static-debug debian:trixie amd64")); err != nil {
		t.Fatal(err)
	}
	d := genDigest(t, "static", "--debug", "--distro", "debian:trixie", "--lock", lock, "--cache-dir", testCache, "-o", "oci:"+filepath.Join(e.dir, "gen"),
		"--env", "TZ=UTC", "--env", "FOO=image", "--entrypoint", "/busybox/sh -c", "--cmd", `["echo hi"]`, "--workdir", "/srv",
		"--label", "team=platform", "--annotation", "org.opencontainers.image.source="+sourceURL)
	if d != digests["debug-nonroot"] {
		t.Errorf("gen with the settings as flags gives %s, the release pushed %s", d, digests["debug-nonroot"])
	}
}
