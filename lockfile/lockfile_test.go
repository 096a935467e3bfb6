package lockfile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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
		{name: "version", edit: func(l *Lock) { l.Version = 2 }, want: "version 2, this tool reads version 1"},
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
// against the pinned distro's format, or both formats' when unknown.
func TestCheckPackages(t *testing.T) {
	l := sample()
	for _, format := range []string{"", "deb"} {
		if err := l.CheckPackages("app.lock", format); err != nil {
			t.Errorf("format %q: %v", format, err)
		}
	}
	l.Packages[0].Name = "../../etc/passwd"
	if err := l.CheckPackages("app.lock", "deb"); err == nil || !strings.Contains(err.Error(), `lockfile app.lock: packages[0] ("../../etc/passwd")`) {
		t.Errorf("a path for a name: %v", err)
	}
	l = sample()
	l.Packages[0].Version = "1.0/../x"
	if err := l.CheckPackages("app.lock", ""); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("a path for a version: %v", err)
	}
}
