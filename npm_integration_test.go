package distroless

// The npm application layer end to end: a real express application and
// sharp (a prebuilt linux-x64-gnu addon and its libvips) from the real
// npm registry, installed by gen into the nodejs image and run by podman
// as uid 65532.

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/pipeline"
)

const npmApp = "appdeps/npm/testdata/express"

func TestGenNpmExpress(t *testing.T) {
	integration(t)
	t.Parallel()
	// podman names an oci: image by its path, which must be lower-case
	// (t.TempDir's has the test's name).
	dir, err := os.MkdirTemp("", "distroless-npm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	lock := filepath.Join(dir, "node.lock")
	out := filepath.Join(dir, "a")
	args := []string{"gen", "nodejs", "--distro", "debian:bookworm", "--npm-lock", filepath.Join(npmApp, "package-lock.json"),
		"--add-file", filepath.Join(npmApp, "server.js") + ":/app/server.js"}
	sbomFile := filepath.Join(dir, "sbom.json")
	stdout, stderr, code := cli(t, append(args, "--cache-dir", testCache, "--lock", lock, "--sbom", sbomFile, "--json", "-o", "oci:"+out+":node")...)
	if code != 0 {
		t.Fatalf("gen: exit %d\n%s", code, clitest.Tail(stderr, 40))
	}
	var res pipeline.GenResult
	if err := clitest.DecodeOne(stdout, &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool {
		return strings.Contains(w, "install scripts not run") && strings.Contains(w, "sharp@0.33.5 (install: node install/check)")
	}) {
		t.Errorf("no warning of sharp's install script: %q", res.Warnings)
	}
	// The application layer is above the runtime's.
	var names []string
	for _, l := range res.Layers {
		names = append(names, l.Name)
	}
	if app, node := slices.Index(names, "app"), slices.Index(names, "nodejs"); app < 0 || node < 0 || app < node {
		t.Errorf("layers %v: no application layer above nodejs", names)
	}

	// The lockfile pins the 83 npm packages by their integrity.
	l, err := pipeline.ReadLock(lock)
	if err != nil {
		t.Fatal(err)
	}
	var npmPins []string
	for _, a := range l.App {
		if a.Type == "npm" {
			npmPins = append(npmPins, a.Name+"@"+a.Version)
			if !strings.HasPrefix(a.Hash, "sha512-") || !strings.HasPrefix(a.Source, "https://registry.npmjs.org/") {
				t.Errorf("pin %+v", a)
			}
		}
	}
	if len(npmPins) != 83 || !slices.Contains(npmPins, "express@4.21.2") || !slices.Contains(npmPins, "@img/sharp-linux-x64@0.33.5") {
		t.Errorf("%d npm pins: %v", len(npmPins), npmPins)
	}

	// The SBOM lists them by purl, with their licenses; syft, reading
	// the image's node_modules, finds them too.
	sb, err := os.ReadFile(sbomFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"referenceLocator": "pkg:npm/express@4.21.2"`, `"referenceLocator": "pkg:npm/%40img/sharp-linux-x64@0.33.5"`,
		`"referenceLocator": "pkg:npm/%40img/sharp-libvips-linux-x64@1.0.4"`, `"licenseDeclared": "LGPL-3.0-or-later"`} {
		if !strings.Contains(string(sb), want) {
			t.Errorf("the SBOM has no %s", want)
		}
	}
	if strings.Contains(string(sb), "nanoid") || strings.Contains(string(sb), "sharp-darwin") {
		t.Error("the SBOM lists a dev or another platform's package")
	}
	found := map[string]string{}
	for _, a := range syftArtifacts(t, out, "npm") {
		found[a.Name+"@"+a.Version] = a.License
	}
	for p, lic := range map[string]string{"express@4.21.2": "MIT", "@img/sharp-linux-x64@0.33.5": "Apache-2.0", "sharp@0.33.5": "Apache-2.0"} {
		if found[p] != lic {
			t.Errorf("syft: %s has license %q, want %q", p, found[p], lic)
		}
	}
	if len(found) < 83 {
		t.Errorf("syft finds %d npm packages, want 83 or more", len(found))
	}

	// It runs: express answers, sharp's addon loads and makes a PNG, as
	// uid 65532.
	p := newPodman(t)
	ref := "oci:" + out + ":node"
	got, errOut, code := p.run(t, 5*time.Minute, "run", "--rm", "--network=none", "--user", "65532", ref, "/app/server.js")
	want := "200 {\"hello\":\"distroless\"}\n" +
		"200 {\"format\":\"png\",\"width\":40,\"height\":30,\"vips\":\"8.15.3\"}\n" +
		"uid 65532\n"
	if code != 0 || got != want {
		t.Fatalf("podman run: exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, got, want, clitest.Tail(errOut, 20))
	}

	// Reproducible: from the lockfile and an empty cache of its own, the
	// same digest.
	d2 := genDigest(t, append(args[1:], "--cache-dir", filepath.Join(dir, "fresh-cache"), "--lock", lock, "-o", "oci:"+filepath.Join(dir, "b")+":node")...)
	if d2 != res.Digest {
		t.Errorf("first build %s, rebuild from the lockfile and an empty cache %s", res.Digest, d2)
	}

	// A package-lock.json whose express integrity lies: refused, naming
	// express and the mismatch, the output untouched.
	raw, err := os.ReadFile(filepath.Join(npmApp, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pl map[string]any
	if err := json.Unmarshal(raw, &pl); err != nil {
		t.Fatal(err)
	}
	other := sha512.Sum512([]byte("not express"))
	pl["packages"].(map[string]any)["node_modules/express"].(map[string]any)["integrity"] = "sha512-" + base64.StdEncoding.EncodeToString(other[:])
	bad := filepath.Join(dir, "bad-package-lock.json")
	b, _ := json.Marshal(pl)
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(out, "index.json"))
	_, stderr, code = cli(t, "gen", "nodejs", "--distro", "debian:bookworm", "--npm-lock", bad, "--cache-dir", testCache, "-o", "oci:"+out+":node")
	if code == 0 {
		t.Fatal("gen with a lying integrity succeeded")
	}
	for _, w := range []string{"npm: " + bad, "express@4.21.2", "integrity mismatch"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, clitest.Tail(stderr, 5))
		}
	}
	if after, _ := os.ReadFile(filepath.Join(out, "index.json")); string(after) != string(before) {
		t.Error("the failed gen changed the output")
	}
}

// TestReleaseNpm: a release file naming an npm application per image
// pushes the image gen makes of the same inputs, pins its packages in the
// release's lockfile, and a second run finds it unchanged.
func TestReleaseNpm(t *testing.T) {
	integration(t)
	e := newReleaseEnv(t)
	if err := os.MkdirAll(filepath.Join(e.dir, "web"), 0o755); err != nil {
		t.Fatal(err)
	}
	lockData, err := os.ReadFile(filepath.Join(npmApp, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "web", "package-lock.json"), lockData, 0o644); err != nil {
		t.Fatal(err)
	}
	release := "registry: " + e.reg.Host + "/apps\ndistros: [debian:bookworm]\nimages:\n  - profile: nodejs\n    name: web\n    npm-lock: web/package-lock.json\n    app-dir: /srv/web\n"
	if err := os.WriteFile(filepath.Join(e.dir, "release.yaml"), []byte(release), 0o644); err != nil {
		t.Fatal(err)
	}
	res := e.release(t)
	ims := images(t, res, 1)
	if ims[0].Status != "pushed" {
		t.Fatalf("status %q", ims[0].Status)
	}
	if !slices.ContainsFunc(ims[0].Warnings, func(w string) bool { return strings.Contains(w, "sharp@0.33.5 (install: node install/check)") }) {
		t.Errorf("warnings %q", ims[0].Warnings)
	}
	l := releaseLockOf(t, e.dir, "nodejs debian:bookworm amd64")
	n := 0
	for _, a := range l.App {
		if a.Type == "npm" {
			n++
		}
	}
	if n != 83 {
		t.Errorf("the release's lockfile pins %d npm packages, want 83", n)
	}
	d := genDigest(t, "nodejs", "--distro", "debian:bookworm", "--npm-lock", filepath.Join(npmApp, "package-lock.json"), "--app-dir", "/srv/web",
		"--cache-dir", testCache, "-o", "oci:"+filepath.Join(e.dir, "gen")+":web")
	if d != ims[0].Digest {
		t.Errorf("release pushed %s, gen makes %s", ims[0].Digest, d)
	}
	again := images(t, e.release(t), 1)
	if again[0].Status != "unchanged" || again[0].Digest != ims[0].Digest {
		t.Errorf("second release: %s %s", again[0].Status, again[0].Digest)
	}
}

// releaseLockOf is the entry key ("PROFILE DISTRO ARCH") of the release
// lockfile in dir; the test fails when there is none.
func releaseLockOf(t *testing.T, dir, key string) *lockfile.Lock {
	t.Helper()
	set, err := lockfile.ReadSet(filepath.Join(dir, "release.lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	l := set.Find(key)
	if l == nil {
		t.Fatalf("the release's lockfile has no %s entry", key)
	}
	return l
}
