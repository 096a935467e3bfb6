package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/publish"
)

// Hermetic tests of gen's pieces: the image user, the output, and the
// plan a lockfile gives. Nothing here reads an index or the network.

// TestUserOf: --user gives the image's user and working directory, and
// wins over the profile's own; without it the profile's apply.
func TestUserOf(t *testing.T) {
	prof := profiles.Config{User: "1000:1000", Workdir: "/app"}
	for _, c := range []struct {
		flag                  string
		user, workdir         string // no profile settings
		profUser, profWorkdir string // the profile sets both
	}{
		{"", "65532:65532", "/home/nonroot", "1000:1000", "/app"},
		{"nonroot", "65532:65532", "/home/nonroot", "65532:65532", "/home/nonroot"},
		{"root", "0:0", "/", "0:0", "/"},
		{"1234", "1234:1234", "/home/user1234", "1234:1234", "/home/user1234"},
		{"app:10001", "10001:10001", "/home/app", "10001:10001", "/home/app"},
		{"app:10001:20", "10001:20", "/home/app", "10001:20", "/home/app"},
		{"0", "0:0", "/", "0:0", "/"},
		{"65532", "65532:65532", "/home/nonroot", "65532:65532", "/home/nonroot"},
		{"nonroot:65532", "65532:65532", "/home/nonroot", "65532:65532", "/home/nonroot"},
	} {
		u, err := ParseUser(c.flag)
		if err != nil {
			t.Fatalf("--user %q: %v", c.flag, err)
		}
		if user, wd := u.with(profiles.Config{}); user != c.user || wd != c.workdir {
			t.Errorf("--user %q: %s %s, want %s %s", c.flag, user, wd, c.user, c.workdir)
		}
		if user, wd := u.with(prof); user != c.profUser || wd != c.profWorkdir {
			t.Errorf("--user %q on a profile with its own user: %s %s, want %s %s", c.flag, user, wd, c.profUser, c.profWorkdir)
		}
	}
	// Only the profile's workdir: the default user keeps its own home unless told.
	u, _ := ParseUser("")
	if user, wd := u.with(profiles.Config{Workdir: "/srv"}); user != "65532:65532" || wd != "/srv" {
		t.Errorf("profile workdir only: %s %s", user, wd)
	}
	for _, bad := range []string{"admin", "-1", "0x10", "4294967296", "1:1", " 1", "App:1", "app:", "app:x", "app:1:2:3", "app:01", ":5"} {
		if _, err := ParseUser(bad); err == nil || !strings.Contains(err.Error(), "want nonroot, root, a numeric UID or NAME:UID[:GID]") {
			t.Errorf("--user %q: %v, want an error saying what is accepted", bad, err)
		}
	}
	if _, err := ParseUser("root:5"); err == nil || !strings.Contains(err.Error(), "the image's root is 0:0") {
		t.Errorf("--user root:5: %v", err)
	}
	// A new user gets an account: NAME (userN for a bare UID), its IDs and
	// a home under /home.
	for flag, want := range map[string]string{"1234": "user1234 1234 1234 /home/user1234", "app:10001:20": "app 10001 20 /home/app"} {
		u, _ := ParseUser(flag)
		if a := u.Account; a == nil || fmt.Sprintf("%s %d %d %s", a.Name, *a.UID, a.GID, a.Home) != want {
			t.Errorf("--user %s: account %+v, want %s", flag, a, want)
		}
	}
	for _, flag := range []string{"", "nonroot", "root", "0", "65532"} {
		if u, _ := ParseUser(flag); u.Account != nil {
			t.Errorf("--user %q adds an account", flag)
		}
	}
}

// TestOutputOf: without -o, gen writes oci:./PROFILE; a malformed output
// is refused before anything is fetched.
func TestOutputOf(t *testing.T) {
	for flag, want := range map[string]string{
		"":                              "oci:./python3",
		"oci:./out:v1":                  "oci:./out:v1",
		"docker-archive:py.tar":         "docker-archive:py.tar",
		"registry.example/team/py:3.13": "registry.example/team/py:3.13",
	} {
		var o GenOptions
		if flag != "" {
			o.Output = clitest.Output(t, flag)
		}
		got, err := o.outputsOf("python3")
		if err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("-o %q: %q, %v; want %q", flag, got, err, want)
		}
	}
	for _, bad := range []string{"./out", "out", "oci:", "docker-archive:", "docker-archive:x.tar:UPPER/Case"} {
		if got, err := publish.ParseOutput(bad); err == nil {
			t.Errorf("-o %q: accepted as %q", bad, got)
		}
	}
	// Given twice, an output is refused.
	twice := GenOptions{Output: clitest.Output(t, "oci:./x"), Outputs: []publish.Output{clitest.Output(t, "oci:./x")}}
	if _, err := twice.outputsOf("python3"); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("an output given twice: %v", err)
	}
	// A docker-archive that names no image takes the profile's name.
	if _, err := (GenOptions{Output: clitest.Output(t, "docker-archive:x.tar")}).outputsOf("python3"); err != nil {
		t.Errorf("docker-archive without a name: %v", err)
	}
	if got := WriteOptions("python3.13").DefaultRef; got != "distroless/python3.13:latest" {
		t.Errorf("default docker-archive reference %q", got)
	}
}

