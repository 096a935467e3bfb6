package releasefile

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func testEnv() Env {
	return Env{Date: "20260601", Distro: func(n string) (DistroVars, error) {
		switch n {
		case "debian:trixie":
			return DistroVars{Tag: "debian13", ID: "debian", Version: "13", Codename: "trixie"}, nil
		case "debian:bookworm":
			return DistroVars{Tag: "debian12", ID: "debian", Version: "12", Codename: "bookworm"}, nil
		}
		return DistroVars{}, fmt.Errorf("unknown distro %q", n)
	}}
}

const gdMatrix = `registry: registry.example.com/distroless
distros: [debian:trixie]
platforms: [linux/amd64, linux/arm64]
users: [root, nonroot]
debug: [false, true]
images:
  - profile: static
  - profile: cc
  - profile: python3
  - profile: java21
    debug: [false]
`

func TestExpandGoogleMatrix(t *testing.T) {
	f, err := decode("release.yaml", []byte(gdMatrix))
	if err != nil {
		t.Fatal(err)
	}
	ims, err := Expand(f, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, im := range ims {
		if !reflect.DeepEqual(im.Platforms, []string{"amd64", "arm64"}) {
			t.Errorf("%s: platforms %v", im.Key(), im.Platforms)
		}
		got = append(got, fmt.Sprintf("%s %s %s %v", im.Profile, im.User, strings.Join(im.Tags, ","), im.Debug))
	}
	want := []string{
		"static root registry.example.com/distroless/static-debian13:latest false",
		"static nonroot registry.example.com/distroless/static-debian13:nonroot false",
		"static-debug root registry.example.com/distroless/static-debian13:debug true",
		"static-debug nonroot registry.example.com/distroless/static-debian13:debug-nonroot true",
		"cc root registry.example.com/distroless/cc-debian13:latest false",
		"cc nonroot registry.example.com/distroless/cc-debian13:nonroot false",
		"cc-debug root registry.example.com/distroless/cc-debian13:debug true",
		"cc-debug nonroot registry.example.com/distroless/cc-debian13:debug-nonroot true",
		"python3 root registry.example.com/distroless/python3-debian13:latest false",
		"python3 nonroot registry.example.com/distroless/python3-debian13:nonroot false",
		"python3-debug root registry.example.com/distroless/python3-debian13:debug true",
		"python3-debug nonroot registry.example.com/distroless/python3-debian13:debug-nonroot true",
		"java21 root registry.example.com/distroless/java21-debian13:latest false",
		"java21 nonroot registry.example.com/distroless/java21-debian13:nonroot false",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("expansion:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if f.Lock != "release.lock.json" || f.LockPath() != "release.lock.json" {
		t.Errorf("lock %q (%q), want release.lock.json", f.Lock, f.LockPath())
	}
}

func TestExpandTemplatesAndOverrides(t *testing.T) {
	src := `registry: localhost:5000/base
lock: locks/all.json
tags:
  - "{registry}/{name}:{variant}"
  - "{registry}/{name}:{variant}-{distro_id}{distro_version}-{date}"
images:
  - python3
  - profile: python3
    name: py-bookworm
    distros: [debian:bookworm]
    users: ["1000"]
    debug: [true]
    tags: ["{registry}/{name}:{codename}-{user}", "{registry}/{name}:{variant}"]
  - file: app/myapp.yaml
    platforms: linux/arm64/v8
`
	f, err := decode("/srv/rel/release.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ims, err := Expand(f, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	want := []Image{
		{Name: "python3", Profile: "python3", Distro: "debian:trixie", Platforms: []string{"amd64"}, User: "nonroot", Variant: "nonroot", Line: 7,
			Tags: []string{"localhost:5000/base/python3:nonroot", "localhost:5000/base/python3:nonroot-debian13-20260601"}},
		{Name: "py-bookworm", Profile: "python3-debug", Distro: "debian:bookworm", Platforms: []string{"amd64"}, User: "1000", Debug: true, Variant: "debug-1000", Line: 8,
			Tags: []string{"localhost:5000/base/py-bookworm:bookworm-1000", "localhost:5000/base/py-bookworm:debug-1000"}},
		{Name: "myapp", ProfileFile: "/srv/rel/app/myapp.yaml", Distro: "debian:trixie", Platforms: []string{"arm64"}, User: "nonroot", Variant: "nonroot", Line: 14,
			Tags: []string{"localhost:5000/base/myapp:nonroot", "localhost:5000/base/myapp:nonroot-debian13-20260601"}},
	}
	if !reflect.DeepEqual(ims, want) {
		t.Errorf("got\n%+v\nwant\n%+v", ims, want)
	}
	if f.LockPath() != "/srv/rel/locks/all.json" {
		t.Errorf("lock path %q", f.LockPath())
	}
}

func TestExpandRefusesTagCollisions(t *testing.T) {
	src := `registry: r.example.com/x
users: [root, nonroot]
tags: ["{registry}/{name}:latest"]
images: [static]
`
	f, err := decode("c.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Expand(f, testEnv())
	if err == nil || !strings.Contains(err.Error(), "tag r.example.com/x/static:latest is given to both static (debian:trixie, latest) (line 4) and static (debian:trixie, nonroot)") {
		t.Fatalf("err = %v", err)
	}
	// Two entries of one profile with the same name collide too.
	f, _ = decode("c.yaml", []byte("registry: r.example.com/x\nimages: [static, {profile: static}]\n"))
	if _, err = Expand(f, testEnv()); err == nil || !strings.Contains(err.Error(), "given to both") {
		t.Fatalf("err = %v", err)
	}
}

func TestExpandErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"registry: r.example.com\ndistros: [debian:potato]\nimages: [static]\n", "line 2: distro debian:potato: unknown distro"},
		{"registry: r.example.com\nimages:\n  - profile: static\n    tags: [\"{registry}/{name}:{date}\"]\n", "empty here"},
		{"registry: r.example.com\ntags: [\"{registry}/{name}:{variant}x{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}\"]\nimages: [python3]\n", "not a registry reference"},
		{"registry: R.example.com/UPPER\nimages: [static]\n", "not a registry reference"},
	} {
		f, err := decode("e.yaml", []byte(c.src))
		if err != nil {
			t.Fatalf("%q: decode: %v", c.src, err)
		}
		env := testEnv()
		if strings.Contains(c.src, "{date}") {
			env.Date = ""
		}
		if _, err := Expand(f, env); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.src, err, c.want)
		}
	}
}

func TestDecodeErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"", "e.yaml: empty"},
		{"- a\n", "line 1: want a mapping"},
		{"images: [static]\n", "line 1: registry is missing"},
		{"registry: r.example.com\n", "images: want a list"},
		{"registry: r.example.com\nimages: []\n", "line 2: images: want a list"},
		{"registry: r.example.com\nimage: [static]\n", "line 2: field image not found in the release file"},
		{"registry: r.example.com\nregistry: s.example.com\nimages: [static]\n", "line 2: field registry given twice"},
		{"registry: r.example.com\nimages:\n  - profile: static\n    user: root\n", "line 4: field user not found in an images entry"},
		{"registry: r.example.com\nimages:\n  - name: x\n", "line 3: an images entry gives exactly one of profile"},
		{"registry: r.example.com\nimages:\n  - {profile: a, file: b.yaml}\n", "line 3: an images entry gives exactly one"},
		{"registry: r.example.com\nimages:\n  - python3-debug\n", "line 3: profile python3-debug: name the plain profile"},
		{"registry: r.example.com\ndebug: [true]\nimages:\n  - file: my.yaml\n    debug: [false, true]\n", "line 4: file my.yaml: the debug variant is for built-in profiles"},
		{"registry: r.example.com\nimages:\n  - profile: static\n    name: Static\n", "line 3: name \"Static\""},
		{"registry: r.example.com\nplatforms: [linux/amd64, windows/amd64]\nimages: [static]\n", "line 2: platforms: \"windows/amd64\": only linux"},
		{"registry: r.example.com\nplatforms:\n  - linux/amd64\n  - linux/s390x\nimages: [static]\n", "line 4: platforms: \"linux/s390x\": want linux/amd64 or linux/arm64"},
		{"registry: r.example.com\nplatforms: [amd64, linux/amd64]\nimages: [static]\n", "line 2: platforms: amd64 is listed twice"},
		{"registry: r.example.com\nusers: [root, admin]\nimages: [static]\n", "line 2: users: \"admin\": want nonroot, root or a numeric UID"},
		{"registry: r.example.com\nusers: [\"-1\"]\nimages: [static]\n", "want nonroot, root or a numeric UID"},
		{"registry: r.example.com\nusers: [root, root]\nimages: [static]\n", "line 2: users: root is listed twice"},
		{"registry: r.example.com\ndebug: [yes]\nimages: [static]\n", "line 2: debug: \"yes\""},
		{"registry: r.example.com\ntags: [\"{registry}/{nam}:{variant}\"]\nimages: [static]\n", "line 2: tags: \"{registry}/{nam}:{variant}\": unknown placeholder {nam}"},
		{"registry: r.example.com\ntags: [\"{registry}/{name}\"]\nimages: [static]\n", "no tag"},
		{"registry: r.example.com\ntags: [\"{registry}/{name}@sha256:x\"]\nimages: [static]\n", "names a tag, not a digest"},
		{"registry: r.example.com\ntags: [\"{registry}/{name}:{variant\"]\nimages: [static]\n", "unbalanced braces"},
		{"registry: \"{x}\"\nimages: [static]\n", "line 1: registry \"{x}\""},
		{"registry: distroless\nimages: [static]\n", "line 1: registry \"distroless\": \"distroless\" is not a registry host"},
		{"registry: r.example.com\ndistros: {a: b}\nimages: [static]\n", "line 2: distros: want a list"},
		{"registry: r.example.com\nlock: [a]\nimages: [static]\n", "line 2: lock: want a string"},
		{"registry: r.example.com\nimages: [static\n", "e.yaml: yaml:"},
	} {
		_, err := decode("e.yaml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.src, err, c.want)
		}
	}
}

