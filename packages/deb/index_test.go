package deb_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
	"github.com/distroless-dev/distroless/packages/fetch"
)

var ctx = context.Background()

func spec(a *debtest.Archive, suites ...string) deb.Spec {
	s := deb.Spec{Name: "test", Keyring: a.Keyring, Arch: a.Arch}
	for _, n := range suites {
		s.Suites = append(s.Suites, deb.Suite{Mirror: a.URL, Name: n, Components: []string{"main"}})
	}
	return s
}

func open(t *testing.T, a *debtest.Archive, suites ...string) (*deb.Index, *fetch.Cache) {
	t.Helper()
	c := &fetch.Cache{Dir: t.TempDir()}
	ix, err := deb.Open(ctx, c, spec(a, suites...))
	if err != nil {
		t.Fatal(err)
	}
	return ix, c
}

func names(ps []*packages.Package) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

var basic = debtest.Suite{Name: "bookworm", Packages: []debtest.Package{
	{Name: "libc6", Version: "2.36-9+deb12u4", Source: "glibc", MultiArch: "same", InstalledSize: 12000},
	{Name: "hello", Version: "2.10-3", PreDepends: "dpkg (>= 1.15)",
		Depends: "libc6 (>= 2.34), foo:any | bar (<< 2~) [amd64], baz [!amd64], qux <!nocheck>, quux <stage1>, libx:native, liby:amd64"},
	{Name: "dpkg", Version: "1.21.22", MultiArch: "foreign"},
	{Name: "tzdata", Version: "2024a-0+deb12u1", Architecture: "all", MultiArch: "foreign"},
	{Name: "i386only", Version: "1.0", Architecture: "i386"},
}}

func TestOpenAndConvert(t *testing.T) {
	a := debtest.NewArchive(t, basic)
	ix, _ := open(t, a, "bookworm")

	libc := ix.Lookup("libc6")
	if libc == nil {
		t.Fatal("libc6 missing")
	}
	if libc.Version != "2.36-9+deb12u4" || libc.Arch != "amd64" || libc.Source != "glibc" ||
		libc.InstalledSize != 12000*1024 || libc.Origin != "bookworm" ||
		libc.Location != "pool/main/g/glibc/libc6_2.36-9+deb12u4_amd64.deb" ||
		libc.URL != a.URL+"/"+libc.Location || len(libc.SHA256) != 64 || libc.Size == 0 {
		t.Errorf("libc6 = %+v", libc)
	}
	if ix.MultiArch(libc) != "same" || ix.Field(libc, "Source") != "glibc" || ix.Field(libc, "package") != "libc6" {
		t.Errorf("fields: %q %q", ix.MultiArch(libc), ix.Field(libc, "Source"))
	}
	// A package of no index, or an equal copy, has no fields.
	if cp := *libc; ix.Field(&cp, "Source") != "" || ix.Field(&packages.Package{Name: "libc6"}, "Package") != "" {
		t.Error("Field of a package that is not the index's")
	}
	// The pool file is what the stanza says.
	data := a.File(libc.Location)
	if debtest.Digest(data) != libc.SHA256 || int64(len(data)) != libc.Size {
		t.Error("pool file does not match the stanza")
	}

	hello := ix.Lookup("hello")
	var deps []string
	for _, d := range hello.Depends {
		deps = append(deps, d.String())
	}
	want := []string{
		"dpkg (>= 1.15)",
		"libc6 (>= 2.34)",
		"foo:any | bar (< 2~)",
		"qux",
		"libx:native",
		"liby:amd64",
	}
	if !reflect.DeepEqual(deps, want) {
		t.Errorf("hello depends\n got %q\nwant %q", deps, want)
	}
	if hello.Depends[2].Kind != packages.DepOr || hello.Depends[1].Kind != packages.DepAtom {
		t.Error("dependency kinds")
	}

	if got := ix.Names(); !reflect.DeepEqual(got, []string{"dpkg", "hello", "libc6", "tzdata"}) {
		t.Errorf("Names = %q", got)
	}
	if ix.Lookup("i386only") != nil {
		t.Error("a package of another architecture was loaded")
	}
	if ix.Lookup("tzdata") == nil {
		t.Error("an Architecture: all package is missing")
	}
	srcs := ix.Sources()
	if len(srcs) != 2 || srcs[0].URL != a.URL+"/dists/bookworm/InRelease" ||
		srcs[0].SHA256 != debtest.Digest(a.File("dists/bookworm/InRelease")) ||
		srcs[1].URL != a.URL+"/dists/bookworm/main/binary-amd64/Packages.gz" ||
		srcs[1].SHA256 != debtest.Digest(a.File("dists/bookworm/main/binary-amd64/Packages.gz")) {
		t.Errorf("Sources = %+v", srcs)
	}
	if p := ix.Problems(); len(p) != 0 {
		t.Errorf("problems %v", p)
	}
}

