package deb

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// Benchmarks on the real bookworm archive, through a cache shared between
// runs (DISTROLESS_TEST_CACHE, else the user cache directory):
//
//	go test -run '^$' -bench . -benchmem ./packages/deb/
//
// BenchmarkIndexReady* also time `xz -dc` of the same Packages.xz and
// report it as the xz-dc-ms metric, for comparison on the same machine.

func benchCache(b *testing.B) *fetch.Cache {
	dir := os.Getenv("DISTROLESS_TEST_CACHE")
	if dir == "" {
		d, err := fetch.DefaultDir()
		if err != nil {
			b.Fatal(err)
		}
		dir = filepath.Join(d, "test")
	}
	return &fetch.Cache{Dir: dir}
}

func benchSpec(b *testing.B) Spec {
	archive, security, err := HostMirrors("/")
	if err != nil || archive == "" || security == "" {
		b.Fatalf("no Debian mirror in the host's apt sources: %q %q %v", archive, security, err)
	}
	kr, err := DebianKeyring()
	if err != nil {
		b.Fatal(err)
	}
	return Spec{
		Name: "debian-bookworm",
		Suites: []Suite{
			{Mirror: archive, Name: "bookworm"},
			{Mirror: archive, Name: "bookworm-updates"},
			{Mirror: security, Name: "bookworm-security"},
		},
		Keyring: kr, Arch: "amd64",
	}
}

// mainFile returns bookworm main amd64's Packages variant kind (fetched
// into the cache) and the Release entry of the uncompressed file.
func mainFile(b *testing.B, c *fetch.Cache, kind string) (string, releaseEntry) {
	s := benchSpec(b)
	ctx := context.Background()
	rel, err := loadRelease(ctx, c, s, s.Suites[0], time.Now())
	if err != nil {
		b.Fatal(err)
	}
	p := "main/binary-amd64/Packages"
	e, ok := rel.Files[p+"."+kind]
	if !ok {
		b.Fatalf("no %s.%s", p, kind)
	}
	url := strings.TrimRight(s.Suites[0].Mirror, "/") + "/dists/bookworm/" + p + "." + kind
	path, err := c.Fetch(ctx, url, e.Size, e.SHA256)
	if err != nil {
		b.Fatal(err)
	}
	return path, rel.Files[p]
}

func timeXZ(b *testing.B, c *fetch.Cache) time.Duration {
	xzPath, _ := mainFile(b, c, "xz")
	if _, err := exec.LookPath("xz"); err != nil {
		return 0
	}
	best := time.Duration(1 << 62)
	for i := 0; i < 3; i++ {
		start := time.Now()
		cmd := exec.Command("xz", "-dc", xzPath)
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		best = min(best, time.Since(start))
	}
	return best
}

func benchIndexReady(b *testing.B, kind string) {
	c := benchCache(b)
	src, unpacked := mainFile(b, c, kind)
	xzTime := timeXZ(b, c)
	b.SetBytes(unpacked.Size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		tmp := &fetch.Cache{Dir: b.TempDir()}
		b.StartTimer()
		if _, _, err := indexPackages(tmp, src, kind, unpacked, "Packages."+kind); err != nil {
			b.Fatal(err)
		}
	}
	if xzTime > 0 {
		b.ReportMetric(float64(xzTime.Microseconds())/1000, "xz-dc-ms")
	}
}

// BenchmarkIndexReady: Packages.gz → verified decompressed blob in the
// cache + sidecar index (bookworm main amd64).
func BenchmarkIndexReady(b *testing.B) { benchIndexReady(b, "gz") }

// BenchmarkIndexReadyXZ: the same from Packages.xz.
func BenchmarkIndexReadyXZ(b *testing.B) { benchIndexReady(b, "xz") }

