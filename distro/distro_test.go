package distro

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/packages/rpm"
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
	if _, err := decode("ok.yaml", []byte(ok)); err != nil {
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
		if _, err := decode("bad.yaml", []byte(in)); err == nil || !strings.Contains(err.Error(), want) {
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
	_, _, err = d.Open(context.Background(), &fetch.Cache{Dir: t.TempDir()}, "amd64", m)
	if err == nil || !strings.Contains(err.Error(), "Mirrors.Archive") || !strings.Contains(err.Error(), EnvMirror) {
		t.Fatalf("no mirror: %v", err)
	}
	if _, _, err := d.Open(context.Background(), &fetch.Cache{Dir: t.TempDir()}, "riscv64", m); err == nil || !strings.Contains(err.Error(), "amd64, arm64") {
		t.Fatalf("bad arch: %v", err)
	}
}

func TestDecodeRPM(t *testing.T) {
	ok := "name: x:el\nformat: rpm\narchitectures: [amd64]\nkeyring: k.asc\nrepos:\n  - {name: base, url: \"http://r.example/{arch}/os\"}\n"
	d, err := decode("ok.yaml", []byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	if d.NeedsMirrors() {
		t.Error("an rpm distro needs no mirrors")
	}
	// Payload takes the keys Open returned; only a distro whose metadata
	// is not signed checks packages against them.
	keys := Keys{&openpgp.Entity{}}
	p, isRPM := d.Payload("c", keys).(rpm.Payload)
	if !isRPM || p.Keyring != nil || p.DBPath != DefaultRPMDB || p.CacheDir != "c" || !slices.Equal(d.LibraryDirs(), []string{"/lib64", "/usr/lib64"}) {
		t.Errorf("rpm defaults: %+v %v", p, d.LibraryDirs())
	}
	if _, isDB := d.Payload("", nil).(packages.PackageDB); !isDB {
		t.Error("the rpm payload is not a package database")
	}
	unsigned, err := decode("u.yaml", []byte(strings.Replace(ok, "http://", "https://", 1)+"signed-metadata: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := unsigned.Payload("", keys).(rpm.Payload); len(p.Keyring) != 1 || p.Keyring[0] != keys[0] {
		t.Errorf("unsigned metadata: payload keys %v", p.Keyring)
	}
	if p := unsigned.Payload("", nil).(rpm.Payload); p.Keyring != nil {
		t.Errorf("from a lockfile: payload keys %v", p.Keyring)
	}
	cases := map[string]string{
		ok + "suites: [{name: s, mirror: archive}]\n":                                                 "suites and components are for deb distros",
		strings.Replace(ok, "keyring: k.asc\n", "", 1):                                                "no keyring",
		strings.Replace(ok, "keyring: k.asc", "keyring: debian", 1):                                   "an rpm distro needs its own",
		strings.Replace(ok, "keyring: k.asc", "keyring-urls: [https://k]", 1):                         "need fingerprints",
		ok + "keyring-urls: [http://k]\nfingerprints: [" + strings.Repeat("A", 40) + "]\n":            "is not https",
		ok + "fingerprints: [ABC]\n":                                                                  "not a key fingerprint",
		ok + "signed-metadata: false\n":                                                               "is not https, and signed-metadata is false",
		ok + "rpmdb: var/lib/rpm\n":                                                                   "must be an absolute path",
		strings.Replace(ok, "repos:\n  - {name: base, url: \"http://r.example/{arch}/os\"}\n", "", 1): "no repos",
		ok + "  - {name: base, url: \"http://r.example/2\"}\n":                                        "repeated name",
		strings.Replace(ok, "amd64", "x86_64", 1):                                                     "want an OCI architecture name",
		ok + "release-files: {/etc/../x: a}\n":                                                        "not a clean path under /etc",
		ok + "release-files: {/usr/lib/x: a}\n":                                                       "not a clean path under /etc",
	}
	for in, want := range cases {
		if _, err := decode("bad.yaml", []byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%q) = %v, want %q", in, err, want)
		}
	}
	// Every built-in RPM distro pins its keys and fetches them over https.
	for _, b := range Builtins() {
		if b.Format != "rpm" {
			continue
		}
		if len(b.Fingerprints) == 0 || len(b.KeyringURLs) == 0 || b.signedMetadata() || b.RPMDB == "" || b.OSRelease["PRETTY_NAME"] == "" {
			t.Errorf("%s: %+v", b.Name, b)
		}
		// The release files scanners read: "NAME release VERSION_ID".
		for _, f := range []string{"/etc/redhat-release", "/etc/system-release"} {
			if v := b.ReleaseFiles[f]; !strings.HasSuffix(v, " release "+b.OSRelease["VERSION_ID"]+"\n") {
				t.Errorf("%s: %s = %q", b.Name, f, v)
			}
		}
		for _, r := range b.Repos {
			if !strings.HasPrefix(r.URL, "https://") || !strings.Contains(r.URL, "{arch}") {
				t.Errorf("%s: repo %s", b.Name, r.URL)
			}
		}
	}
}

func TestDistroFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mine.yaml")
	os.WriteFile(p, []byte("name: mine\nformat: deb\narchitectures: [amd64]\nkeyring: keys/archive.asc\nsuites:\n  - {name: stable, url: \"http://apt.example/debian\"}\n"), 0o644)
	if !IsFile(p) || IsFile("debian:bookworm") || !IsFile("mine.yaml") {
		t.Fatal("IsFile")
	}
	d, err := Find(p)
	if err != nil {
		t.Fatal(err)
	}
	if d.NeedsMirrors() {
		t.Error("a suite with a URL needs no mirror")
	}
	if _, ok := d.Payload("", nil).(packages.PackageDB); !ok || d.LibraryDirs() != nil {
		t.Errorf("deb: payload not a package database, or library dirs %v", d.LibraryDirs())
	}
	// The keyring path is relative to the file.
	_, _, err = d.Open(context.Background(), &fetch.Cache{Dir: t.TempDir()}, "amd64", Mirrors{})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "keys/archive.asc")) {
		t.Fatalf("missing keyring: %v", err)
	}
	if _, err := Find(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := Find("nosuch:1"); err == nil || !strings.Contains(err.Error(), "rocky:9") || !strings.Contains(err.Error(), "FILE.yaml") {
		t.Fatalf("unknown distro: %v", err)
	}
}

