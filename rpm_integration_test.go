package distroless

// Integration tests of the RPM format: real RPM repositories built here
// (packages/rpm/rpmtest: rpmbuild, rpmsign, createrepo_c, gpg; installed
// by scripts/test.sh), served on 127.0.0.1, reached through a distro file
// exactly as the built-in RPM distros are (same code paths: keyring file,
// repomd.xml.asc, primary, filelists, modules, payloads, rpmdb), and the
// images run in podman and read by rpm.

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/packages/rpm/rpmtest"
)

var (
	rpmOnce    sync.Once
	rpmFix     *rpmtest.Fixture
	rpmFixErr  error
	rpmRepoURL string
)

// rpmFixture builds the test repositories once per test run, next to the
// package's download cache (TestMain removes it), and serves them.
func rpmFixture(t *testing.T) *rpmtest.Fixture {
	t.Helper()
	heavy(t, "the test RPM repositories (rpmbuild)")
	rpmOnce.Do(func() {
		if why := rpmtest.Supported(); why != "" {
			rpmFixErr = errors.New(why)
			return
		}
		start := time.Now()
		rpmFix, rpmFixErr = rpmtest.BuildShared(filepath.Join(filepath.Dir(testCache), "rpm-fixture"))
		if rpmFixErr == nil {
			s := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(rpmFix.Repos["releases"]))))
			rpmRepoURL = s.URL // lives as long as the test process
			t.Logf("test RPM repositories built in %v", time.Since(start).Round(time.Millisecond))
		}
	})
	if rpmFixErr != nil {
		t.Fatalf("building the test RPM repositories: %v", rpmFixErr)
	}
	return rpmFix
}