// staticLock is a lockfile of the static profile on trixie.
func staticLock() *lockfile.Lock {
	l := &lockfile.Lock{Version: lockfile.Version, Profile: "static", Distro: "debian:trixie", Arch: "amd64"}
	for i, name := range []string{"tzdata", "netbase", "media-types", "ca-certificates"} {
		l.Packages = append(l.Packages, lockfile.Package{Name: name, Version: "1.0", Arch: "all", Layer: "static",
			SHA256: strings.Repeat(string(rune('a'+i)), 64), Size: int64(100 + i), Path: "pool/" + name + ".deb",
			URL: "http://127.0.0.1:9/pool/" + name + ".deb"})
	}
	return l
}

func writeLock(t *testing.T, l *lockfile.Lock) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "static.lock")
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLockPlan: a lockfile gives the plan without any index: its
// packages, in the layers it names, from the pinned URLs and digests.
func TestLockPlan(t *testing.T) {
	path := writeLock(t, staticLock())
	o := GenOptions{Lock: path, Options: Options{CacheDir: t.TempDir(), Offline: true}}
	ins, err := genPlans(context.Background(), "static", o)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 {
		t.Fatalf("%d plans from a lockfile of one platform", len(ins))
	}
	in := ins[0]
	if in.distro.Name != "debian:trixie" || in.arch != "amd64" || in.plan.Name != "static" {
		t.Errorf("plan: %s %s %s", in.distro.Name, in.arch, in.plan.Name)
	}
	if len(in.levels) != 1 || len(in.levels[0]) != 4 {
		t.Fatalf("levels %v, want the 4 packages in one", in.levels)
	}
	for i, p := range in.levels[0] {
		want := staticLock().Packages[i]
		if p.Name != want.Name || p.SHA256 != want.SHA256 || p.URL != want.URL || p.Size != want.Size || p.Location != want.Path {
			t.Errorf("package %d: %+v, want the pinned %+v", i, p, want)
		}
	}

	for _, c := range []struct {
		name    string
		profile string
		edit    func(*lockfile.Lock)
		opts    func(*GenOptions)
		want    string
	}{
		{name: "other profile", profile: "base", want: "pins profile static, not base"},
		{name: "other distro", profile: "static", opts: func(o *GenOptions) { o.Distro = "debian:bookworm" }, want: "pins distro debian:trixie, not debian:bookworm"},
		{name: "other arch", profile: "static", opts: func(o *GenOptions) { o.Platforms = []string{"arm64"} }, want: "pins architecture amd64, not arm64"},
		{name: "add", profile: "static", opts: func(o *GenOptions) { o.Add = []string{"hello"} }, want: "Options.Add and Options.Exclude change the closure"},
		{name: "exclude", profile: "static", opts: func(o *GenOptions) { o.Exclude = []string{"tzdata"} }, want: "Options.Add and Options.Exclude change the closure"},
		{name: "unknown layer", profile: "static", edit: func(l *lockfile.Lock) { l.Packages[1].Layer = "cc" }, want: `package netbase is in layer "cc", which profile static does not have`},
		{name: "unknown distro", profile: "static", edit: func(l *lockfile.Lock) { l.Distro = "debian:potato" }, want: "give the file with Options.Distro"},
		{name: "rpm name on debian", profile: "static", edit: func(l *lockfile.Lock) { l.Packages[0].Version = "1.0^post" }, want: `packages[0] ("tzdata")`},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := staticLock()
			if c.edit != nil {
				c.edit(l)
			}
			o := GenOptions{Lock: writeLock(t, l), Options: Options{CacheDir: t.TempDir(), Offline: true}}
			if c.opts != nil {
				c.opts(&o)
			}
			_, err := genPlans(context.Background(), c.profile, o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%v, want an error saying %q", err, c.want)
			}
		})
	}
}
