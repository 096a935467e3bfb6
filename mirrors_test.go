package distroless

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/pipeline"
)

// TestMirrorsOnlyWhenNeeded: the host's apt sources are read only for a
// distro that needs mirrors. With sources that cannot be read, opening
// an RPM distro (or a Debian one whose suites give URLs) fails for its
// own reason and says nothing of apt; a Debian one on the mirror
// settings says the sources could not be read.
func TestMirrorsOnlyWhenNeeded(t *testing.T) {
	t.Setenv(distro.EnvMirror, "")
	t.Setenv(distro.EnvSecurityMirror, "")
	dir := t.TempDir()
	host := filepath.Join(dir, "host")
	// sources.list.d a file, not a directory: reading the sources fails.
	if err := os.MkdirAll(filepath.Join(host, "etc", "apt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(host, "etc", "apt", "sources.list.d"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(name, def string) *distro.Distro {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(def), 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := distro.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	o := pipeline.Options{HostRoot: host, CacheDir: filepath.Join(dir, "cache"), Offline: true}
	for _, d := range []*distro.Distro{
		write("el.yaml", "name: el\nformat: rpm\narchitectures: [amd64]\nkeyring: missing.asc\nrepos:\n  - {name: base, url: \"https://r.example/{arch}\"}\n"),
		write("deb.yaml", "name: mine\nformat: deb\narchitectures: [amd64]\nkeyring: missing.asc\nsuites:\n  - {name: stable, url: \"https://apt.example/debian\"}\n"),
	} {
		if d.NeedsMirrors() {
			t.Fatalf("%s needs mirrors", d.Name)
		}
		_, _, _, err := o.OpenIndex(context.Background(), d)
		if err == nil || !strings.Contains(err.Error(), "missing.asc") || strings.Contains(err.Error(), "apt") {
			t.Errorf("%s: %v; want the missing keyring, and nothing of apt", d.Name, err)
		}
	}
	deb, err := distro.Get("debian:bookworm")
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = o.OpenIndex(context.Background(), deb)
	if err == nil || !strings.Contains(err.Error(), "host apt sources") || !strings.Contains(err.Error(), "Mirrors.Archive") {
		t.Errorf("debian:bookworm without mirrors: %v", err)
	}
}
