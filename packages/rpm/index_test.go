package rpm

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	crpm "github.com/cavaliergopher/rpm"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/resolver"
)

func readKey(t testing.TB, path string) openpgp.EntityList {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	el, err := openpgp.ReadArmoredKeyRing(f)
	if err != nil {
		t.Fatal(err)
	}
	return el
}

// serve serves dir over http on 127.0.0.1.
func serve(t testing.TB, dir string) string {
	t.Helper()
	s := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(s.Close)
	return s.URL
}

// copyTree copies a directory (for tests that damage a repository).
func copyTree(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func fixtureSpec(t testing.TB, base string) Spec {
	fx := needFixture(t)
	return Spec{
		Name:    "fixture",
		Arch:    "x86_64",
		Keyring: readKey(t, fx.KeyFile),
		Repos:   []Repo{{Name: "releases", URL: base + "/releases"}, {Name: "updates", URL: base + "/updates"}},
	}
}

func openFixture(t testing.TB) (*Index, *fetch.Cache) {
	t.Helper()
	fx := needFixture(t)
	base := serve(t, filepath.Dir(fx.Repos["releases"]))
	c := &fetch.Cache{Dir: t.TempDir()}
	ix, err := Open(context.Background(), c, fixtureSpec(t, base))
	if err != nil {
		t.Fatal(err)
	}
	return ix, c
}

func names(ps []*packages.Package) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name+"-"+p.Version+"."+p.Arch)
	}
	return out
}

func TestIndexSatisfiers(t *testing.T) {
	ix, _ := openFixture(t)
	for _, c := range []struct {
		atom packages.Atom
		want []string
	}{
		// Sonames, from rpmbuild's automatic Provides.
		{packages.Atom{Name: "libdemo.so.1()(64bit)"}, []string{"libdemo-1.0-1.x86_64"}},
		{packages.Atom{Name: "libc.so.6(GLIBC_2.34)(64bit)"}, []string{"glibc-2.99-1.x86_64"}},
		// Versions across repositories, newest first: 1.1~rc1 > 1.0^git1
		// > 1.0; the module stream's 9.0 is not offered.
		{packages.Atom{Name: "demo-data"}, []string{"demo-data-1.1~rc1-1.noarch", "demo-data-1.0^git1-1.noarch", "demo-data-1.0-1.noarch"}},
		{packages.Atom{Name: "demo-data", Op: "<", Version: "1.1"}, []string{"demo-data-1.1~rc1-1.noarch", "demo-data-1.0^git1-1.noarch", "demo-data-1.0-1.noarch"}},
		// 1.0^git1 is after 1.0; a relation without release matches every
		// release of 1.0.
		{packages.Atom{Name: "demo-data", Op: "<=", Version: "1.0"}, []string{"demo-data-1.0-1.noarch"}},
		{packages.Atom{Name: "demo-data", Op: "<=", Version: "1.0^git1"}, []string{"demo-data-1.0^git1-1.noarch", "demo-data-1.0-1.noarch"}},
		{packages.Atom{Name: "demo-data", Op: "=", Version: "1.0-1"}, []string{"demo-data-1.0-1.noarch"}},
		{packages.Atom{Name: "demo-data", Op: ">", Version: "8"}, nil},
		// Epochs.
		{packages.Atom{Name: "openssl-libs", Op: "=", Version: "1:3.5.1-1"}, []string{"openssl-libs-1:3.5.1-1.x86_64"}},
		{packages.Atom{Name: "openssl-libs", Op: ">=", Version: "3.6"}, []string{"openssl-libs-1:3.5.1-1.x86_64"}},
		{packages.Atom{Name: "openssl-libs", Op: "=", Version: "3.5.1-1"}, nil},
		// A virtual name: the smallest provider first (the minimal
		// langpack), versioned Provides.
		{packages.Atom{Name: "glibc-langpack"}, []string{"glibc-minimal-langpack-2.99-1.x86_64", "glibc-all-langpacks-2.99-1.x86_64"}},
		{packages.Atom{Name: "glibc-langpack", Op: "=", Version: "2.99-1"}, []string{"glibc-minimal-langpack-2.99-1.x86_64", "glibc-all-langpacks-2.99-1.x86_64"}},
		{packages.Atom{Name: "glibc-langpack", Op: ">", Version: "2.99"}, nil},
		// Files: a path primary lists, a virtual path (Provides: /bin/sh)
		// and a path only filelists has.
		{packages.Atom{Name: "/usr/bin/demo"}, []string{"demo-1.0-1.x86_64"}},
		{packages.Atom{Name: "/bin/sh"}, []string{"bash-5.2-1.x86_64"}},
		{packages.Atom{Name: "/usr/share/demo-data/data.txt"}, []string{"demo-data-1.1~rc1-1.noarch", "demo-data-1.0^git1-1.noarch", "demo-data-1.0-1.noarch"}},
		{packages.Atom{Name: "/usr/share/nothing"}, nil},
		{packages.Atom{Name: "nothing"}, nil},
		{packages.Atom{Name: "demo-data", Op: "=", Version: "1:2:3"}, nil},
	} {
		if got := names(ix.Satisfiers(c.atom)); !slices.Equal(got, c.want) {
			t.Errorf("Satisfiers(%s) = %v, want %v", c.atom, got, c.want)
		}
	}
	if p := ix.Lookup("demo-data"); p == nil || p.Version != "1.1~rc1-1" {
		t.Errorf("Lookup(demo-data) = %v", p)
	}
	n := ix.Names()
	if !slices.Contains(n, "demo") || !slices.Contains(n, "glibc") || !slices.IsSorted(n) || len(slices.Compact(slices.Clone(n))) != len(n) {
		t.Errorf("Names() = %v", n)
	}
	if len(ix.Sources()) != 4 {
		t.Errorf("Sources() = %v", ix.Sources())
	}
	if p := ix.Problems(); len(p) != 0 {
		t.Errorf("Problems() = %v", p)
	}
	// The index's own Lookup is packages.Lookup: the newest real package,
	// never a provider.
	for _, name := range append(n, "rtld(GNU_HASH)", "/usr/bin/demo", "nosuch") {
		if got, want := ix.Lookup(name), packages.LookupSatisfiers(ix, name); got != want {
			t.Errorf("Lookup(%s) = %v, LookupSatisfiers = %v", name, got, want)
		}
	}
	if ix.Lookup("rtld(GNU_HASH)") != nil {
		t.Errorf("Lookup of a capability = %v", ix.Lookup("rtld(GNU_HASH)"))
	}
}

