package lockfile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb"
)

func sample() *Lock {
	return &Lock{Version: Version, Profile: "python3.13", Requested: "python3", Distro: "debian:trixie", Arch: "amd64",
		Indexes: []Index{{URL: "https://deb.example/dists/trixie/InRelease", SHA256: strings.Repeat("b", 64)}},
		Packages: []Package{{Name: "libc6", Version: "2.41-12", Arch: "amd64", Layer: "base", SHA256: strings.Repeat("a", 64),
			Size: 100, Path: "pool/main/g/glibc/libc6.deb", URL: "https://deb.example/pool/main/g/glibc/libc6.deb"}}}
}

// TestWriteRead: a written lockfile reads back the same, and leaves no
// temporary file next to it.
func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.lock")
	if err := Write(path, sample()); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sample()) {
		t.Errorf("read back %+v, want %+v", got, sample())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the lockfile", len(ents))
	}
}

// TestReadRefuses: a lockfile that is not sound is an error naming the
// file and what is wrong.
func TestReadRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Lock)
		raw  string
		want string
	}{
		{name: "not json", raw: "{", want: "unexpected end of JSON input"},
		{name: "version", edit: func(l *Lock) { l.Version = 3 }, want: "version 3, this tool reads versions 1 and 2"},
		{name: "v1 with platforms", edit: func(l *Lock) { l.Platforms = []Platform{{Arch: "arm64"}} }, want: "platforms is for version 2 lockfiles"},
		{name: "v2 with top packages", edit: func(l *Lock) { l.Version = 2 }, want: "not at the top"},
		{name: "no distro", edit: func(l *Lock) { l.Distro = "" }, want: "profile, distro and packages are required"},
		{name: "no packages", edit: func(l *Lock) { l.Packages = nil }, want: "profile, distro and packages are required"},
		{name: "arch", edit: func(l *Lock) { l.Arch = "../amd64" }, want: "arch:"},
		{name: "short sha", edit: func(l *Lock) { l.Packages[0].SHA256 = "abc" }, want: `packages[0] ("libc6") needs name, url, a sha256 and a size`},
		{name: "no size", edit: func(l *Lock) { l.Packages[0].Size = 0 }, want: "needs name, url, a sha256 and a size"},
		{name: "no url", edit: func(l *Lock) { l.Packages[0].URL = "" }, want: "needs name, url, a sha256 and a size"},
		{name: "hex", edit: func(l *Lock) { l.Packages[0].SHA256 = strings.Repeat("z", 64) }, want: "is not hexadecimal"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.lock")
			if c.raw != "" {
				if err := os.WriteFile(path, []byte(c.raw), 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				l := sample()
				c.edit(l)
				if err := Write(path, l); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Read(path)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "lockfile "+path) {
				t.Errorf("Read = %v, want an error naming %s and saying %q", err, path, c.want)
			}
		})
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing.lock")); !os.IsNotExist(err) {
		t.Errorf("a missing lockfile: %v, want a not-exist error (gen then resolves and writes it)", err)
	}
}

// TestCheckPackages: names, versions and architectures are checked
// against the pinned distro's format's grammar, or what any format
// allows when it is unknown.
func TestCheckPackages(t *testing.T) {
	l := sample()
	for _, g := range []packages.Grammar{packages.AnyFormat, deb.Grammar} {
		if err := l.CheckPackages("app.lock", g); err != nil {
			t.Errorf("grammar %T: %v", g, err)
		}
	}
	l.Packages[0].Name = "PyYAML"
	if err := l.CheckPackages("app.lock", packages.AnyFormat); err != nil {
		t.Errorf("an upper-case name, no format known: %v", err)
	}
	if err := l.CheckPackages("app.lock", deb.Grammar); err == nil || !strings.Contains(err.Error(), "not a Debian package name") {
		t.Errorf("an upper-case name in a Debian lockfile: %v", err)
	}
	l.Packages[0].Name = "../../etc/passwd"
	if err := l.CheckPackages("app.lock", deb.Grammar); err == nil || !strings.Contains(err.Error(), `lockfile app.lock: packages[0] ("../../etc/passwd")`) {
		t.Errorf("a path for a name: %v", err)
	}
	l = sample()
	l.Packages[0].Version = "1.0/../x"
	if err := l.CheckPackages("app.lock", packages.AnyFormat); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("a path for a version: %v", err)
	}
}

