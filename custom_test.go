package distroless

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/pipeline"
)

// TestCustomProfileRuns builds an image from a profile file that adds a
// package, a file, an env var and a label, and runs it in podman.
func TestCustomProfileRuns(t *testing.T) {
	integration(t)
	// podman derives an image name from the layout path: keep it lowercase.
	dir, err := os.MkdirTemp("", "custom-profile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	out := "oci:" + filepath.Join(dir, "app") + ":v1"
	digest := genDigest(t, "-f", "testdata/profiles/app.yaml", "--distro", "debian:bookworm", "--cache-dir", testCache, "-o", out)

	cfg := inspectConfig(t, out)
	if cfg.Config.Labels["com.example.team"] != "platform" || cfg.Config.Labels["org.opencontainers.image.title"] != "myapp" {
		t.Errorf("labels = %v", cfg.Config.Labels)
	}
	if strings.Join(cfg.Config.Entrypoint, " ") != "/usr/bin/python3.11" || strings.Join(cfg.Config.Cmd, " ") != "/app/main.py" {
		t.Errorf("entrypoint %v cmd %v", cfg.Config.Entrypoint, cfg.Config.Cmd)
	}
	if !strings.Contains(strings.Join(cfg.Config.Env, " "), "APP_MODE=production") {
		t.Errorf("env = %v", cfg.Config.Env)
	}
	// The profile's layer sits on python3.11's: one more layer than
	// python3.11's packages, the lower ones shared.
	py := genDigest(t, "python3.11", "--distro", "debian:bookworm", "--cache-dir", testCache, "-o", "oci:"+filepath.Join(dir, "py")+":x")
	if py == digest {
		t.Fatal("custom image equals python3.11's")
	}
	appLayers := clitest.ReadLayout(t, filepath.Join(dir, "app"), "v1").LayerDigests()
	pyLayers := clitest.ReadLayout(t, filepath.Join(dir, "py"), "x").LayerDigests()
	for i := 0; i < len(pyLayers)-1; i++ { // all but the image-specific top layer
		if appLayers[i] != pyLayers[i] {
			t.Errorf("layer %d differs: %s vs %s", i, appLayers[i], pyLayers[i])
		}
	}

	p := newPodman(t)
	stdout, stderr, code := p.run(t, 3*time.Minute, "run", "--rm", "--network=none", out)
	if code != 0 || !strings.Contains(stdout, "app production 65532") || !strings.Contains(stdout, "libyaml loaded") {
		t.Fatalf("podman run: exit %d\nstdout: %s\nstderr: %s", code, stdout, clitest.Tail(stderr, 20))
	}
}

func TestCustomProfileErrors(t *testing.T) {
	_, stderr, code := cli(t, "gen", "-f", "testdata/profiles/bad-field.yaml", "--cache-dir", testCache)
	if code == 0 || !strings.Contains(stderr, "testdata/profiles/bad-field.yaml") || !strings.Contains(stderr, "line 5: field dep not found in a packages entry") {
		t.Fatalf("bad field: exit %d: %s", code, stderr)
	}
	_, stderr, code = cli(t, "gen", "-f", "testdata/profiles/missing.yaml", "--cache-dir", testCache)
	if code == 0 || !strings.Contains(stderr, "missing.yaml") {
		t.Fatalf("missing file: exit %d: %s", code, stderr)
	}
	_, stderr, code = cli(t, "gen", "-f", "testdata/profiles/app.yaml", "python3.11", "--cache-dir", testCache)
	if code != 2 || !strings.Contains(stderr, "takes 0 argument(s)") {
		t.Fatalf("-f with a PROFILE too: exit %d: %s", code, stderr)
	}
}

func TestAddExcludeWhy(t *testing.T) {
	integration(t)
	base := []string{"--distro", "debian:bookworm", "--cache-dir", testCache, "--json"}
	out, stderr, code := cli(t, append([]string{"resolve", "python3.11", "--add", "libyaml-0-2", "--exclude", "libncursesw6"}, base...)...)
	var j pipeline.JSONResolution
	if code != 0 || json.Unmarshal([]byte(out), &j) != nil {
		t.Fatalf("resolve --add --exclude: exit %d: %s", code, stderr)
	}
	have := map[string]bool{}
	for _, p := range j.Packages {
		have[p.Name] = true
	}
	if !have["libyaml-0-2"] || have["libncursesw6"] {
		t.Fatalf("--add/--exclude not applied: libyaml %v, libncursesw6 %v", have["libyaml-0-2"], have["libncursesw6"])
	}
	var excluded bool
	for _, p := range j.Pruned {
		excluded = excluded || (p.Name == "libncursesw6" && p.Reason == "excluded with --exclude")
	}
	if !excluded {
		t.Fatalf("pruned = %+v", j.Pruned)
	}

	// The ELF check still applies: libpython's curses module links libncursesw.
	_, stderr, code = cli(t, "gen", "python3.11", "--exclude", "libncursesw6", "--distro", "debian:bookworm", "--cache-dir", testCache, "-o", "oci:"+filepath.Join(t.TempDir(), "x"))
	if code == 0 || !strings.Contains(stderr, "libncursesw.so.6") {
		t.Fatalf("gen --exclude libncursesw6 should fail the ELF check: exit %d: %s", code, clitest.Tail(stderr, 10))
	}

	out, stderr, code = cli(t, "why", "python3.11", "libkrb5-3", "--distro", "debian:bookworm", "--cache-dir", testCache)
	if code != 0 || !strings.Contains(out, "libpython3.11-stdlib → libtirpc3 → libgssapi-krb5-2 → libkrb5-3") {
		t.Fatalf("why libkrb5-3: exit %d: %s%s", code, out, stderr)
	}
	out, _, code = cli(t, "why", "python3.11", "debconf", "--distro", "debian:bookworm", "--cache-dir", testCache)
	if code != 0 || !strings.Contains(out, "pruned") || !strings.Contains(out, "tzdata") {
		t.Fatalf("why debconf: exit %d: %s", code, out)
	}
	_, stderr, code = cli(t, "why", "python3.11", "emacs", "--distro", "debian:bookworm", "--cache-dir", testCache)
	if code == 0 || !strings.Contains(stderr, "nothing in python3.11 needs it") {
		t.Fatalf("why emacs: exit %d: %s", code, stderr)
	}
}