func TestIndexPackage(t *testing.T) {
	ix, _ := openFixture(t)
	demo := ix.Lookup("demo")
	if demo == nil {
		t.Fatal("no demo")
	}
	var deps []string
	for _, d := range demo.Depends {
		deps = append(deps, d.String())
	}
	got := strings.Join(deps, "\n")
	for _, want := range []string{"libdemo.so.1()(64bit)", "libc.so.6(GLIBC_2.34)(64bit)", "(demo-data (>= 1.0) with demo-data (< 2))", "(demo-extras if libdemo)", "demo-absent | demo-data"} {
		if !strings.Contains(got, want) {
			t.Errorf("demo's requirements lack %s:\n%s", want, got)
		}
	}
	// Requires(post) and rpmlib() are not followed.
	for _, not := range []string{"bash", "rpmlib(", "/bin/sh"} {
		if strings.Contains(got, not) {
			t.Errorf("demo's requirements have %s:\n%s", not, got)
		}
	}
	if demo.SHA256 == "" || demo.Size <= 0 || !strings.HasSuffix(demo.URL, "/releases/demo-1.0-1.x86_64.rpm") || demo.Origin != "releases" || demo.Source != "demo" {
		t.Errorf("demo = %+v", demo)
	}
	if !slices.Contains(demo.Provides, "demo(x86-64) = 1.0-1") {
		t.Errorf("demo provides %v", demo.Provides)
	}
}