// TestPlatforms: the lockfiles of two platforms merge into one version-2
// lockfile that reads back and splits into the same two; one platform
// stays a version-1 lockfile, byte for byte as before; a version-2
// lockfile that is not sound is refused naming the platform.
func TestPlatforms(t *testing.T) {
	amd, arm := sample(), sample()
	arm.Arch = "arm64"
	arm.Packages[0].Arch = "arm64"
	arm.Packages[0].SHA256 = strings.Repeat("c", 64)
	one, err := Merge([]*Lock{sample()})
	if err != nil || !reflect.DeepEqual(one, sample()) {
		t.Fatalf("Merge of one lockfile = %+v, %v; want it unchanged", one, err)
	}
	m, err := Merge([]*Lock{amd, arm})
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != VersionPlatforms || m.Arch != "" || len(m.Packages) != 0 || len(m.Platforms) != 2 {
		t.Fatalf("merged: %+v", m)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "multi.lock")
	if err := Write(path, m); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), `"arch": ""`) || !strings.Contains(string(raw), `"platforms"`) {
		t.Errorf("version-2 lockfile:\n%s", raw)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Split(), []*Lock{amd, arm}) || !reflect.DeepEqual(got.Archs(), []string{"amd64", "arm64"}) {
		t.Errorf("split: %+v", got.Split())
	}
	// A version-1 lockfile still writes arch, indexes and packages.
	if err := Write(path, sample()); err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(path)
	if !strings.Contains(string(raw), `"arch": "amd64"`) || strings.Contains(string(raw), "platforms") {
		t.Errorf("version-1 lockfile:\n%s", raw)
	}

	if _, err := Merge([]*Lock{amd, {Version: Version, Profile: "cc", Distro: amd.Distro, Arch: "arm64"}}); err == nil {
		t.Error("merging two profiles' lockfiles succeeded")
	}
	for _, c := range []struct {
		name string
		edit func(*Lock)
		want string
	}{
		{"twice", func(l *Lock) { l.Platforms[1].Arch = "amd64" }, "platforms[1] arch amd64 is pinned twice"},
		{"no packages", func(l *Lock) { l.Platforms[1].Packages = nil }, `platforms[1] ("arm64") has no packages`},
		{"bad arch", func(l *Lock) { l.Platforms[0].Arch = "../x" }, "platforms[0] arch:"},
		{"empty arch", func(l *Lock) { l.Platforms[0].Arch = "" }, "platforms[0] arch:"},
		{"bad sha", func(l *Lock) { l.Platforms[1].Packages[0].SHA256 = "x" }, `platforms[1] packages[0] ("libc6") needs name`},
		{"no platforms", func(l *Lock) { l.Platforms = nil }, "profile, distro and platforms are required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, _ := Merge([]*Lock{sample(), arm})
			l.Platforms = append([]Platform(nil), l.Platforms...)
			for i := range l.Platforms {
				l.Platforms[i].Packages = append([]Package(nil), l.Platforms[i].Packages...)
			}
			c.edit(l)
			p := filepath.Join(t.TempDir(), "bad.lock")
			if err := Write(p, l); err != nil {
				t.Fatal(err)
			}
			if _, err := Read(p); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("Read = %v, want %q", err, c.want)
			}
		})
	}
	bad, err := Merge([]*Lock{sample(), arm})
	if err != nil {
		t.Fatal(err)
	}
	bad.Platforms[1].Packages = []Package{{Name: "../../etc", Version: "1", Arch: "arm64"}}
	if err := bad.CheckPackages("m.lock", deb.Grammar); err == nil || !strings.Contains(err.Error(), `platforms[1] packages[0] ("../../etc")`) {
		t.Errorf("CheckPackages: %v", err)
	}
}