func TestPlainPackages(t *testing.T) {
	s := basic
	s.PlainOnly = true
	a := debtest.NewArchive(t, s)
	ix, _ := open(t, a, "bookworm")
	if ix.Lookup("libc6") == nil {
		t.Fatal("libc6 missing")
	}
	if src := ix.Sources(); !strings.HasSuffix(src[1].URL, "/Packages") {
		t.Errorf("Sources = %+v", src)
	}
}

func TestSeparateArchAll(t *testing.T) {
	a := debtest.New(t, debtest.Config{Suites: []debtest.Suite{basic}, SeparateAll: true})
	ix, _ := open(t, a, "bookworm")
	if p := ix.Lookup("tzdata"); p == nil || p.Arch != "all" {
		t.Fatalf("tzdata from binary-all: %+v", p)
	}
	if ix.Lookup("libc6") == nil {
		t.Fatal("libc6 missing")
	}
	if n := len(ix.Sources()); n != 3 {
		t.Errorf("Sources = %+v", ix.Sources())
	}
	// With the header (the default) binary-all is not fetched.
	b := debtest.NewArchive(t, basic)
	open(t, b, "bookworm")
	for _, r := range b.Requests() {
		if strings.Contains(r, "binary-all") {
			t.Errorf("fetched %s", r)
		}
	}
}

func TestByHash(t *testing.T) {
	a := debtest.New(t, debtest.Config{Suites: []debtest.Suite{basic}, ByHash: true})
	ix, _ := open(t, a, "bookworm")
	if ix.Lookup("libc6") == nil {
		t.Fatal("libc6 missing")
	}
	var byHash bool
	for _, r := range a.Requests() {
		byHash = byHash || strings.Contains(r, "/by-hash/SHA256/")
	}
	if !byHash {
		t.Errorf("by-hash not used: %q", a.Requests())
	}
}

func TestSignatureUnknownKey(t *testing.T) {
	a := debtest.NewArchive(t, basic)
	other := debtest.PublicKeyring(t, debtest.NewKey(t, "someone else"))
	s := spec(a, "bookworm")
	s.Keyring = other
	_, err := deb.Open(ctx, &fetch.Cache{Dir: t.TempDir()}, s)
	wantErr(t, err, a.URL+"/dists/bookworm/InRelease", "no valid signature")
}

func TestSignatureOneOfSeveral(t *testing.T) {
	unknown, known := debtest.NewKey(t, "unknown"), debtest.NewKey(t, "known")
	a := debtest.New(t, debtest.Config{Suites: []debtest.Suite{basic}, Signers: []*openpgp.Entity{unknown, known}})
	s := spec(a, "bookworm")
	s.Keyring = debtest.PublicKeyring(t, known)
	if _, err := deb.Open(ctx, &fetch.Cache{Dir: t.TempDir()}, s); err != nil {
		t.Fatal(err)
	}
}