// TestResolve runs the format-neutral resolver over the index.
func TestResolve(t *testing.T) {
	ix, _ := openFixture(t)
	res, err := resolver.Resolve(ix, []resolver.Level{
		{Name: "base", Roots: []resolver.Root{{Name: "glibc"}}},
		{Name: "app", Roots: []resolver.Root{{Name: "demo"}}},
	}, resolver.Options{Prune: []resolver.PruneRule{{Name: "basesystem", Reason: "r"}, {Name: "bash", Reason: "r"}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range res.Packages {
		got = append(got, s.Pkg.Name+"-"+s.Pkg.Version+"@"+res.Levels[s.Level].Name)
	}
	want := []string{"demo-1.0-1@app", "demo-data-1.1~rc1-1@app", "demo-extras-1.0-1@app", "glibc-2.99-1@base", "glibc-minimal-langpack-2.99-1@base", "libdemo-1.0-1@app"}
	if !slices.Equal(got, want) {
		t.Errorf("closure = %v\nwant      %v", got, want)
	}
	var pruned []string
	for _, p := range res.Pruned {
		pruned = append(pruned, p.Name)
	}
	if !slices.Equal(pruned, []string{"basesystem"}) {
		t.Errorf("pruned = %v", pruned)
	}
}

// TestOpenCached opens again from a warm cache, offline.
func TestOpenCached(t *testing.T) {
	fx := needFixture(t)
	base := serve(t, filepath.Dir(fx.Repos["releases"]))
	c := &fetch.Cache{Dir: t.TempDir()}
	if _, err := Open(context.Background(), c, fixtureSpec(t, base)); err != nil {
		t.Fatal(err)
	}
	spec := fixtureSpec(t, "http://127.0.0.1:1") // nothing listens there
	c2 := &fetch.Cache{Dir: c.Dir, Offline: true}
	if _, err := Open(context.Background(), c2, spec); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Fatalf("offline open of other URLs: %v", err)
	}
	spec = fixtureSpec(t, base)
	ix, err := Open(context.Background(), c2, spec)
	if err != nil {
		t.Fatalf("offline open: %v", err)
	}
	if p := ix.Lookup("demo"); p == nil {
		t.Fatal("no demo offline")
	}
	// Within RefreshAfter, an online open downloads nothing: the server
	// may be gone.
	gone := httptest.NewServer(http.NotFoundHandler())
	spec = fixtureSpec(t, gone.URL)
	gone.Close()
	if _, err := Open(context.Background(), &fetch.Cache{Dir: c.Dir, RetryDelay: time.Millisecond}, spec); err == nil {
		t.Fatal("a repository never opened was opened")
	}
	spec = fixtureSpec(t, base)
	spec.RefreshAfter = time.Hour
	if _, err := Open(context.Background(), &fetch.Cache{Dir: c.Dir, Client: &http.Client{Transport: failingTransport{}}}, spec); err != nil {
		t.Fatalf("warm open within RefreshAfter: %v", err)
	}
}

// TestOpenRefuses damages a repository in the ways a mirror or attacker
// could: each is refused with an error naming the file, and nothing of
// it enters the cache.
func TestOpenRefuses(t *testing.T) {
	fx := needFixture(t)
	primaryOf := func(repo string) string {
		m, _ := filepath.Glob(filepath.Join(repo, "repodata", "*-primary.xml.*"))
		if len(m) != 1 {
			t.Fatalf("primary of %s: %v", repo, m)
		}
		return m[0]
	}
	for _, c := range []struct {
		name   string
		damage func(repo string)
		want   string
	}{
		{"tampered repomd.xml", func(repo string) {
			p := filepath.Join(repo, "repodata", "repomd.xml")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte("<revision>"), []byte("<revision>1"), 1), 0o644)
		}, "bad signature"},
		{"signed by another key", func(repo string) {
			if err := fx.SignRepomd(fx.OtherGPGHome, repo); err != nil {
				t.Fatal(err)
			}
		}, "signed by a key that is not in the keyring"},
		{"no signature", func(repo string) {
			os.Remove(filepath.Join(repo, "repodata", "repomd.xml.asc"))
		}, "404"},
		{"garbage signature", func(repo string) {
			os.WriteFile(filepath.Join(repo, "repodata", "repomd.xml.asc"), []byte("-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n"), 0o644)
		}, "bad signature"},
		{"primary checksum mismatch", func(repo string) {
			p := primaryOf(repo)
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0xff
			os.WriteFile(p, b, 0o644)
		}, "sha256 mismatch"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := copyTree(t, filepath.Dir(fx.Repos["releases"]))
			c.damage(filepath.Join(dir, "releases"))
			base := serve(t, dir)
			cache := &fetch.Cache{Dir: t.TempDir()}
			_, err := Open(context.Background(), cache, fixtureSpec(t, base))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "/releases/") {
				t.Fatalf("Open = %v, want an error naming the releases repository with %q", err, c.want)
			}
			if _, err := cache.Get(repomdKeyPrefix + base + "/releases/repodata/repomd.xml"); err == nil && c.want != "sha256 mismatch" {
				t.Error("the refused repomd.xml entered the cache")
			}
			if c.want == "sha256 mismatch" {
				damaged, _ := os.ReadFile(primaryOf(filepath.Join(dir, "releases")))
				sum := sha256.Sum256(damaged)
				if _, ok := cache.Blob(hex.EncodeToString(sum[:])); ok {
					t.Error("the damaged primary file is in the cache")
				}
			}
		})
	}
}