func TestKeyrings(t *testing.T) {
	var keys [][]byte
	var fprs []string
	for i := range 2 {
		e, err := openpgp.NewEntity(fmt.Sprintf("key %d", i), "", "k@example.invalid", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		w, _ := armor.Encode(&b, openpgp.PublicKeyType, nil)
		e.Serialize(w)
		w.Close()
		keys = append(keys, b.Bytes())
		fprs = append(fprs, fingerprint(e))
	}
	// Two armored blocks in one file, as RPM-GPG-KEY files have.
	both := append(append([]byte("comment\n"), keys[0]...), keys[1]...)
	el, err := readKeyring(both)
	if err != nil || len(el) != 2 {
		t.Fatalf("two blocks: %d keys, %v", len(el), err)
	}
	pinned, err := pinKeys("f", el, []string{strings.ToLower(fprs[1][:4]) + " " + fprs[1][4:]})
	if err != nil || len(pinned) != 1 || fingerprint(pinned[0]) != fprs[1] {
		t.Fatalf("pin: %v %v", pinned, err)
	}
	if _, err := pinKeys("f", el, []string{strings.Repeat("0", 40)}); err == nil || !strings.Contains(err.Error(), fprs[0]) {
		t.Fatalf("no pinned key: %v", err)
	}

	// Downloaded keys: https only, pinned, cached.
	hits := 0
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Write(keys[0])
	}))
	defer s.Close()
	c := &fetch.Cache{Dir: t.TempDir(), Client: s.Client()}
	if _, err := fetchKeyring(context.Background(), c, []string{s.URL + "/k"}, []string{fprs[1]}); err == nil || !strings.Contains(err.Error(), "pinned") {
		t.Fatalf("unpinned download: %v", err)
	}
	for range 2 {
		el, err := fetchKeyring(context.Background(), c, []string{s.URL + "/k"}, []string{fprs[0]})
		if err != nil || len(el) != 1 {
			t.Fatalf("download: %v", err)
		}
	}
	if hits != 2 { // the refused one, then one download cached
		t.Errorf("%d downloads", hits)
	}
	if _, err := fetchKeyring(context.Background(), c, []string{"http://k.example/k"}, []string{fprs[0]}); err == nil || !strings.Contains(err.Error(), "not https") {
		t.Fatalf("http key URL: %v", err)
	}
}

// TestDriverArch: each format names the OCI architectures its own way,
// and a definition's architectures must have a name in its format.
func TestDriverArch(t *testing.T) {
	for _, c := range []struct{ format, oci, want string }{
		{"deb", "amd64", "amd64"}, {"deb", "arm64", "arm64"}, {"deb", "386", "i386"}, {"deb", "ppc64le", "ppc64el"},
		{"rpm", "amd64", "x86_64"}, {"rpm", "arm64", "aarch64"}, {"rpm", "386", "i686"},
		{"deb", "x86_64", ""}, {"rpm", "armhf", ""},
	} {
		got, err := drivers[c.format].arch(c.oci)
		if got != c.want || (err == nil) != (c.want != "") {
			t.Errorf("%s arch(%s) = %q, %v; want %q", c.format, c.oci, got, err, c.want)
		}
	}
	if _, err := decode("x.yaml", []byte("name: x\nformat: apk\narchitectures: [amd64]\n")); err == nil || !strings.Contains(err.Error(), "want deb or rpm") {
		t.Errorf("format apk: %v", err)
	}
}

// TestNoDriver: a Distro made by hand with a format that has no driver
// fails with an error naming the format, and does not panic.
func TestNoDriver(t *testing.T) {
	d := &Distro{Name: "odd", Format: "apk", Architectures: []string{"amd64"}}
	if _, _, err := d.Open(context.Background(), &fetch.Cache{Dir: t.TempDir()}, "amd64", Mirrors{}); err == nil || !strings.Contains(err.Error(), `format "apk"`) {
		t.Errorf("Open: %v", err)
	}
	if err := d.Payload("", nil).Walk("x", nil); err == nil || !strings.Contains(err.Error(), `format "apk"`) {
		t.Errorf("Payload: %v", err)
	}
	if d.NeedsMirrors() || d.LibraryDirs() != nil {
		t.Error("NeedsMirrors or LibraryDirs")
	}
}
