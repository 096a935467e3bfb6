package deb_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// The integration tests use the Debian mirror the host's apt sources name
// and a cache shared between test runs (DISTROLESS_TEST_CACHE, else the
// user cache directory), so only the first run downloads.

func hostMirrors(t testing.TB) (archive, security string) {
	t.Helper()
	archive, security, err := deb.HostMirrors("/")
	if err != nil {
		t.Fatalf("cannot discover a Debian mirror from the host's apt sources: %v", err)
	}
	if archive == "" || security == "" {
		t.Fatalf("host apt sources name archive %q and security %q; both are needed", archive, security)
	}
	return archive, security
}

func testCacheDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("DISTROLESS_TEST_CACHE"); d != "" {
		return d
	}
	d, err := fetch.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(d, "test")
}

func debianSpec(t testing.TB, release, arch string) deb.Spec {
	t.Helper()
	archive, security := hostMirrors(t)
	kr, err := deb.DebianKeyring()
	if err != nil {
		t.Fatal(err)
	}
	return deb.Spec{
		Name: "debian-" + release,
		Suites: []deb.Suite{
			{Mirror: archive, Name: release, Components: []string{"main"}},
			{Mirror: archive, Name: release + "-updates", Components: []string{"main"}},
			{Mirror: security, Name: release + "-security", Components: []string{"main"}},
		},
		Keyring: kr,
		Arch:    arch,
	}
}

// openShared opens each real distro once per test binary.
var (
	realMu  sync.Mutex
	realIdx = map[string]*deb.Index{}
)

func openReal(t testing.TB, release string) *deb.Index {
	t.Helper()
	realMu.Lock()
	defer realMu.Unlock()
	if ix := realIdx[release]; ix != nil {
		return ix
	}
	c := &fetch.Cache{Dir: testCacheDir(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ix, err := deb.Open(ctx, c, debianSpec(t, release, "amd64"))
	if err != nil {
		t.Fatalf("open %s: %v", release, err)
	}
	realIdx[release] = ix
	return ix
}

func TestRealBookworm(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (the Debian mirror of the host's apt sources): skipped with -short")
	}
	ix := openReal(t, "bookworm")
	libc := ix.Lookup("libc6")
	if libc == nil {
		t.Fatal("libc6 missing")
	}
	if libc.Arch != "amd64" || libc.SHA256 == "" || libc.Size == 0 || libc.Source != "glibc" {
		t.Errorf("libc6: %+v", libc)
	}
	if ix.Lookup("python3.11-minimal") == nil {
		t.Error("python3.11-minimal missing")
	}
	py := ix.Satisfiers(packages.Atom{Name: "python3"})
	if len(py) == 0 || py[0].Name != "python3" {
		t.Fatalf("Satisfiers(python3) = %v", py)
	}
	if ix.MultiArch(py[0]) != "allowed" {
		t.Errorf("python3 Multi-Arch %q", ix.MultiArch(py[0]))
	}
	if got := ix.Satisfiers(packages.Atom{Name: "python3", Arch: "any"}); len(got) == 0 {
		t.Error("python3:any unsatisfied")
	}
	// A virtual package with several providers.
	if got := ix.Satisfiers(packages.Atom{Name: "awk"}); len(got) < 2 {
		t.Errorf("awk providers: %v", got)
	}
	srcs := ix.Sources()
	if len(srcs) != 6 {
		t.Errorf("Sources: %v", srcs)
	}
	for _, s := range srcs {
		if len(s.SHA256) != 64 {
			t.Errorf("source %+v", s)
		}
	}
	names := ix.Names()
	if len(names) < 50000 {
		t.Errorf("only %d names", len(names))
	}
	if p := ix.Problems(); len(p) > 0 {
		t.Errorf("problems: %v", p)
	}
}

func TestRealTrixie(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (the Debian mirror of the host's apt sources): skipped with -short")
	}
	ix := openReal(t, "trixie")
	if ix.Lookup("libc6") == nil {
		t.Fatal("libc6 missing")
	}
	if ix.Lookup("python3.13-minimal") == nil {
		t.Error("python3.13-minimal missing")
	}
}

// TestRealAllStanzasParse parses every package of bookworm: the converter
// must handle everything the real archive contains.
func TestRealAllStanzasParse(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (the Debian mirror of the host's apt sources): skipped with -short")
	}
	ix := openReal(t, "bookworm")
	for _, n := range ix.Names() {
		if ix.Lookup(n) == nil {
			t.Errorf("%s listed but not found", n)
		}
	}
	if p := ix.Problems(); len(p) > 0 {
		t.Errorf("%d problems, first: %v", len(p), p[0])
	}
}