// TestUnsignedMetadata: a repository without repomd.xml.asc is accepted
// only over https, and its packages must then carry a valid signature.
func TestUnsignedMetadata(t *testing.T) {
	fx := needFixture(t)
	dir := copyTree(t, filepath.Dir(fx.Repos["releases"]))
	for _, r := range []string{"releases", "updates"} {
		os.Remove(filepath.Join(dir, r, "repodata", "repomd.xml.asc"))
	}
	s := httptest.NewTLSServer(http.FileServer(http.Dir(dir)))
	defer s.Close()
	cache := &fetch.Cache{Dir: t.TempDir(), Client: s.Client()}
	spec := fixtureSpec(t, s.URL)
	spec.UnsignedMetadata = true
	ix, err := Open(context.Background(), cache, spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.Repos[0].URL = "http://127.0.0.1:1/releases"
	if _, err := Open(context.Background(), cache, spec); err == nil || !strings.Contains(err.Error(), "not https") {
		t.Fatalf("plain http without signed metadata: %v", err)
	}

	demo := ix.Lookup("demo")
	file, err := cache.Fetch(context.Background(), demo.URL, demo.Size, demo.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	walk := func(p Payload, file string) error {
		return p.Walk(file, func(*tar.Header, io.Reader) error { return nil })
	}
	if err := walk(Payload{Keyring: spec.Keyring}, file); err != nil {
		t.Fatalf("signed package: %v", err)
	}
	if err := walk(Payload{Keyring: readKey(t, fx.OtherKeyFile)}, file); err == nil || !strings.Contains(err.Error(), "bad package signature") {
		t.Fatalf("package checked against another key: %v", err)
	}
	// The same package without its signature, and with another signer.
	unsigned := filepath.Join(t.TempDir(), "demo.rpm")
	copyFile(t, file, unsigned)
	if out, err := exec.Command("rpmsign", "--delsign", unsigned).CombinedOutput(); err != nil {
		t.Fatalf("rpmsign --delsign: %v\n%s", err, out)
	}
	if err := walk(Payload{Keyring: spec.Keyring}, unsigned); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Fatalf("unsigned package: %v", err)
	}
	other := filepath.Join(t.TempDir(), "demo.rpm")
	copyFile(t, file, other)
	if err := fx.Sign(fx.OtherGPGHome, other); err != nil {
		t.Fatal(err)
	}
	if err := walk(Payload{Keyring: spec.Keyring}, other); err == nil || !strings.Contains(err.Error(), "bad package signature") {
		t.Fatalf("package signed by another key: %v", err)
	}
	// A damaged payload under a valid header signature.
	damaged := filepath.Join(t.TempDir(), "demo.rpm")
	copyFile(t, file, damaged)
	b, _ := os.ReadFile(damaged)
	b[len(b)-40] ^= 0x55
	os.WriteFile(damaged, b, 0o644)
	if err := walk(Payload{Keyring: spec.Keyring}, damaged); err == nil || !strings.Contains(err.Error(), "payload digest mismatch") {
		t.Fatalf("damaged payload: %v", err)
	}
	// With the unpack cache: a cached conversion is used only after the
	// package's signature is checked again.
	cacheDir := t.TempDir()
	if err := walk(Payload{CacheDir: cacheDir}, file); err != nil {
		t.Fatal(err)
	}
	if err := walk(Payload{CacheDir: cacheDir, Keyring: readKey(t, fx.OtherKeyFile)}, file); err == nil || !strings.Contains(err.Error(), "bad package signature") {
		t.Fatalf("cached package checked against another key: %v", err)
	}
	if err := walk(Payload{CacheDir: cacheDir, Keyring: spec.Keyring}, file); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

type walked struct {
	name, link string
	typ        byte
	mode       int64
	uid        int
	size       int64
	data       string
	mtime      int64
}

func walkAll(t testing.TB, p Payload, file string) ([]walked, error) {
	var out []walked
	err := p.Walk(file, func(h *tar.Header, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		out = append(out, walked{h.Name, h.Linkname, h.Typeflag, h.Mode, h.Uid, h.Size, string(b), h.ModTime.Unix()})
		return nil
	})
	return out, err
}

func TestPayload(t *testing.T) {
	fx := needFixture(t)
	got, err := walkAll(t, Payload{}, fx.RPMs["demo-1.0-1.x86_64.rpm"])
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]walked{}
	var order []string
	for _, w := range got {
		byName[w.name] = w
		order = append(order, w.name)
	}
	// One name of the hard link set has the content; it comes first and
	// the other links to it.
	a, b := byName["./usr/bin/demo"], byName["./usr/bin/demo-hardlink"]
	if a.typ == tar.TypeLink {
		a, b = b, a
	}
	if a.typ != tar.TypeReg || a.mode != 0o755 || a.size == 0 || len(a.data) != int(a.size) || !strings.HasPrefix(a.data, "\x7fELF") {
		t.Errorf("the hard link set's content: %s %c %o %d", a.name, a.typ, a.mode, a.size)
	}
	if b.typ != tar.TypeLink || b.link != a.name || slices.Index(order, a.name) > slices.Index(order, b.name) {
		t.Errorf("the hard link: %s %c -> %s (order %v)", b.name, b.typ, b.link, order)
	}
	if w := byName["./usr/bin/demo-link"]; w.typ != tar.TypeSymlink || w.link != "demo" {
		t.Errorf("symlink: %+v", w)
	}
	if w := byName["./usr/share/demo/README"]; w.mode != 0o640 || w.data != "readme\n" {
		t.Errorf("README (mode from the header): %+v", w)
	}
	if w := byName["./var/lib/demo"]; w.typ != tar.TypeDir || w.mode != 0o750 || w.uid != 0 {
		t.Errorf("directory of an unknown owner: %+v", w)
	}
	if _, ok := byName["./var/log/demo.log"]; ok {
		t.Error("a ghost file was yielded")
	}
	// Each entry's mtime is the one the package header gives (as rpm
	// installs it), not the epoch.
	pkg, err := crpm.Open(fx.RPMs["demo-1.0-1.x86_64.rpm"])
	if err != nil {
		t.Fatal(err)
	}
	for _, fi := range pkg.Files() {
		w, ok := byName["."+fi.Name()]
		if !ok {
			continue // %ghost
		}
		if w.mtime != fi.ModTime().Unix() || w.mtime < 1e9 {
			t.Errorf("%s: mtime %d, the header has %d", w.name, w.mtime, fi.ModTime().Unix())
		}
	}

	// Every package, whatever its compressor; the unpack cache gives the
	// same entries.
	cache := t.TempDir()
	for name, file := range fx.RPMs {
		direct, err := walkAll(t, Payload{}, file)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for range 2 {
			cached, err := walkAll(t, Payload{CacheDir: cache}, file)
			if err != nil {
				t.Fatalf("%s (cache): %v", name, err)
			}
			if !slices.Equal(direct, cached) {
				t.Fatalf("%s: cached walk differs:\n%v\n%v", name, direct, cached)
			}
		}
	}
	if entries, _ := os.ReadDir(cache); len(entries) != len(fx.RPMs) {
		t.Errorf("unpack cache has %d entries for %d packages", len(entries), len(fx.RPMs))
	}
}

// TestPayloadCorrupt: damaged package files are errors, not crashes.
func TestPayloadCorrupt(t *testing.T) {
	fx := needFixture(t)
	src, err := os.ReadFile(fx.RPMs["demo-1.0-1.x86_64.rpm"])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	try := func(name string, b []byte) {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		if _, err := walkAll(t, Payload{}, p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	try("empty", nil)
	try("lead only", src[:96])
	try("truncated header", src[:600])
	try("truncated payload", src[:len(src)-100])
	bad := bytes.Clone(src)
	bad[0] ^= 0xff
	try("bad magic", bad)
	bad = bytes.Clone(src)
	bad[len(bad)-200] ^= 0xff
	try("damaged payload", bad)
	// Damage inside the header index.
	hd, err := readHeaders(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	mainOff := len(src) - int(int64(len(src))-hd.payload) - len(hd.main)
	bad = bytes.Clone(src)
	binary.BigEndian.PutUint32(bad[mainOff+16+8:], 0x7fffffff) // first entry's offset
	try("header offset out of range", bad)
}

// TestPackageDB writes the rpm database of the fixture's packages and
// reads it with rpm itself.
func TestPackageDB(t *testing.T) {
	fx := needFixture(t)
	var in []packages.Installed
	var want []string
	var files []string
	for name := range fx.RPMs {
		files = append(files, name)
	}
	sort.Strings(files)
	for _, name := range files {
		if strings.HasPrefix(name, "demo-data-") && !strings.HasPrefix(name, "demo-data-1.0-1") {
			continue // one version of a name, as in an image
		}
		in = append(in, packages.Installed{Pkg: &packages.Package{Name: name, Arch: "x86_64"}, File: fx.RPMs[name]})
		out, err := exec.Command("rpm", "-qp", "--nosignature", "--qf", "%{NEVRA}", fx.RPMs[name]).Output()
		if err != nil {
			t.Fatalf("rpm -qp %s: %v", name, err)
		}
		want = append(want, string(out))
	}
	created := time.Unix(1700000000, 0)
	p := Payload{DBPath: "/var/lib/rpm"}
	out, err := p.PackageDB(in, created)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Path != "/var/lib/rpm/rpmdb.sqlite" {
		t.Fatalf("files %v", out)
	}
	again, err := p.PackageDB(in, created)
	if err != nil || !bytes.Equal(again[0].Data, out[0].Data) {
		t.Fatal("the database differs between two writes")
	}
	root := t.TempDir()
	db := filepath.Join(root, "var/lib/rpm")
	os.MkdirAll(db, 0o755)
	os.WriteFile(filepath.Join(db, "rpmdb.sqlite"), out[0].Data, 0o644)
	rpmBin, err := exec.LookPath("rpm")
	if err != nil {
		t.Fatalf("rpm is not installed (scripts/test.sh installs it): %v", err)
	}
	q := func(args ...string) string {
		cmd := exec.Command(rpmBin, append([]string{"--dbpath", db}, args...)...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("rpm %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	got := strings.Fields(q("-qa", "--qf", "%{NEVRA}\\n"))
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("rpm -qa:\n%v\nwant\n%v", got, want)
	}
	if s := q("-qf", "/usr/bin/demo"); strings.TrimSpace(s) != "demo-1.0-1.x86_64" {
		t.Errorf("rpm -qf /usr/bin/demo = %q", s)
	}
	if s := q("-q", "--whatprovides", "libdemo.so.1()(64bit)"); strings.TrimSpace(s) != "libdemo-1.0-1.x86_64" {
		t.Errorf("rpm -q --whatprovides = %q", s)
	}
	if s := q("-qi", "demo"); !strings.Contains(s, "Key ID") || !strings.Contains(s, "Install Date") {
		t.Errorf("rpm -qi demo: no signature or install date:\n%s", s)
	}
}

// TestV3Signature checks the version 3 signatures Red Hat's signing
// servers make, with a key made here.
func TestV3Signature(t *testing.T) {
	e, err := openpgp.NewEntity("v3 test", "", "v3@example.invalid", &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("the header bytes")
	sign := func(data []byte) []byte {
		body := []byte{3, 5, 0, 0x65, 0x43, 0x21, 0x00}
		body = binary.BigEndian.AppendUint64(body, e.PrimaryKey.KeyId)
		body = append(body, 1, 8)
		h := sha256.New()
		h.Write(data)
		h.Write(body[2:7])
		d := h.Sum(nil)
		body = append(body, d[0], d[1])
		s, err := rsa.SignPKCS1v15(nil, e.PrivateKey.PrivateKey.(*rsa.PrivateKey), crypto.SHA256, d)
		if err != nil {
			t.Fatal(err)
		}
		body = binary.BigEndian.AppendUint16(body, uint16(len(s)*8))
		body = append(body, s...)
		pkt := []byte{0x89}
		pkt = binary.BigEndian.AppendUint16(pkt, uint16(len(body)))
		return append(pkt, body...)
	}
	sig := sign(data)
	kr := openpgp.EntityList{e}
	if err := checkSignature(kr, data, sig, &packet.Config{}); err != nil {
		t.Fatalf("valid v3 signature: %v", err)
	}
	if err := checkSignature(kr, []byte("other bytes"), sig, &packet.Config{}); err == nil {
		t.Fatal("v3 signature of other data accepted")
	}
	bad := bytes.Clone(sig)
	bad[len(bad)-1] ^= 1
	if err := checkSignature(kr, data, bad, &packet.Config{}); err == nil {
		t.Fatal("damaged v3 signature accepted")
	}
	other, _ := openpgp.NewEntity("other", "", "o@example.invalid", &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048})
	if err := checkSignature(openpgp.EntityList{other}, data, sig, &packet.Config{}); err == nil {
		t.Fatal("v3 signature checked against another key")
	}
}

// failingTransport fails every request.
type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errorString("no network in this test")
}