func TestSignatureTampered(t *testing.T) {
	a := debtest.NewArchive(t, basic)
	in := a.File("dists/bookworm/InRelease")
	bad := bytes.Replace(in, []byte("Label: Debtest"), []byte("Label: Evil"), 1)
	if bytes.Equal(in, bad) {
		t.Fatal("tampering failed")
	}
	a.SetFile("dists/bookworm/InRelease", bad)
	_, err := deb.Open(ctx, &fetch.Cache{Dir: t.TempDir()}, spec(a, "bookworm"))
	wantErr(t, err, a.URL+"/dists/bookworm/InRelease")

	a.SetFile("dists/bookworm/InRelease", a.File("dists/bookworm/Release"))
	_, err = deb.Open(ctx, &fetch.Cache{Dir: t.TempDir()}, spec(a, "bookworm"))
	wantErr(t, err, a.URL+"/dists/bookworm/InRelease", "not a clearsigned file")
}

func TestPackagesChecksumMismatch(t *testing.T) {
	a := debtest.NewArchive(t, basic)
	p := "dists/bookworm/main/binary-amd64/Packages.gz"
	a.SetFile(p, debtest.Gzip([]byte("Package: evil\nVersion: 1\n")))
	c := &fetch.Cache{Dir: t.TempDir()}
	_, err := deb.Open(ctx, c, spec(a, "bookworm"))
	wantErr(t, err, a.URL+"/"+p, "mismatch")
	// Nothing of it was cached.
	blobs, _ := os.ReadDir(filepath.Dir(c.BlobPath(debtest.Digest(nil))))
	for _, b := range blobs {
		if len(b.Name()) != 64 {
			t.Errorf("leftover %s", b.Name())
		}
	}
}

func TestDecompressedChecksumMismatch(t *testing.T) {
	a := debtest.NewArchive(t, basic)
	// Re-sign a Release whose uncompressed Packages digest is wrong but
	// whose Packages.gz entry is right.
	rel := string(a.File("dists/bookworm/Release"))
	plain := debtest.Digest(a.File("dists/bookworm/main/binary-amd64/Packages"))
	rel = strings.Replace(rel, plain, debtest.Digest([]byte("other")), 1)
	a.SetFile("dists/bookworm/InRelease", debtest.Clearsign(t, []byte(rel), a.Signers...))
	_, err := deb.Open(ctx, &fetch.Cache{Dir: t.TempDir()}, spec(a, "bookworm"))
	wantErr(t, err, "Packages.gz", "sha256 mismatch")
}

func TestValidUntil(t *testing.T) {
	s := basic
	s.ValidUntil = time.Now().Add(-30 * time.Minute)
	a := debtest.NewArchive(t, s)
	_, err := deb.Open(ctx, &fetch.Cache{Dir: t.TempDir()}, spec(a, "bookworm"))
	wantErr(t, err, a.URL+"/dists/bookworm/InRelease", "Valid-Until", s.ValidUntil.UTC().Format(time.RFC1123), "stale")

	sp := spec(a, "bookworm")
	sp.IgnoreValidUntil = true
	if _, err := deb.Open(ctx, &fetch.Cache{Dir: t.TempDir()}, sp); err != nil {
		t.Fatalf("IgnoreValidUntil: %v", err)
	}
	sp = spec(a, "bookworm")
	sp.Now = s.ValidUntil.Add(-time.Minute)
	if _, err := deb.Open(ctx, &fetch.Cache{Dir: t.TempDir()}, sp); err != nil {
		t.Fatalf("Now before Valid-Until: %v", err)
	}
}