func TestVariant(t *testing.T) {
	for _, c := range []struct {
		user  string
		debug bool
		want  string
	}{{"root", false, "latest"}, {"nonroot", false, "nonroot"}, {"root", true, "debug"}, {"nonroot", true, "debug-nonroot"}, {"1000", false, "1000"}, {"1000", true, "debug-1000"}} {
		if got := Variant(c.user, c.debug); got != c.want {
			t.Errorf("Variant(%s, %v) = %s, want %s", c.user, c.debug, got, c.want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(p, []byte(gdMatrix), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if f.LockPath() != filepath.Join(dir, "r.lock.json") || len(f.Images) != 4 {
		t.Errorf("lock %s, %d images", f.LockPath(), len(f.Images))
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("a missing file loaded")
	}
	// ca-certs: relative to the file's directory.
	if err := os.WriteFile(p, []byte(gdMatrix+"ca-certs: [certs/corp.pem, /etc/other.pem]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err = Load(p); err != nil || !reflect.DeepEqual(f.CACertPaths(), []string{filepath.Join(dir, "certs/corp.pem"), "/etc/other.pem"}) {
		t.Errorf("ca-certs: %v %v", f, err)
	}
	if err := os.WriteFile(p, []byte(gdMatrix+"ca-certs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err = Load(p); err == nil || !strings.Contains(err.Error(), "ca-certs: want a list") {
		t.Errorf("ca-certs empty: %v", err)
	}
}

func TestSettings(t *testing.T) {
	src := `registry: r.example.com
env: {TZ: UTC, A: file}
labels: {team: platform}
annotations: {org.opencontainers.image.source: https://example.com/src}
cmd: [--help]
images:
  - static
  - profile: python3
    entrypoint: [/usr/bin/python3, -u]
    cmd: [app.py]
    workdir: /app
    env: {A: image, B: "2"}
    annotations: {x: y}
  - profile: cc
    entrypoint: []
`
	f, err := decode("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ims, err := Expand(f, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	want := []Settings{
		{Cmd: []string{"--help"}, Env: map[string]string{"TZ": "UTC", "A": "file"}, Labels: map[string]string{"team": "platform"},
			Annotations: map[string]string{"org.opencontainers.image.source": "https://example.com/src"}},
		{Entrypoint: []string{"/usr/bin/python3", "-u"}, Cmd: []string{"app.py"}, Workdir: "/app",
			Env: map[string]string{"TZ": "UTC", "A": "image", "B": "2"}, Labels: map[string]string{"team": "platform"},
			Annotations: map[string]string{"org.opencontainers.image.source": "https://example.com/src", "x": "y"}},
		// The image's entrypoint drops the file's cmd, as a child profile's does.
		{Entrypoint: []string{}, Env: map[string]string{"TZ": "UTC", "A": "file"}, Labels: map[string]string{"team": "platform"},
			Annotations: map[string]string{"org.opencontainers.image.source": "https://example.com/src"}},
	}
	if len(ims) != len(want) {
		t.Fatalf("%d images", len(ims))
	}
	for i, im := range ims {
		if !reflect.DeepEqual(im.Settings, want[i]) {
			t.Errorf("%s: settings %+v, want %+v", im.Key(), im.Settings, want[i])
		}
	}
	for _, c := range []struct{ src, want string }{
		{"registry: r.example.com\nenv: {\"\": x}\nimages: [static]\n", "line 2: env: key \"\""},
		{"registry: r.example.com\nenv: {\"A=B\": x}\nimages: [static]\n", "line 2: env: key \"A=B\""},
		{"registry: r.example.com\nenv: [A=B]\nimages: [static]\n", "line 2: env: want a mapping"},
		{"registry: r.example.com\nlabels: {a: ~}\nimages: [static]\n", "line 2: labels: a: want a string value"},
		{"registry: r.example.com\nimages:\n  - profile: static\n    entrypoint: /bin/app\n", "line 4: entrypoint: want a list"},
		{"registry: r.example.com\nimages:\n  - profile: static\n    cmd: [[a]]\n", "line 4: cmd: want strings"},
		{"registry: r.example.com\nworkdir: app\nimages: [static]\n", "line 2: workdir \"app\": want an absolute path"},
		{"registry: r.example.com\nannotations: {a: b, a: c}\nimages: [static]\n", "annotations"},
	} {
		_, err := decode("e.yaml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.src, err, c.want)
		}
	}
}
