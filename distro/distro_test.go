package distro

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages/fetch"
)

func TestBuiltins(t *testing.T) {
	var names []string
	for _, d := range Builtins() {
		names = append(names, d.Name)
	}
	if got := strings.Join(names, " "); got != "debian:trixie debian:bookworm debian:sid rocky:9 almalinux:9 ubi:9 fedora:44" {
		t.Fatalf("builtins by preference = %s", got)
	}
	if Default().Name != "debian:trixie" {
		t.Fatalf("default = %s, want Debian stable", Default().Name)
	}
	bw, err := Get("debian:bookworm")
	if err != nil {
		t.Fatal(err)
	}
	var suites []string
	for _, s := range bw.Suites {
		suites = append(suites, s.Name+"@"+s.Mirror)
	}
	if got := strings.Join(suites, " "); got != "bookworm@archive bookworm-updates@archive bookworm-security@security" {
		t.Fatalf("bookworm suites = %s", got)
	}
	if bw.OSRelease["VERSION_ID"] != "12" || !strings.Contains(bw.OSRelease["PRETTY_NAME"], "Distroless") {
		t.Fatalf("os-release = %v", bw.OSRelease)
	}
	if _, err := Get("debian:potato"); err == nil || !strings.Contains(err.Error(), "debian:trixie") {
		t.Fatalf("unknown distro error = %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	ok := "name: x\nformat: deb\narchitectures: [amd64]\nsuites:\n  - {name: s, mirror: archive}\n"
	if _, err := Decode("ok.yaml", []byte(ok)); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		ok + "mirrors: x\n": "line 6: field mirrors not found",
		strings.Replace(ok, "format: deb", "format: apk", 1):                 `format "apk" is not supported`,
		strings.Replace(ok, "format: deb", "format: rpm\nkeyring: k.asc", 1): "suites and components are for deb distros",
		strings.Replace(ok, "mirror: archive", "mirror: elsewhere", 1):       "suites[0].mirror must be archive or security",
		"format: deb\n": "field name is missing",
		"name: x\nformat: deb\narchitectures: [amd64]\n": "no suites",
	}
	for in, want := range cases {
		if _, err := Decode("bad.yaml", []byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestResolveMirrors(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "etc/apt/sources.list.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sources := "Types: deb\nURIs: http://archive.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n" +
		"Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\nComponents: main\n"
	if err := os.WriteFile(filepath.Join(dir, "debian.sources"), []byte(sources), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvMirror, "")
	t.Setenv(EnvSecurityMirror, "")
	m, err := ResolveMirrors(Mirrors{}, root)
	if err != nil || m.Archive != "http://archive.example/debian" || m.Security != "http://security.example/debian-security" {
		t.Fatalf("from apt sources: %+v %v", m, err)
	}
	t.Setenv(EnvMirror, "http://env.example/debian")
	m, _ = ResolveMirrors(Mirrors{}, root)
	if m.Archive != "http://env.example/debian" || m.Security != "http://security.example/debian-security" {
		t.Fatalf("env over apt sources: %+v", m)
	}
	m, _ = ResolveMirrors(Mirrors{Archive: "http://flag.example/debian"}, root)
	if m.Archive != "http://flag.example/debian" {
		t.Fatalf("flag over env: %+v", m)
	}

	// No mirror anywhere: opening says how to set one.
	t.Setenv(EnvMirror, "")
	m, _ = ResolveMirrors(Mirrors{}, t.TempDir())
	d, _ := Get("debian:bookworm")
	_, err = d.Open(context.Background(), &fetch.Cache{Dir: t.TempDir()}, "amd64", m)
	if err == nil || !strings.Contains(err.Error(), "--mirror") || !strings.Contains(err.Error(), EnvMirror) {
		t.Fatalf("no mirror: %v", err)
	}
	if _, err := d.Open(context.Background(), &fetch.Cache{Dir: t.TempDir()}, "riscv64", m); err == nil || !strings.Contains(err.Error(), "amd64, arm64") {
		t.Fatalf("bad arch: %v", err)
	}
}