func TestSuiteMerge(t *testing.T) {
	a := debtest.NewArchive(t,
		debtest.Suite{Name: "bookworm", Packages: []debtest.Package{
			{Name: "openssl", Version: "3.0.11-1~deb12u2"},
			{Name: "tzdata", Version: "2024a-0+deb12u1", Architecture: "all"},
			{Name: "base-files", Version: "12.4+deb12u5"},
		}},
		debtest.Suite{Name: "bookworm-updates", Packages: []debtest.Package{
			{Name: "tzdata", Version: "2025a-0+deb12u1", Architecture: "all"},
			{Name: "base-files", Version: "12.4+deb12u4"}, // older: ignored
		}},
		debtest.Suite{Name: "bookworm-security", Packages: []debtest.Package{
			{Name: "openssl", Version: "3.0.15-1~deb12u1"},
		}},
	)
	ix, _ := open(t, a, "bookworm", "bookworm-updates", "bookworm-security")
	for name, want := range map[string][2]string{
		"openssl":    {"3.0.15-1~deb12u1", "bookworm-security"},
		"tzdata":     {"2025a-0+deb12u1", "bookworm-updates"},
		"base-files": {"12.4+deb12u5", "bookworm"},
	} {
		p := ix.Lookup(name)
		if p == nil || p.Version != want[0] || p.Origin != want[1] {
			t.Errorf("%s = %+v; want %v", name, p, want)
		}
		if got := ix.Satisfiers(packages.Atom{Name: name}); len(got) != 1 || got[0] != p {
			t.Errorf("Satisfiers(%s) = %v", name, got)
		}
	}
	if got := ix.Names(); !reflect.DeepEqual(got, []string{"base-files", "openssl", "tzdata"}) {
		t.Errorf("Names = %q", got)
	}
	if n := len(ix.Sources()); n != 6 {
		t.Errorf("%d sources", n)
	}
}

func TestSatisfiers(t *testing.T) {
	a := debtest.NewArchive(t, debtest.Suite{Name: "sid", Packages: []debtest.Package{
		{Name: "epoch", Version: "1:1.0-1"},
		{Name: "tilde", Version: "2.0~rc1-1"},
		{Name: "exim4", Version: "4.96-15", Provides: "mail-transport-agent"},
		{Name: "postfix", Version: "3.7.10-0+deb12u1", Provides: "mail-transport-agent, default-mta"},
		{Name: "libfoo3", Version: "3.1-1", Provides: "libfoo-abi (= 3), libfoo-any"},
		{Name: "libfoo2", Version: "2.0-1", Provides: "libfoo-abi (= 2)"},
		{Name: "awk-real", Version: "1.0-1", Provides: "awk"},
		{Name: "awk", Version: "0.5-1"},
		{Name: "python3", Version: "3.11.2-1+b1", MultiArch: "allowed"},
		{Name: "perl-base", Version: "5.36.0-7"},
		{Name: "coreutils", Version: "9.1-1", MultiArch: "foreign"},
		{Name: "py-provider", Version: "1.0", MultiArch: "allowed", Provides: "python3-virtual"},
		{Name: "plain-provider", Version: "1.0", Provides: "python3-virtual"},
		{Name: "self", Version: "1.0", Provides: "self"},
	}})
	ix, _ := open(t, a, "sid")
	for _, tc := range []struct {
		atom packages.Atom
		want []string
	}{
		{packages.Atom{Name: "epoch", Op: ">=", Version: "2.0"}, []string{"epoch"}},
		{packages.Atom{Name: "epoch", Op: ">=", Version: "1:1.0"}, []string{"epoch"}},
		{packages.Atom{Name: "epoch", Op: "<", Version: "1:1.0"}, nil},
		{packages.Atom{Name: "epoch", Op: "=", Version: "1:1.0-1"}, []string{"epoch"}},
		{packages.Atom{Name: "epoch", Op: "=", Version: "1.0-1"}, nil},
		{packages.Atom{Name: "tilde", Op: ">=", Version: "2.0"}, nil},
		{packages.Atom{Name: "tilde", Op: "<", Version: "2.0"}, []string{"tilde"}},
		{packages.Atom{Name: "tilde", Op: ">", Version: "2.0~beta"}, []string{"tilde"}},
		{packages.Atom{Name: "tilde", Op: "<=", Version: "2.0~rc1-1"}, []string{"tilde"}},
		{packages.Atom{Name: "tilde", Op: "<<", Version: "2.0~rc1-1"}, nil},
		{packages.Atom{Name: "mail-transport-agent"}, []string{"exim4", "postfix"}},
		{packages.Atom{Name: "default-mta"}, []string{"postfix"}},
		{packages.Atom{Name: "libfoo-abi"}, []string{"libfoo2", "libfoo3"}},
		{packages.Atom{Name: "libfoo-abi", Op: ">=", Version: "3"}, []string{"libfoo3"}},
		{packages.Atom{Name: "libfoo-abi", Op: "=", Version: "2"}, []string{"libfoo2"}},
		{packages.Atom{Name: "libfoo-any", Op: ">=", Version: "1"}, nil}, // unversioned provide
		{packages.Atom{Name: "libfoo-any"}, []string{"libfoo3"}},
		{packages.Atom{Name: "awk"}, []string{"awk", "awk-real"}}, // real package first
		{packages.Atom{Name: "awk", Op: ">=", Version: "1"}, nil},
		{packages.Atom{Name: "self"}, []string{"self"}},
		{packages.Atom{Name: "python3", Arch: "any"}, []string{"python3"}},
		{packages.Atom{Name: "python3", Arch: "native"}, []string{"python3"}},
		{packages.Atom{Name: "python3", Arch: "amd64"}, []string{"python3"}},
		{packages.Atom{Name: "python3", Arch: "arm64"}, nil},
		{packages.Atom{Name: "perl-base", Arch: "any"}, nil}, // not Multi-Arch: allowed
		{packages.Atom{Name: "perl-base"}, []string{"perl-base"}},
		{packages.Atom{Name: "coreutils"}, []string{"coreutils"}},
		{packages.Atom{Name: "python3-virtual"}, []string{"plain-provider", "py-provider"}},
		{packages.Atom{Name: "python3-virtual", Arch: "any"}, []string{"py-provider"}},
		{packages.Atom{Name: "nonexistent"}, nil},
		{packages.Atom{Name: "epoch", Op: ">=", Version: "not a version!"}, nil},
	} {
		got := names(ix.Satisfiers(tc.atom))
		if tc.want == nil {
			tc.want = []string{}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Satisfiers(%s) = %q, want %q", tc.atom, got, tc.want)
		}
	}
	// The index's own Lookup is packages.Lookup: the real package, never
	// a provider, for every name and for virtual ones.
	for _, n := range append(ix.Names(), "mail-transport-agent", "default-mta", "libfoo-abi", "python3-virtual", "nosuch") {
		if got, want := ix.Lookup(n), packages.LookupSatisfiers(ix, n); got != want {
			t.Errorf("Lookup(%s) = %v, LookupSatisfiers = %v", n, got, want)
		}
	}
	if ix.Lookup("awk") == nil || ix.Lookup("awk").Name != "awk" || ix.Lookup("default-mta") != nil {
		t.Errorf("Lookup(awk) = %v, Lookup(default-mta) = %v", ix.Lookup("awk"), ix.Lookup("default-mta"))
	}
}

