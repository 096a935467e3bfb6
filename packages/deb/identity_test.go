package deb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages/deb/debtest"
)

func TestParseStanzaRefusesHostileIdentity(t *testing.T) {
	stanza := func(name, ver, arch string) []byte {
		return []byte("Package: " + name + "\nVersion: " + ver + "\nArchitecture: " + arch + "\nFilename: pool/a.deb\nSize: 1\nSHA256: 00\n")
	}
	if d, err := parseStanza(stanza("libstdc++6", "1:2.3~rc1-4+deb12u1", "amd64"), "http://m", "s", "amd64"); err != nil || d.pkg.Name != "libstdc++6" {
		t.Fatalf("a valid stanza: %v", err)
	}
	for _, c := range []struct{ name, ver, arch, want string }{
		{"../../usr/share/x", "1.0", "amd64", `package name "../../usr/share/x"`},
		{"x", "1.0", "amd64", "shorter than two"},
		{"Libc6", "1.0", "amd64", "not a Debian package name"},
		{"libc6", "1.0/../../x", "amd64", `version "1.0/../../x"`},
		{"libc6", "1.0", "../amd64", `architecture "../amd64"`},
		{"libc6", "1.0", "x86_64", `architecture "x86_64"`},
	} {
		_, err := parseStanza(stanza(c.name, c.ver, c.arch), "http://m", "s", "amd64")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s %s %s: %v", c.name, c.ver, c.arch, err)
		}
	}
}

func TestDebIdentity(t *testing.T) {
	dir := t.TempDir()
	write := func(control string) string {
		p := filepath.Join(dir, "p.deb")
		if err := os.WriteFile(p, debtest.Deb(control, nil, nil), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	id, err := Payload{}.Identity(write("Package: g++-12\nVersion: 12.2.0-14+deb12u1\nArchitecture: amd64\nDescription: x\n"))
	if err != nil || id.Name != "g++-12" || id.Version != "12.2.0-14+deb12u1" || id.Arch != "amd64" {
		t.Fatalf("identity %+v, %v", id, err)
	}
	for _, control := range []string{
		"Package: ../../x\nVersion: 1\nArchitecture: amd64\n",
		"Package: ok-name\nVersion: 1 2\nArchitecture: amd64\n",
		"Package: ok-name\nVersion: 1\n",
		"Version: 1\nArchitecture: amd64\n",
	} {
		// With a cache directory, Identity still caches nothing.
		cache := filepath.Join(dir, "cache")
		if id, err := (Payload{CacheDir: cache}).Identity(write(control)); err == nil {
			t.Errorf("%q: identity %+v", control, id)
		}
		if ents, _ := os.ReadDir(cache); len(ents) != 0 {
			t.Errorf("%q: Identity cached %v", control, ents)
		}
	}
}
