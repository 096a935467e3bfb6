package distroless

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/pipeline"
	"github.com/distroless-dev/distroless/profiles"
)

// These tests read the real, signed Debian archive through the mirror the
// host's apt sources name.

func resolveReal(t *testing.T, profile, dist string) *pipeline.Resolution {
	t.Helper()
	r, err := pipeline.Resolve(context.Background(), profile, pipeline.Options{Distro: dist, CacheDir: testCache})
	if err != nil {
		t.Fatalf("resolve %s on %s: %v", profile, dist, err)
	}
	return r
}

func closureNames(r *pipeline.Resolution) map[string]bool {
	m := map[string]bool{}
	for _, s := range r.Result.Packages {
		m[s.Pkg.Name] = true
	}
	return m
}

func checkMinimal(t *testing.T, r *pipeline.Resolution, want ...string) {
	t.Helper()
	have := closureNames(r)
	for _, w := range want {
		if !have[w] {
			t.Errorf("%s on %s: closure lacks %s", r.Plan.Name, r.Distro.Name, w)
		}
	}
	for _, bad := range []string{"dpkg", "debconf", "perl-base", "tar", "bash", "dash", "busybox", "debianutils", "openssl"} {
		if have[bad] {
			t.Errorf("%s on %s: closure contains %s", r.Plan.Name, r.Distro.Name, bad)
		}
	}
	if len(r.Result.Pruned) == 0 {
		t.Errorf("nothing pruned: tzdata's debconf dependency should have been")
	}
	for _, s := range r.Result.Packages {
		if s.Pkg.SHA256 == "" || s.Pkg.Size == 0 || s.Pkg.URL == "" || len(s.Chain) == 0 {
			t.Errorf("%s: incomplete record %+v", s.Pkg.Name, s.Pkg)
		}
	}
}

func TestResolveBookwormPython311(t *testing.T) {
	integration(t)
	r := resolveReal(t, "python3.11", "debian:bookworm")
	checkMinimal(t, r, "python3.11-minimal", "libpython3.11-stdlib", "libpython3.11-minimal", "libc6", "libssl3",
		"tzdata", "ca-certificates", "libstdc++6", "libexpat1", "zlib1g")
	// ca-certificates is taken for its files only: its openssl and debconf
	// dependencies must not come in through it.
	for _, s := range r.Result.Packages {
		if s.Pkg.Name == "ca-certificates" && (!s.NoDeps || r.Result.Levels[s.Level].Name != "static") {
			t.Errorf("ca-certificates: files-only %v in layer %s", s.NoDeps, r.Result.Levels[s.Level].Name)
		}
	}
	// Layers: static has no libc.
	for _, s := range r.Result.InLevel(0) {
		if s.Pkg.Name == "libc6" {
			t.Error("static layer contains libc6")
		}
	}
}

func TestResolveTrixieDefaultPython(t *testing.T) {
	integration(t)
	r := resolveReal(t, "python3", "debian:trixie")
	if r.Plan.Name != "python3.13" {
		t.Fatalf("python3 on trixie resolved to %s, want python3.13", r.Plan.Name)
	}
	checkMinimal(t, r, "python3.13-minimal", "libpython3.13-stdlib", "libc6", "libssl3t64")
}

func TestResolveNotPackaged(t *testing.T) {
	integration(t)
	_, err := pipeline.Resolve(context.Background(), "python3.12", pipeline.Options{Distro: "debian:bookworm", CacheDir: testCache})
	var np *profiles.NotPackagedError
	if !errors.As(err, &np) || !strings.Contains(err.Error(), "python3.11") {
		t.Fatalf("want a not-packaged error listing python3.11, got %v", err)
	}
}

func TestResolveDeterministic(t *testing.T) {
	integration(t)
	a, b := resolveReal(t, "cc", "debian:bookworm"), resolveReal(t, "cc", "debian:bookworm")
	ja, _ := json.Marshal(a.JSON())
	jb, _ := json.Marshal(b.JSON())
	if !bytes.Equal(ja, jb) {
		t.Fatal("two resolutions of the same index differ")
	}
	if closureNames(a)["python3.11-minimal"] {
		t.Fatal("cc contains python")
	}
}