func TestConcurrentUse(t *testing.T) {
	a := debtest.NewArchive(t, basic)
	ix, _ := open(t, a, "bookworm")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, n := range []string{"libc6", "hello", "dpkg", "tzdata", "nope"} {
				ix.Satisfiers(packages.Atom{Name: n})
				ix.Lookup(n)
			}
			ix.Names()
		}()
	}
	wg.Wait()
}

func TestOffline(t *testing.T) {
	a := debtest.NewArchive(t, basic)
	dir := t.TempDir()
	// Cold and offline: a clear error.
	_, err := deb.Open(ctx, &fetch.Cache{Dir: dir, Offline: true}, spec(a, "bookworm"))
	wantErr(t, err, "offline", a.URL+"/dists/bookworm/InRelease", dir)

	online, err := deb.Open(ctx, &fetch.Cache{Dir: dir}, spec(a, "bookworm"))
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	// Warm and offline: no network needed.
	ix, err := deb.Open(ctx, &fetch.Cache{Dir: dir, Offline: true}, spec(a, "bookworm"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ix.Lookup("hello"), online.Lookup("hello")) {
		t.Error("offline index differs")
	}
	if !reflect.DeepEqual(ix.Sources(), online.Sources()) {
		t.Error("offline sources differ")
	}
	// Warm and online, InRelease fresh: no network either.
	if _, err := deb.Open(ctx, &fetch.Cache{Dir: dir}, spec(a, "bookworm")); err != nil {
		t.Fatalf("warm online open with the server down: %v", err)
	}
	// Asked to refresh: the server is down, so it fails.
	s := spec(a, "bookworm")
	s.RefreshAfter = -1
	if _, err := deb.Open(ctx, &fetch.Cache{Dir: dir, RetryDelay: time.Millisecond}, s); err == nil {
		t.Fatal("refresh with the server down succeeded")
	}
}

func TestOfflineExpiredInRelease(t *testing.T) {
	s := basic
	s.ValidUntil = time.Now().Add(time.Hour)
	a := debtest.NewArchive(t, s)
	dir := t.TempDir()
	if _, err := deb.Open(ctx, &fetch.Cache{Dir: dir}, spec(a, "bookworm")); err != nil {
		t.Fatal(err)
	}
	sp := spec(a, "bookworm")
	sp.Now = time.Now().Add(2 * time.Hour)
	_, err := deb.Open(ctx, &fetch.Cache{Dir: dir, Offline: true}, sp)
	wantErr(t, err, "Valid-Until", "stale")
}

func TestRefreshPicksUpNewRelease(t *testing.T) {
	a := debtest.NewArchive(t, basic)
	dir := t.TempDir()
	if _, err := deb.Open(ctx, &fetch.Cache{Dir: dir}, spec(a, "bookworm")); err != nil {
		t.Fatal(err)
	}
	upd := basic
	upd.Packages = append([]debtest.Package{{Name: "libc6", Version: "2.36-9+deb12u9", Source: "glibc"}}, basic.Packages[1:]...)
	a.SetSuite(upd)
	s := spec(a, "bookworm")
	s.RefreshAfter = -1
	ix, err := deb.Open(ctx, &fetch.Cache{Dir: dir}, s)
	if err != nil {
		t.Fatal(err)
	}
	if v := ix.Lookup("libc6").Version; v != "2.36-9+deb12u9" {
		t.Errorf("libc6 %s after refresh", v)
	}
}

func TestDamagedSidecarRebuilt(t *testing.T) {
	a := debtest.NewArchive(t, basic)
	dir := t.TempDir()
	if _, err := deb.Open(ctx, &fetch.Cache{Dir: dir}, spec(a, "bookworm")); err != nil {
		t.Fatal(err)
	}
	// Damage every sidecar in the cache.
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		if len(data) > 48 && bytes.HasPrefix(data[40:], []byte("DLDEBIX1")) { // after the cache's own header
			data[len(data)/2] ^= 0xff
			data[70] ^= 0xff
			os.WriteFile(p, data[:len(data)-3], 0o644)
			n++
		}
		return nil
	})
	if n == 0 {
		t.Fatal("no sidecar found")
	}
	var log bytes.Buffer
	ix, err := deb.Open(ctx, &fetch.Cache{Dir: dir, Offline: true, Log: &log}, spec(a, "bookworm"))
	if err != nil {
		t.Fatal(err)
	}
	if ix.Lookup("hello") == nil {
		t.Fatal("hello missing after rebuild")
	}
	if !strings.Contains(log.String(), "was damaged") {
		t.Errorf("no warning about the damaged sidecar: %q", log.String())
	}
}