// BenchmarkOpenWarm opens bookworm, bookworm-updates and bookworm-security
// from a warm cache, offline.
func BenchmarkOpenWarm(b *testing.B) {
	c := benchCache(b)
	s := benchSpec(b)
	if _, err := Open(context.Background(), c, s); err != nil {
		b.Fatal(err)
	}
	off := &fetch.Cache{Dir: c.Dir, Offline: true}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Open(context.Background(), off, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWarmClosure is a warm offline Open plus the naive dependency
// closure of python3 (first satisfier of every relation), which touches
// what a resolve of python3 touches.
func BenchmarkWarmClosure(b *testing.B) {
	c := benchCache(b)
	s := benchSpec(b)
	if _, err := Open(context.Background(), c, s); err != nil {
		b.Fatal(err)
	}
	off := &fetch.Cache{Dir: c.Dir, Offline: true}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix, err := Open(context.Background(), off, s)
		if err != nil {
			b.Fatal(err)
		}
		n := naiveClosure(ix, "python3")
		if n < 10 {
			b.Fatalf("closure of %d packages", n)
		}
	}
}

func naiveClosure(ix *Index, root string) int {
	seen := map[string]bool{}
	queue := []packages.Atom{{Name: root}}
	for len(queue) > 0 {
		a := queue[0]
		queue = queue[1:]
		cands := ix.Satisfiers(a)
		if len(cands) == 0 {
			continue
		}
		p := cands[0]
		if seen[p.Name] {
			continue
		}
		seen[p.Name] = true
		for _, d := range p.Depends {
			switch d.Kind {
			case packages.DepAtom:
				queue = append(queue, d.Atom)
			case packages.DepOr:
				for _, alt := range d.Args {
					if len(ix.Satisfiers(alt.Atom)) > 0 {
						queue = append(queue, alt.Atom)
						break
					}
				}
			}
		}
	}
	return len(seen)
}

// BenchmarkIdentity reads the identity (control file) of every .deb in
// the cache's blobs, the check each package gets before it is unpacked;
// ns/op is per package.
func BenchmarkIdentity(b *testing.B) {
	c := benchCache(b)
	blobs, _ := filepath.Glob(filepath.Join(c.Dir, "blobs", "sha256", "*"))
	var debs []string
	for _, p := range blobs {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		head := make([]byte, 8)
		n, _ := f.Read(head)
		f.Close()
		if n == 8 && string(head) == "!<arch>\n" {
			debs = append(debs, p)
		}
	}
	if len(debs) == 0 {
		b.Fatalf("no .deb in %s: run a gen with that cache first", c.Dir)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := (Payload{}).Identity(debs[i%len(debs)]); err != nil {
			b.Fatalf("%s: %v", debs[i%len(debs)], err)
		}
	}
}

// benchDeb returns a bookworm package's .deb, fetched into the cache.
func benchDeb(b *testing.B, c *fetch.Cache, name string) string {
	s := benchSpec(b)
	ix, err := Open(context.Background(), c, s)
	if err != nil {
		b.Fatal(err)
	}
	p := ix.Lookup(name)
	if p == nil {
		b.Fatalf("no %s in bookworm", name)
	}
	path, err := c.Fetch(context.Background(), p.URL, p.Size, p.SHA256)
	if err != nil {
		b.Fatal(err)
	}
	return path
}

func benchWalk(b *testing.B, p Payload, file string) {
	var n int64
	err := p.Walk(file, func(h *tar.Header, r io.Reader) error {
		m, err := io.Copy(io.Discard, r)
		n += m
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(n)
}

// BenchmarkPayloadWalkXZ walks the data.tar.xz of libpython3.11-stdlib
// (bookworm amd64), decoding it each time.
func BenchmarkPayloadWalkXZ(b *testing.B) {
	file := benchDeb(b, benchCache(b), "libpython3.11-stdlib")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchWalk(b, Payload{}, file)
	}
}

// BenchmarkPayloadWalkCached walks the same package from a warm unpack
// cache (zstd).
func BenchmarkPayloadWalkCached(b *testing.B) {
	file := benchDeb(b, benchCache(b), "libpython3.11-stdlib")
	p := Payload{CacheDir: b.TempDir()}
	if err := p.Prepare(file); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchWalk(b, p, file)
	}
}