func TestCLIResolve(t *testing.T) {
	integration(t)
	lock := filepath.Join(t.TempDir(), "python.lock")
	out, stderr, code := cli(t, "resolve", "python3.11", "--distro", "debian:bookworm", "--cache-dir", testCache, "--lock", lock, "--explain-pruned")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"python3.11-minimal", "libc6", "NAME", "WHY", "python3.11-minimal → libpython3.11-minimal", "PRUNED", "debconf"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	l, err := pipeline.ReadLock(lock)
	if err != nil {
		t.Fatal(err)
	}
	if l.Profile != "python3.11" || l.Distro != "debian:bookworm" || len(l.Indexes) < 4 || len(l.Packages) < 20 {
		t.Fatalf("lock: %s %s, %d indexes, %d packages", l.Profile, l.Distro, len(l.Indexes), len(l.Packages))
	}

	out, stderr, code = cli(t, "resolve", "python3", "--distro", "debian:trixie", "--cache-dir", testCache, "--json")
	var j pipeline.JSONResolution
	if code != 0 || json.Unmarshal([]byte(out), &j) != nil || j.Profile != "python3.13" || j.Requested != "python3" {
		t.Fatalf("json resolve: exit %d, %q, stderr %s", code, j.Profile, stderr)
	}

	_, stderr, code = cli(t, "resolve", "python3.12", "--distro", "debian:bookworm", "--cache-dir", testCache)
	if code == 0 || !strings.Contains(stderr, "python3.12 is not packaged by debian:bookworm") || !strings.Contains(stderr, "python3.11") {
		t.Fatalf("python3.12 on bookworm: exit %d, stderr %s", code, stderr)
	}

	_, stderr, code = cli(t, "resolve", "nosuchprofile", "--cache-dir", testCache)
	if code == 0 || !strings.Contains(stderr, `unknown profile "nosuchprofile"`) {
		t.Fatalf("unknown profile: exit %d, stderr %s", code, stderr)
	}
	_, stderr, code = cli(t, "resolve", "base", "--distro", "debian:potato", "--cache-dir", testCache)
	if code == 0 || !strings.Contains(stderr, "debian:trixie") {
		t.Fatalf("unknown distro: exit %d, stderr %s", code, stderr)
	}
	_, stderr, code = cli(t, "resolve", "base", "--offline", "--cache-dir", t.TempDir())
	if code == 0 || !strings.Contains(stderr, "offline") {
		t.Fatalf("offline with an empty cache: exit %d, stderr %s", code, stderr)
	}
	// Warm cache: offline works.
	if _, stderr, code = cli(t, "resolve", "python3.11", "--distro", "debian:bookworm", "--cache-dir", testCache, "--offline"); code != 0 {
		t.Fatalf("offline with a warm cache: exit %d, stderr %s", code, stderr)
	}
	_, stderr, code = cli(t, "resolve")
	if code != 2 || !strings.Contains(stderr, "resolve takes 1 argument") {
		t.Fatalf("missing argument: exit %d, stderr %s", code, stderr)
	}
}

func TestResolveAutoDistro(t *testing.T) {
	integration(t)
	var log bytes.Buffer
	r, err := pipeline.Resolve(context.Background(), "python3.11", pipeline.Options{CacheDir: testCache, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if r.Distro.Name != "debian:bookworm" || !strings.Contains(log.String(), "using debian:bookworm") {
		t.Fatalf("python3.11 without --distro: %s; log %q", r.Distro.Name, log.String())
	}
	r, err = pipeline.Resolve(context.Background(), "python3", pipeline.Options{CacheDir: testCache})
	if err != nil || r.Distro.Name != "debian:trixie" {
		t.Fatalf("python3 without --distro: %v %v", r, err)
	}
}

// TestResolveChoicesTrixie: on the real trixie index, PHP's virtual
// phpapi goes to the provider with the smallest closure (the CLI, not the
// Apache module), and --explain and why say so with the candidates' sizes.
func TestResolveChoicesTrixie(t *testing.T) {
	integration(t)
	prof := filepath.Join(t.TempDir(), "php.yaml")
	if err := os.WriteFile(prof, []byte("name: php\npackages: [php8.4-yaml]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.LoadProfileFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pipeline.Resolve(context.Background(), p.Name, pipeline.Options{Distro: "debian:trixie", CacheDir: testCache, Profile: p, NoPrune: true})
	if err != nil {
		t.Fatal(err)
	}
	names := closureNames(r)
	if !names["php8.4-cli"] || names["libapache2-mod-php8.4"] || names["apache2-bin"] {
		t.Fatalf("phpapi provider: cli %v, apache module %v", names["php8.4-cli"], names["libapache2-mod-php8.4"])
	}
	out, stderr, code := cli(t, "resolve", "-f", prof, "--distro", "debian:trixie", "--cache-dir", testCache, "--no-prune", "--explain")
	if code != 0 || !regexp.MustCompile(`phpapi-\d+, required by php8.4-yaml \(layer php\): took php8.4-cli: the smallest added closure\n    \* php8.4-cli \S+: adds [0-9.]+ MB installed in \d+ packages\n`).MatchString(out) ||
		!strings.Contains(out, "      libapache2-mod-php8.4 ") {
		t.Fatalf("resolve --explain (exit %d): %s\n%s", code, out, stderr)
	}
	out, stderr, code = cli(t, "why", "-f", prof, "libapache2-mod-php8.4", "--distro", "debian:trixie", "--cache-dir", testCache)
	if code != 0 || !strings.HasPrefix(out, "libapache2-mod-php8.4 is not in php on debian:trixie; it was a candidate of:\n") || !strings.Contains(out, "took php8.4-cli") {
		t.Fatalf("why (exit %d): %s\n%s", code, out, stderr)
	}
}