func TestBadStanzas(t *testing.T) {
	a := debtest.NewArchive(t, debtest.Suite{Name: "bookworm", Packages: []debtest.Package{
		{Name: "good", Version: "1.0"},
		{Name: "badversion", Version: "abc!"},
		{Name: "baddeps", Version: "1.0", Depends: "foo (>= )"},
		{Name: "badprov", Version: "1.0", Provides: "x (= !!)"},
		{Raw: "Package: nosize\nVersion: 1.0\nArchitecture: amd64\nFilename: pool/x.deb\nSHA256: 00\n"},
		{Raw: "Package: garbage\nArchitecture: amd64\nthis line has no colon\n"},
		{Raw: "Version: 1.0\nArchitecture: amd64\n"},
	}})
	ix, _ := open(t, a, "bookworm")
	if ix.Lookup("good") == nil {
		t.Error("good missing")
	}
	for _, n := range []string{"badversion", "baddeps", "badprov", "nosize", "garbage"} {
		if p := ix.Lookup(n); p != nil {
			t.Errorf("%s loaded: %+v", n, p)
		}
		if len(ix.Satisfiers(packages.Atom{Name: n})) != 0 {
			t.Errorf("%s satisfies", n)
		}
	}
	probs := ix.Problems()
	if len(probs) != 5 {
		t.Errorf("problems: %v", probs)
	}
	for i, n := range []string{"badversion", "baddeps", "badprov", "nosize", "garbage"} {
		if i < len(probs) && !strings.Contains(probs[i].Error(), "package "+n) {
			t.Errorf("problem %d = %v, want it to name %s", i, probs[i], n)
		}
	}
}