// rpmDistroFile writes a distro file for repositories at base, with its
// keyring next to it, and returns its path.
func rpmDistroFile(t *testing.T, base, keyFile string) string {
	t.Helper()
	dir := t.TempDir()
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "test-key.asc"), key, 0o644); err != nil {
		t.Fatal(err)
	}
	// The test glibc is the host's (Debian's), whose loader searches the
	// multiarch directories; libdemo is in /usr/lib64.
	def := fmt.Sprintf(`name: test:el
format: rpm
architectures: [amd64]
keyring: test-key.asc
repos:
  - {name: releases, url: "%s/releases"}
  - {name: updates, url: "%s/updates"}
library-path: [/usr/lib64, /lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu]
rpmdb: /usr/lib/sysimage/rpm
os-release:
  ID: testel
  NAME: Test EL
  VERSION_ID: "1"
  PRETTY_NAME: Distroless (Test EL 1)
`, base, base)
	p := filepath.Join(dir, "test-el.yaml")
	if err := os.WriteFile(p, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// flatten unpacks an OCI image's layers, bottom first, into a directory.
func flatten(t *testing.T, layout, tag string) string {
	t.Helper()
	root := t.TempDir()
	at := func(name string) string {
		rel := filepath.FromSlash(strings.TrimPrefix(path.Clean("/"+name), "/"))
		if rel == "" {
			rel = "."
		}
		return filepath.Join(root, rel)
	}
	check := func(h *tar.Header, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("flattening %s: %v", h.Name, err)
		}
	}
	// replace removes what a later layer's entry replaces.
	replace := func(p string) error {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	clitest.WalkLayers(t, layout, tag, func(_ int, h *tar.Header, r io.Reader) {
		p := at(h.Name)
		check(h, os.MkdirAll(filepath.Dir(p), 0o755))
		switch h.Typeflag {
		case tar.TypeDir:
			check(h, os.MkdirAll(p, 0o755))
		case tar.TypeSymlink:
			check(h, replace(p))
			check(h, os.Symlink(h.Linkname, p))
		case tar.TypeLink:
			check(h, replace(p))
			check(h, os.Link(at(h.Linkname), p))
		case tar.TypeReg:
			b, err := io.ReadAll(r)
			check(h, err)
			check(h, replace(p))
			check(h, os.WriteFile(p, b, 0o644))
		}
	})
	return root
}

// TestRPMGen resolves and builds an image from the test repositories
// through a distro file and a profile file, runs it, and reads its rpm
// database with rpm.
func TestRPMGen(t *testing.T) {
	integration(t)
	fx := rpmFixture(t)
	distroFile := rpmDistroFile(t, rpmRepoURL, fx.KeyFile)
	cache := filepath.Join(t.TempDir(), "cache")

	// resolve: the closure, and what is left out.
	stdout, stderr, code := cli(t, "resolve", "-f", "testdata/rpm/demo.yaml", "--distro", distroFile, "--cache-dir", cache, "--json")
	if code != 0 {
		t.Fatalf("resolve: exit %d\n%s", code, stderr)
	}
	got := closureOf(t, stdout)
	want := []string{"ca-certificates", "demo", "demo-data", "demo-extras", "glibc", "glibc-minimal-langpack", "libdemo",
		"libgcc", "libgomp", "libstdc++", "mailcap", "openssl-libs", "setup", "tzdata"}
	if !slices.Equal(got, want) {
		t.Errorf("closure = %v\nwant      %v", got, want)
	}
	for _, bad := range []string{"bash", "basesystem", "glibc-all-langpacks", "coreutils"} {
		if slices.Contains(got, bad) {
			t.Errorf("closure has %s", bad)
		}
	}
	if !strings.Contains(stdout, `"1.1~rc1-1"`) || strings.Contains(stdout, "9.0-1.module_demo") {
		t.Errorf("demo-data is not the newest non-modular version:\n%s", stdout)
	}
	stdout, stderr, code = cli(t, "why", "-f", "testdata/rpm/demo.yaml", "basesystem", "--distro", distroFile, "--cache-dir", cache)
	if code != 0 || !strings.Contains(stdout, "basesystem is pruned") || !strings.Contains(stdout, "glibc") {
		t.Errorf("why basesystem: exit %d\n%s%s", code, stdout, stderr)
	}

	// gen, twice from two caches: the same digest.
	dir, err := os.MkdirTemp("", "rpm-gen-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	layout := filepath.Join(dir, "demo")
	digest := genDigest(t, "-f", "testdata/rpm/demo.yaml", "--distro", distroFile, "--cache-dir", cache, "-o", "oci:"+layout+":v1")
	again := genDigest(t, "-f", "testdata/rpm/demo.yaml", "--distro", distroFile, "--cache-dir", filepath.Join(t.TempDir(), "cold"), "-o", "oci:"+filepath.Join(dir, "again")+":v1")
	if again != digest {
		t.Errorf("two builds from two caches: %s and %s", digest, again)
	}

	// The image runs, as nonroot, with no network.
	p := newPodman(t)
	out, errOut, code := p.run(t, 3*time.Minute, "run", "--rm", "--network=none", "oci:"+layout+":v1")
	if code != 0 || !strings.Contains(out, "demo: hello from libdemo") || !strings.Contains(out, "data: candidate 1.1~rc1-1") {
		t.Fatalf("podman run: exit %d\nstdout: %s\nstderr: %s", code, out, clitest.Tail(errOut, 20))
	}

	// Its root filesystem: the rpm database lists every package, the
	// trust bundle holds the one trusted certificate, no shell, no dpkg.
	root := flatten(t, layout, "v1")
	rpmBin := needTool(t, "rpm")
	q, err := exec.Command(rpmBin, "--dbpath", filepath.Join(root, "usr/lib/sysimage/rpm"), "-qa", "--qf", "%{NAME}\\n").CombinedOutput()
	if err != nil {
		t.Fatalf("rpm -qa: %v\n%s", err, q)
	}
	names := strings.Fields(string(q))
	sort.Strings(names)
	if !slices.Equal(names, want) {
		t.Errorf("rpm -qa in the image = %v\nwant %v", names, want)
	}
	rpmScannersList(t, root, want)
	bundle, err := os.ReadFile(filepath.Join(root, "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"))
	if err != nil || !bytes.Contains(bundle, bytes.TrimSpace(fx.TrustedCA)) || bytes.Count(bundle, []byte("BEGIN CERTIFICATE")) != 1 {
		t.Errorf("trust bundle (%v): %d certificates, want the trusted one only", err, bytes.Count(bundle, []byte("BEGIN CERTIFICATE")))
	}
	for _, absent := range []string{"var/lib/dpkg", "usr/bin/bash", "bin/sh", "etc/bashrc", "var/log/demo.log"} {
		if _, err := os.Lstat(filepath.Join(root, absent)); err == nil {
			t.Errorf("the image has /%s", absent)
		}
	}
	if osr, _ := os.ReadFile(filepath.Join(root, "etc/os-release")); !bytes.Contains(osr, []byte(`ID="testel"`)) {
		t.Errorf("os-release:\n%s", osr)
	}

	// The RPM family's cc profile alone: its layers are the demo image's.
	cc := genDigest(t, "cc", "--distro", distroFile, "--cache-dir", cache, "-o", "oci:"+filepath.Join(dir, "cc")+":v1")
	if cc == digest {
		t.Fatal("cc equals demo")
	}
	ccLayers := clitest.ReadLayout(t, filepath.Join(dir, "cc"), "v1").LayerDigests()
	demoLayers := clitest.ReadLayout(t, layout, "v1").LayerDigests()
	for i := 0; i < len(ccLayers)-1; i++ {
		if ccLayers[i] != demoLayers[i] {
			t.Errorf("layer %d differs between cc and demo", i)
		}
	}

	// A lockfile pins the build: a rebuild from it alone (no index) gives
	// the same image.
	lock := filepath.Join(dir, "demo.lock")
	locked := genDigest(t, "-f", "testdata/rpm/demo.yaml", "--distro", distroFile, "--cache-dir", cache, "--lock", lock, "-o", "oci:"+filepath.Join(dir, "locked")+":v1")
	rebuilt := genDigest(t, "-f", "testdata/rpm/demo.yaml", "--distro", distroFile, "--cache-dir", filepath.Join(t.TempDir(), "cold2"), "--lock", lock, "-o", "oci:"+filepath.Join(dir, "rebuilt")+":v1")
	if locked != digest || rebuilt != digest {
		t.Errorf("lockfile builds %s and %s, want %s", locked, rebuilt, digest)
	}
}

// closureOf reads the package names of resolve --json.
func closureOf(t *testing.T, out string) []string {
	var j struct {
		Packages []struct {
			Name string `json:"name"`
		} `json:"packages"`
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var names []string
	for _, p := range j.Packages {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// TestRPMRefused serves damaged copies of the repositories: each damage
// is refused with an error that names it, and no image is written.
func TestRPMRefused(t *testing.T) {
	integration(t)
	fx := rpmFixture(t)
	glob1 := func(pattern string) string {
		m, _ := filepath.Glob(pattern)
		if len(m) != 1 {
			t.Fatalf("%s: %v", pattern, m)
		}
		return m[0]
	}
	flip := func(p string, at func(n int) int) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[at(len(b))] ^= 0x5a
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name    string
		damage  func(root string)
		keyFile string
		want    []string
	}{
		{"tampered repomd.xml", func(root string) {
			p := filepath.Join(root, "releases/repodata/repomd.xml")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte("<revision>"), []byte("<revision>9"), 1), 0o644)
		}, "", []string{"releases/repodata/repomd.xml", "bad signature"}},
		{"signed by another key", func(root string) {
			if err := fx.SignRepomd(fx.OtherGPGHome, filepath.Join(root, "updates")); err != nil {
				t.Fatal(err)
			}
		}, "", []string{"updates/repodata/repomd.xml", "not in the keyring"}},
		{"checked against another key", func(string) {}, fx.OtherKeyFile, []string{"repodata/repomd.xml", "not in the keyring"}},
		{"primary checksum mismatch", func(root string) {
			flip(glob1(filepath.Join(root, "updates/repodata/*-primary.xml.zst")), func(n int) int { return n / 2 })
		}, "", []string{"primary.xml.zst", "sha256 mismatch"}},
		{"corrupted package", func(root string) {
			flip(filepath.Join(root, "releases/libdemo-1.0-1.x86_64.rpm"), func(n int) int { return n - 100 })
		}, "", []string{"libdemo-1.0-1.x86_64.rpm", "sha256 mismatch"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			if out, err := exec.Command("cp", "-a", filepath.Dir(fx.Repos["releases"])+"/.", root).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v\n%s", err, out)
			}
			c.damage(root)
			s := httptest.NewServer(http.FileServer(http.Dir(root)))
			defer s.Close()
			key := fx.KeyFile
			if c.keyFile != "" {
				key = c.keyFile
			}
			distroFile := rpmDistroFile(t, s.URL, key)
			out := filepath.Join(t.TempDir(), "img")
			_, stderr, code := cli(t, "gen", "-f", "testdata/rpm/demo.yaml", "--distro", distroFile, "--cache-dir", filepath.Join(t.TempDir(), "cache"), "-o", "oci:"+out+":v1")
			wantRefused(t, stderr, code, c.want, out)
		})
	}

	// --keyring replaces the distro file's keyring: the right key
	// rescues a distro file naming the wrong one.
	distroFile := rpmDistroFile(t, rpmRepoURL, fx.OtherKeyFile)
	if _, stderr, code := cli(t, "resolve", "-f", "testdata/rpm/demo.yaml", "--distro", distroFile, "--keyring", fx.KeyFile, "--cache-dir", filepath.Join(t.TempDir(), "cache")); code != 0 {
		t.Errorf("--keyring with the right key: exit %d\n%s", code, stderr)
	}
}

// TestRPMDistroChoice: python3.12 is an RPM-family profile; Debian
// releases do not package it.
func TestRPMDistroChoice(t *testing.T) {
	integration(t)
	_, stderr, code := cli(t, "resolve", "python3.12", "--distro", "debian:bookworm", "--cache-dir", testCache)
	if code != 1 || !strings.Contains(stderr, "python3.12 is not packaged by debian:bookworm; it packages python3.11") || !strings.Contains(stderr, "rocky:9") {
		t.Fatalf("python3.12 on bookworm: exit %d\n%s", code, stderr)
	}
	// Without --distro: the first built-in distro that packages it, or,
	// where a distro before it cannot be read (as on the test machines,
	// which reach no RPM repository), an error naming that distro, after
	// what the distros read before it package.
	_, stderr, code = cli(t, "resolve", "python3.12", "--cache-dir", testCache)
	switch {
	case code == 0:
		if !strings.Contains(stderr, "python3.12: using ") {
			t.Errorf("no note of the distro picked:\n%s", stderr)
		}
	case code == 1:
		for _, want := range []string{" could not be read, so whether it packages python3.12 is unknown", "--distro",
			"python3.12 is not packaged by debian:trixie; it packages python3.13", "python3.12 is not packaged by debian:bookworm; it packages python3.11"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
		if strings.Contains(stderr, "fedora:44 could not be read") {
			t.Errorf("went on past the first distro it could not read:\n%s", stderr)
		}
	default:
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// The RPM python3.X profile on RPM repositories (the test
	// repositories' python3.12 stands in for AppStream's).
	fx := rpmFixture(t)
	distroFile := rpmDistroFile(t, rpmRepoURL, fx.KeyFile)
	out, stderr, code := cli(t, "resolve", "python3.12", "--distro", distroFile, "--cache-dir", filepath.Join(t.TempDir(), "cache"), "--json")
	if code != 0 {
		t.Fatalf("python3.12 on the test repositories: exit %d\n%s", code, stderr)
	}
	got := closureOf(t, out)
	for _, want := range []string{"python3.12", "python3.12-libs", "libdemo", "glibc", "libstdc++", "tzdata"} {
		if !slices.Contains(got, want) {
			t.Errorf("python3.12 closure lacks %s: %v", want, got)
		}
	}
	_, stderr, code = cli(t, "resolve", "python3.11", "--distro", distroFile, "--cache-dir", filepath.Join(t.TempDir(), "cache"))
	if code != 1 || !strings.Contains(stderr, "python3.11 is not packaged by test:el; it packages python3.12") {
		t.Errorf("python3.11 on the test repositories: exit %d\n%s", code, stderr)
	}

	// A distro file that is not one.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nformat: rpm\narchitectures: [amd64]\nkeyring: k.asc\nsuites: [{name: s, mirror: archive}]\n"), 0o644)
	if _, stderr, code := cli(t, "resolve", "base", "--distro", bad, "--cache-dir", testCache); code != 1 || !strings.Contains(stderr, "suites and components are for deb distros") {
		t.Errorf("bad distro file: exit %d\n%s", code, stderr)
	}
}

// TestRPMUnsignedMetadata takes the path of the built-in RPM distros:
// repositories without repomd.xml.asc, served over https, the key
// downloaded from a URL and accepted only with its pinned fingerprint,
// and every package's own signature checked.
func TestRPMUnsignedMetadata(t *testing.T) {
	integration(t)
	fx := rpmFixture(t)
	root := t.TempDir()
	if out, err := exec.Command("cp", "-a", filepath.Dir(fx.Repos["releases"])+"/.", root).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	for _, r := range []string{"releases", "updates"} {
		os.Remove(filepath.Join(root, r, "repodata", "repomd.xml.asc"))
	}
	key, _ := os.ReadFile(fx.KeyFile)
	os.WriteFile(filepath.Join(root, "RPM-GPG-KEY-test"), key, 0o644)
	s := httptest.NewTLSServer(http.FileServer(http.Dir(root)))
	defer s.Close()
	certFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(certFile, pemCert(s.Certificate().Raw), 0o644)
	t.Setenv("SSL_CERT_FILE", certFile) // the distroless binary trusts the test server

	distroFile := func(fpr string) string {
		p := filepath.Join(t.TempDir(), "https-el.yaml")
		def := fmt.Sprintf(`name: test:https
format: rpm
architectures: [amd64]
keyring-urls: ["%s/RPM-GPG-KEY-test"]
fingerprints: [%s]
signed-metadata: false
repos:
  - {name: releases, url: "%s/releases"}
  - {name: updates, url: "%s/updates"}
library-path: [/usr/lib64, /lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu]
`, s.URL, fpr, s.URL, s.URL)
		os.WriteFile(p, []byte(def), 0o644)
		return p
	}
	good := distroFile(fx.Fingerprint)
	cache := filepath.Join(t.TempDir(), "cache")
	out := filepath.Join(t.TempDir(), "img")
	genDigest(t, "-f", "testdata/rpm/demo.yaml", "--distro", good, "--cache-dir", cache, "-o", "oci:"+out+":v1")

	// A key whose fingerprint is not the pinned one is refused.
	_, stderr, code := cli(t, "resolve", "-f", "testdata/rpm/demo.yaml", "--distro", distroFile(strings.Repeat("AB", 20)), "--cache-dir", filepath.Join(t.TempDir(), "c"))
	if code != 1 || !strings.Contains(stderr, "no key with a pinned fingerprint") {
		t.Errorf("wrong fingerprint: exit %d\n%s", code, stderr)
	}

	// A package signed by another key (the repository indexed again, so
	// that only its signature is wrong) is refused by gen, naming it.
	pkg := filepath.Join(root, "releases", "libdemo-1.0-1.x86_64.rpm")
	if err := fx.Sign(fx.OtherGPGHome, pkg); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("createrepo_c", "--quiet", "--no-database", "--update", filepath.Join(root, "releases")).CombinedOutput(); err != nil {
		t.Fatalf("createrepo_c: %v\n%s", err, b)
	}
	out2 := filepath.Join(t.TempDir(), "img")
	_, stderr, code = cli(t, "gen", "-f", "testdata/rpm/demo.yaml", "--distro", good, "--cache-dir", filepath.Join(t.TempDir(), "c2"), "-o", "oci:"+out2+":v1")
	if code != 1 || !strings.Contains(stderr, "libdemo-1.0-1.x86_64") || !strings.Contains(stderr, "bad package signature") {
		t.Errorf("package signed by another key: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(out2); err == nil {
		t.Error("an image was written")
	}
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