func TestSpecErrors(t *testing.T) {
	a := debtest.NewArchive(t, basic)
	c := &fetch.Cache{Dir: t.TempDir()}
	for _, s := range []deb.Spec{
		{Keyring: a.Keyring, Arch: "amd64"},
		{Suites: spec(a, "bookworm").Suites, Arch: "amd64"},
		{Suites: spec(a, "bookworm").Suites, Keyring: a.Keyring},
	} {
		if _, err := deb.Open(ctx, c, s); err == nil {
			t.Errorf("Open(%+v) succeeded", s)
		}
	}
	_, err := deb.Open(ctx, c, spec(a, "nosuch"))
	wantErr(t, err, "nosuch/InRelease", "404")

	s := spec(a, "bookworm")
	s.Suites[0].Components = []string{"contrib"}
	_, err = deb.Open(ctx, c, s)
	wantErr(t, err, "contrib/binary-amd64/Packages")

	s = spec(a, "bookworm")
	s.Arch = "arm64"
	_, err = deb.Open(ctx, c, s)
	wantErr(t, err, "main/binary-arm64/Packages")
}

func TestSuiteNameMismatch(t *testing.T) {
	// An InRelease for another suite served in place of the asked one
	// (a replay) is refused.
	a := debtest.NewArchive(t, basic, debtest.Suite{Name: "trixie", Packages: basic.Packages})
	a.SetFile("dists/trixie/InRelease", a.File("dists/bookworm/InRelease"))
	_, err := deb.Open(ctx, &fetch.Cache{Dir: t.TempDir()}, spec(a, "trixie"))
	wantErr(t, err, "trixie/InRelease", "bookworm")
}

func TestDebianKeyring(t *testing.T) {
	kr, err := deb.DebianKeyring()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range kr {
		for name := range e.Identities {
			ids = append(ids, name)
		}
	}
	all := strings.Join(ids, "\n")
	for _, want := range []string{"12/bookworm", "13/trixie", "Security Archive Automatic Signing Key (12/bookworm)"} {
		if !strings.Contains(all, want) {
			t.Errorf("keyring lacks %q:\n%s", want, all)
		}
	}
}

func TestDebtestDeb(t *testing.T) {
	d := debtest.Deb("Package: xx\nVersion: 1\nArchitecture: amd64\n", nil, []debtest.DebFile{
		{Name: "./usr/", Type: '5'},
		{Name: "./usr/bin/x", Body: []byte("#!/bin/sh\n"), Mode: 0o755},
	})
	if !bytes.HasPrefix(d, []byte("!<arch>\ndebian-binary   ")) {
		t.Fatalf("not an ar archive: %q", d[:32])
	}
	ix, _ := open(t, debtest.NewArchive(t, debtest.Suite{Name: "s", Packages: []debtest.Package{{Name: "xx", Version: "1", Deb: d}}}), "s")
	if p := ix.Lookup("xx"); p == nil || p.Size != int64(len(d)) || p.SHA256 != debtest.Digest(d) {
		t.Errorf("x = %+v", p)
	}
}
