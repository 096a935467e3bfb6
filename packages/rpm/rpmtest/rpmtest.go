// Package rpmtest builds real RPM repositories for tests: packages made
// with rpmbuild (so their dependency metadata is rpm's own: automatic
// soname Requires and Provides, file requirements, scriptlet flags),
// signed with a throwaway key by rpmsign, indexed by createrepo_c, with
// repomd.xml signed by gpg. It needs rpmbuild, rpmsign, createrepo_c,
// modifyrepo_c, gpg and gcc (scripts/test.sh installs them) and runs
// only on amd64 Linux, whose glibc it packages so that the binaries run.
package rpmtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/therootcompany/xz"
)

// Fixture is a built set of repositories.
type Fixture struct {
	Dir string
	// Repos are the repository directories (each holds repodata/ and
	// its packages): "releases" (gzip metadata) and "updates" (xz
	// metadata, a module stream).
	Repos map[string]string
	// KeyFile is the armored public key that signed the packages and
	// both repomd.xml files; Fingerprint is its fingerprint.
	KeyFile, Fingerprint string
	// OtherKeyFile is another key's public half, and OtherGPGHome the
	// home that signs with it (for bad-signature tests).
	OtherKeyFile, OtherGPGHome string
	// GPGHome signs with the fixture's key.
	GPGHome string
	// RPMs maps each package's file name to its path.
	RPMs map[string]string
	// TrustedCA is the one certificate (PEM) of the fixture's
	// ca-certificates that a TLS trust bundle must hold: of the three it
	// lists, one is distrusted and one is for e-mail only.
	TrustedCA []byte
}

// Tools are the programs Build runs.
var Tools = []string{"rpmbuild", "rpmsign", "createrepo_c", "modifyrepo_c", "gpg", "gcc"}

// Supported reports why Build cannot run here, or "".
func Supported() string {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return "the RPM test repositories package the host's amd64 glibc"
	}
	for _, t := range Tools {
		if _, err := exec.LookPath(t); err != nil {
			return t + " is not installed (scripts/test.sh installs it)"
		}
	}
	return ""
}

const libdemoC = `#include <stdio.h>
const char *demo_greeting(void) { return "hello from libdemo"; }
`

const demoC = `#include <stdio.h>
const char *demo_greeting(void);
int main(void) {
	char buf[256];
	printf("demo: %s\n", demo_greeting());
	FILE *f = fopen("/usr/share/demo-data/data.txt", "r");
	if (f && fgets(buf, sizeof buf, f)) printf("data: %s", buf);
	return 0;
}
`

// pkg is one package of the fixture.
type pkg struct {
	repo    string
	spec    string
	payload string // %_binary_payload
}

// specHead is the common start of every spec.
const specHead = `%%global debug_package %%{nil}
%%global _build_id_links none
Name: %s
Version: %s
Release: %s
Summary: distroless test package %s
License: MIT
`

// The fixture's packages. Sources are in %{_sourcedir}.
func fixturePackages() []pkg {
	head := func(name, ver, rel string) string { return fmt.Sprintf(specHead, name, ver, rel, name) }
	return []pkg{
		{"releases", head("glibc", "2.99", "1") + `
Requires: glibc-langpack
Provides: rtld(GNU_HASH)
Requires: basesystem
Requires: (glibc-gconv-extra if redhat-rpm-config)
%description
The host's C library, packaged so that the test binaries run.
%install
mkdir -p %{buildroot}/usr/lib/x86_64-linux-gnu %{buildroot}/usr/lib64
cp -p %{_sourcedir}/libc.so.6 %{_sourcedir}/libm.so.6 %{_sourcedir}/ld-linux-x86-64.so.2 %{buildroot}/usr/lib/x86_64-linux-gnu/
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 %{buildroot}/usr/lib64/ld-linux-x86-64.so.2
%files
/usr/lib/x86_64-linux-gnu/libc.so.6
/usr/lib/x86_64-linux-gnu/libm.so.6
/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
/usr/lib64/ld-linux-x86-64.so.2
`, "w19.zstdio"},
		{"releases", head("glibc-minimal-langpack", "2.99", "1") + `
Provides: glibc-langpack = 2.99-1
%description
The C locale only.
%files
`, "w19.zstdio"},
		{"releases", head("glibc-all-langpacks", "2.99", "1") + `
Provides: glibc-langpack = 2.99-1
%description
Every locale (here: a large file).
%install
mkdir -p %{buildroot}/usr/lib/locale
head -c 300000 /dev/zero > %{buildroot}/usr/lib/locale/locale-archive
%files
/usr/lib/locale/locale-archive
`, "w9.gzdio"},
		{"releases", head("basesystem", "11", "1") + `
BuildArch: noarch
Requires: bash
%description
Orders installation.
%files
`, ""},
		{"releases", head("bash", "5.2", "1") + `
Provides: /bin/sh
Provides: /bin/bash
%description
A shell; no image may contain it.
%install
mkdir -p %{buildroot}/usr/bin
cp -p %{_sourcedir}/true %{buildroot}/usr/bin/bash
%files
/usr/bin/bash
`, ""},
		{"releases", head("libdemo", "1.0", "1") + `
%description
A library with a soname.
%install
mkdir -p %{buildroot}/usr/lib64
cp -p %{_sourcedir}/libdemo.so.1.0 %{buildroot}/usr/lib64/
ln -s libdemo.so.1.0 %{buildroot}/usr/lib64/libdemo.so.1
%files
/usr/lib64/libdemo.so.1.0
/usr/lib64/libdemo.so.1
`, "w2.xzdio"},
		{"releases", head("demo", "1.0", "1") + `
Requires: (demo-data >= 1.0 with demo-data < 2)
Requires: (demo-extras if libdemo)
Requires: (demo-missing if demo-absent)
Requires: (demo-absent or demo-data)
Requires(post): bash
%description
A binary that needs libdemo and libc, a hard link, a symlink, a ghost
file, and an owner the image does not have.
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/demo %{buildroot}/var/log %{buildroot}/var/lib/demo
cp -p %{_sourcedir}/demo %{buildroot}/usr/bin/demo
ln %{buildroot}/usr/bin/demo %{buildroot}/usr/bin/demo-hardlink
ln -s demo %{buildroot}/usr/bin/demo-link
echo readme > %{buildroot}/usr/share/demo/README
%post
echo installed
%files
/usr/bin/demo
/usr/bin/demo-hardlink
/usr/bin/demo-link
%attr(0640,root,root) /usr/share/demo/README
%dir %attr(0750,demo,demo) /var/lib/demo
%ghost /var/log/demo.log
`, "w19.zstdio"},
		{"releases", head("demo-extras", "1.0", "1") + `
BuildArch: noarch
Requires: /usr/share/demo-data/data.txt
Requires: /usr/bin/demo
%description
Needs a file only filelists lists, and one primary lists.
%install
mkdir -p %{buildroot}/usr/share/demo-extras
echo extras > %{buildroot}/usr/share/demo-extras/extras.txt
%files
/usr/share/demo-extras/extras.txt
`, "w9.gzdio"},
		{"releases", head("demo-data", "1.0", "1") + `
BuildArch: noarch
%description
Data (noarch).
%install
mkdir -p %{buildroot}/usr/share/demo-data
echo "release 1.0-1" > %{buildroot}/usr/share/demo-data/data.txt
%files
/usr/share/demo-data/data.txt
`, ""},
		{"releases", head("tzdata", "2026a", "1") + `
BuildArch: noarch
%description
Time zones.
%install
mkdir -p %{buildroot}/usr/share/zoneinfo/Europe
cp -p %{_sourcedir}/UTC %{buildroot}/usr/share/zoneinfo/UTC
cp -p %{_sourcedir}/Paris %{buildroot}/usr/share/zoneinfo/Europe/Paris
%files
/usr/share/zoneinfo
`, ""},
		{"releases", head("setup", "2.13", "1") + `
BuildArch: noarch
Requires: bash
%description
/etc/services and shell start-up files.
%install
mkdir -p %{buildroot}/etc
cp -p %{_sourcedir}/services %{_sourcedir}/protocols %{buildroot}/etc/
echo 'alias ls=ls' > %{buildroot}/etc/bashrc
echo '/bin/sh' > %{buildroot}/etc/shells
%files
/etc/services
/etc/protocols
/etc/bashrc
/etc/shells
`, ""},
		{"releases", head("mailcap", "2.1", "1") + `
BuildArch: noarch
%description
/etc/mime.types.
%install
mkdir -p %{buildroot}/etc
cp -p %{_sourcedir}/mime.types %{buildroot}/etc/
%files
/etc/mime.types
`, ""},
		{"releases", head("ca-certificates", "2026.1", "1") + `
BuildArch: noarch
Requires: bash
Requires: p11-kit-trust
Requires(post): coreutils
%description
Certificates in p11-kit's format; the extracted bundle is a ghost.
%install
mkdir -p %{buildroot}/usr/share/pki/ca-trust-source %{buildroot}/etc/pki/ca-trust/extracted/pem %{buildroot}/etc/pki/tls/certs
cp -p %{_sourcedir}/ca-bundle.trust.p11-kit %{buildroot}/usr/share/pki/ca-trust-source/
touch %{buildroot}/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem
ln -s ../../ca-trust/extracted/pem/tls-ca-bundle.pem %{buildroot}/etc/pki/tls/certs/ca-bundle.crt
%post
update-ca-trust
%files
/usr/share/pki/ca-trust-source/ca-bundle.trust.p11-kit
%dir /etc/pki/ca-trust/extracted/pem
%ghost /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem
/etc/pki/tls/certs/ca-bundle.crt
`, ""},
		{"releases", head("openssl-libs", "3.5.1", "1") + `
Epoch: 1
Requires: ca-certificates
%description
The host's OpenSSL libraries.
%install
mkdir -p %{buildroot}/usr/lib/x86_64-linux-gnu
cp -p %{_sourcedir}/libssl.so.3 %{_sourcedir}/libcrypto.so.3 %{buildroot}/usr/lib/x86_64-linux-gnu/
%files
/usr/lib/x86_64-linux-gnu/libssl.so.3
/usr/lib/x86_64-linux-gnu/libcrypto.so.3
`, "w2.xzdio"},
		{"releases", head("libgcc", "14.2", "1") + `
%description
The host's libgcc_s.
%install
mkdir -p %{buildroot}/usr/lib/x86_64-linux-gnu
cp -p %{_sourcedir}/libgcc_s.so.1 %{buildroot}/usr/lib/x86_64-linux-gnu/
%files
/usr/lib/x86_64-linux-gnu/libgcc_s.so.1
`, ""},
		{"releases", head("libstdc++", "14.2", "1") + `
%description
The host's libstdc++.
%install
mkdir -p %{buildroot}/usr/lib/x86_64-linux-gnu
cp -p %{_sourcedir}/libstdc++.so.6 %{buildroot}/usr/lib/x86_64-linux-gnu/
%files
/usr/lib/x86_64-linux-gnu/libstdc++.so.6
`, ""},
		{"releases", head("libgomp", "14.2", "1") + `
%description
The host's libgomp.
%install
mkdir -p %{buildroot}/usr/lib/x86_64-linux-gnu
cp -p %{_sourcedir}/libgomp.so.1 %{buildroot}/usr/lib/x86_64-linux-gnu/
%files
/usr/lib/x86_64-linux-gnu/libgomp.so.1
`, ""},
		{"updates", head("python3.12", "3.12.1", "1.el9") + `
Requires: python3.12-libs(x86-64) = %{version}-%{release}
Requires: tzdata
%description
Stands in for RHEL 9 AppStream's python3.12 (the profile's roots).
%install
mkdir -p %{buildroot}/usr/bin
cp -p %{_sourcedir}/demo %{buildroot}/usr/bin/python3.12
%files
/usr/bin/python3.12
`, ""},
		{"updates", head("python3.12-libs", "3.12.1", "1.el9") + `
Requires: libdemo.so.1()(64bit)
%description
Stands in for python3.12-libs.
%install
mkdir -p %{buildroot}/usr/lib64/python3.12
echo 'print("hi")' > %{buildroot}/usr/lib64/python3.12/os.py
%files
/usr/lib64/python3.12
`, ""},
		{"updates", head("demo-data", "1.0^git1", "1") + `
BuildArch: noarch
%description
Data (noarch), a snapshot after 1.0.
%install
mkdir -p %{buildroot}/usr/share/demo-data
echo "snapshot 1.0^git1-1" > %{buildroot}/usr/share/demo-data/data.txt
%files
/usr/share/demo-data/data.txt
`, ""},
		{"updates", head("demo-data", "1.1~rc1", "1") + `
BuildArch: noarch
%description
Data (noarch), a release candidate of 1.1: newer than 1.0^git1.
%install
mkdir -p %{buildroot}/usr/share/demo-data
echo "candidate 1.1~rc1-1" > %{buildroot}/usr/share/demo-data/data.txt
%files
/usr/share/demo-data/data.txt
`, ""},
		{"updates", head("demo-data", "9.0", "1.module_demo") + `
BuildArch: noarch
%description
Data of a module stream: never installed.
%install
mkdir -p %{buildroot}/usr/share/demo-data
echo "module 9.0" > %{buildroot}/usr/share/demo-data/data.txt
%files
/usr/share/demo-data/data.txt
`, ""},
	}
}

// modulesYAML lists the modular demo-data as a stream's artifact.
const modulesYAML = `---
document: modulemd
version: 2
data:
  name: demo
  stream: "9"
  version: 1
  context: deadbeef
  arch: x86_64
  summary: a module stream
  description: a module stream
  license:
    module: [MIT]
  artifacts:
    rpms:
      - demo-data-0:9.0-1.module_demo.noarch
...
---
document: modulemd-defaults
version: 1
data:
  module: demo
  stream: "9"
...
`

// Build makes the fixture in dir (created when missing). It takes a
// few seconds.
func Build(dir string) (*Fixture, error) {
	if why := Supported(); why != "" {
		return nil, fmt.Errorf("rpmtest: %s", why)
	}
	f := &Fixture{Dir: dir, Repos: map[string]string{}, RPMs: map[string]string{}}
	src := filepath.Join(dir, "src")
	for _, d := range []string{src, filepath.Join(dir, "rpms")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	var err error
	if f.GPGHome, f.KeyFile, f.Fingerprint, err = newKey(filepath.Join(dir, "gnupg"), "distroless test key"); err != nil {
		return nil, err
	}
	if f.OtherGPGHome, f.OtherKeyFile, _, err = newKey(filepath.Join(dir, "gnupg-other"), "distroless other key"); err != nil {
		return nil, err
	}

	// Sources: the library and binary, and the host's C library.
	for name, body := range map[string]string{"libdemo.c": libdemoC, "demo.c": demoC} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	steps := [][]string{
		{"gcc", "-O1", "-shared", "-fPIC", "-Wl,-soname,libdemo.so.1", "-o", "libdemo.so.1.0", "libdemo.c"},
		{"ln", "-sf", "libdemo.so.1.0", "libdemo.so"},
		{"gcc", "-O1", "-o", "demo", "demo.c", "-L.", "-ldemo", "-Wl,-rpath,/usr/lib64"},
		{"cp", "-pL", "/bin/true", "/etc/services", "/etc/protocols", "/etc/mime.types", "/usr/share/zoneinfo/UTC", "."},
		{"cp", "-pL", "/usr/share/zoneinfo/Europe/Paris", "Paris"},
	}
	for _, lib := range []string{"libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2", "libssl.so.3", "libcrypto.so.3", "libstdc++.so.6", "libgcc_s.so.1", "libgomp.so.1"} {
		steps = append(steps, []string{"cp", "-pL", "/usr/lib/x86_64-linux-gnu/" + lib, "."})
	}
	for _, s := range steps {
		if err := run(src, nil, s...); err != nil {
			return nil, err
		}
	}
	if f.TrustedCA, err = writeTrustSource(filepath.Join(src, "ca-bundle.trust.p11-kit")); err != nil {
		return nil, err
	}

	// rpmbuild spends most of its time starting up and waiting: the
	// packages are built a few at a time, each in its own top directory.
	pkgs := fixturePackages()
	errs := make([]error, len(pkgs))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, p := range pkgs {
		name := strings.Fields(strings.SplitN(strings.SplitN(p.spec, "Name: ", 2)[1], "\n", 2)[0])[0]
		specFile := filepath.Join(dir, "rpms", fmt.Sprintf("%s-%s-%d.spec", name, p.repo, i))
		if err := os.WriteFile(specFile, []byte(p.spec), 0o644); err != nil {
			return nil, err
		}
		out := filepath.Join(dir, "repo", p.repo)
		top := filepath.Join(dir, "rpmbuild", fmt.Sprint(i))
		// rpm's own mkdir -p is not safe against a concurrent one
		// (EEXIST on a shared parent fails the build): every directory
		// the builds share is made here, before they start.
		for _, d := range []string{out, top} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, err
			}
		}
		args := []string{"rpmbuild", "-bb", "--quiet",
			"--define", "_topdir " + top,
			"--define", "_sourcedir " + src,
			"--define", "_rpmdir " + out,
			"--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
			"--define", "_source_date_epoch_from_changelog 0",
			"--define", "use_source_date_epoch_as_buildtime 1",
		}
		if p.payload != "" {
			args = append(args, "--define", "_binary_payload "+p.payload)
		}
		args = append(args, specFile)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = run(dir, []string{"SOURCE_DATE_EPOCH=1700000000"}, args...)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, repo := range []string{"releases", "updates"} {
		d := filepath.Join(dir, "repo", repo)
		f.Repos[repo] = d
		rpms, _ := filepath.Glob(filepath.Join(d, "*.rpm"))
		for _, r := range rpms {
			f.RPMs[filepath.Base(r)] = r
		}
		if err := f.Sign(f.GPGHome, rpms...); err != nil {
			return nil, err
		}
		ct := "gz"
		if repo == "updates" {
			ct = "xz"
		}
		if err := run(d, nil, "createrepo_c", "--quiet", "--no-database", "--general-compress-type="+ct, "."); err != nil {
			return nil, err
		}
		if repo == "updates" {
			mf := filepath.Join(dir, "modules.yaml")
			if err := os.WriteFile(mf, []byte(modulesYAML), 0o644); err != nil {
				return nil, err
			}
			// createrepo_c here writes no zstd: recompress primary.
			if err := recompressZstd(d, "primary"); err != nil {
				return nil, err
			}
			if err := run(d, nil, "modifyrepo_c", "--compress-type=gz", "--mdtype=modules", mf, "repodata"); err != nil {
				return nil, err
			}
		}
		if err := f.SignRepomd(f.GPGHome, d); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Sign signs rpm packages with the key of a GnuPG home.
func (f *Fixture) Sign(home string, rpms ...string) error {
	if len(rpms) == 0 {
		return nil
	}
	fpr, err := fingerprint(home)
	if err != nil {
		return err
	}
	gpg, err := exec.LookPath("gpg")
	if err != nil {
		return err
	}
	args := append([]string{"rpmsign", "--addsign", "--define", "_gpg_name " + fpr, "--define", "_gpg_path " + home, "--define", "__gpg " + gpg}, rpms...)
	return run(f.Dir, []string{"GNUPGHOME=" + home}, args...)
}

// SignRepomd (re)writes repodata/repomd.xml.asc of a repository with the
// key of a GnuPG home.
func (f *Fixture) SignRepomd(home, repo string) error {
	md := filepath.Join(repo, "repodata", "repomd.xml")
	os.Remove(md + ".asc")
	return run(repo, []string{"GNUPGHOME=" + home}, "gpg", "--batch", "--yes", "--armor", "--detach-sign", "--output", md+".asc", md)
}

// newKey makes a throwaway signing key in home and exports its public
// half.
func newKey(home, uid string) (gpgHome, keyFile, fpr string, err error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", "", "", err
	}
	env := []string{"GNUPGHOME=" + home}
	if err := run(home, env, "gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid+" <test@example.invalid>", "rsa2048", "sign", "never"); err != nil {
		return "", "", "", err
	}
	keyFile = filepath.Join(home, "key.asc")
	out, err := output(home, env, "gpg", "--batch", "--armor", "--export")
	if err != nil {
		return "", "", "", err
	}
	if err := os.WriteFile(keyFile, out, 0o644); err != nil {
		return "", "", "", err
	}
	fpr, err = fingerprint(home)
	return home, keyFile, fpr, err
}

func fingerprint(home string) (string, error) {
	out, err := output(home, []string{"GNUPGHOME=" + home}, "gpg", "--batch", "--with-colons", "--list-keys")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			return f[9], nil
		}
	}
	return "", fmt.Errorf("no key in %s", home)
}

func run(dir string, env []string, args ...string) error {
	_, err := output(dir, env, args...)
	return err
}

func output(dir string, env []string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// recompressZstd rewrites a metadata file of a repository as zstd and
// updates repomd.xml (before it is signed).
func recompressZstd(repo, typ string) error {
	mdPath := filepath.Join(repo, "repodata", "repomd.xml")
	md, err := os.ReadFile(mdPath)
	if err != nil {
		return err
	}
	s := string(md)
	start := strings.Index(s, `<data type="`+typ+`">`)
	if start < 0 {
		return fmt.Errorf("%s lists no %s", mdPath, typ)
	}
	end := start + strings.Index(s[start:], "</data>")
	block := s[start:end]
	href := between(block, `<location href="`, `"`)
	oldSum := between(block, `<checksum type="sha256">`, `<`)
	oldSize := between(block, `<size>`, `<`)
	raw, err := os.ReadFile(filepath.Join(repo, href))
	if err != nil {
		return err
	}
	xr, err := xz.NewReader(bytes.NewReader(raw), 0)
	if err != nil {
		return err
	}
	plain, err := io.ReadAll(xr)
	if err != nil {
		return err
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		return err
	}
	z := enc.EncodeAll(plain, nil)
	sum := sha256.Sum256(z)
	newSum := hex.EncodeToString(sum[:])
	newHref := "repodata/" + newSum + "-" + typ + ".xml.zst"
	if err := os.WriteFile(filepath.Join(repo, newHref), z, 0o644); err != nil {
		return err
	}
	os.Remove(filepath.Join(repo, href))
	nb := strings.Replace(block, href, newHref, 1)
	nb = strings.Replace(nb, oldSum, newSum, 1)
	nb = strings.Replace(nb, "<size>"+oldSize+"<", "<size>"+fmt.Sprint(len(z))+"<", 1)
	return os.WriteFile(mdPath, []byte(s[:start]+nb+s[end:]), 0o644)
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	if j := strings.Index(s, b); j >= 0 {
		return s[:j]
	}
	return s
}

// writeTrustSource writes a p11-kit trust source from three of the
// host's CA certificates: one trusted, one trusted for e-mail only (an
// attached extended key usage), one distrusted. It returns the first.
func writeTrustSource(path string) ([]byte, error) {
	certs, _ := filepath.Glob("/usr/share/ca-certificates/mozilla/*.crt")
	if len(certs) < 3 {
		return nil, fmt.Errorf("rpmtest: the host has fewer than 3 CA certificates in /usr/share/ca-certificates/mozilla (install ca-certificates)")
	}
	var blocks []*pem.Block
	for _, c := range certs[:3] {
		data, err := os.ReadFile(c)
		if err != nil {
			return nil, err
		}
		b, _ := pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("%s: not PEM", c)
		}
		blocks = append(blocks, b)
	}
	emailOnly, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 4}})
	if err != nil {
		return nil, err
	}
	ext, err := asn1.Marshal(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Value: emailOnly})
	if err != nil {
		return nil, err
	}
	var esc strings.Builder
	for _, b := range ext {
		fmt.Fprintf(&esc, "%%%02x", b)
	}
	second, err := x509.ParseCertificate(blocks[1].Bytes)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString("# Trust source for tests\n\n[p11-kit-object-v1]\nlabel: \"Trusted\"\ntrusted: true\nnss-mozilla-ca-policy: true\nmodifiable: false\n")
	pem.Encode(&out, blocks[0])
	out.WriteString("\n[p11-kit-object-v1]\nclass: x-certificate-extension\nlabel: \"E-mail only\"\nobject-id: 2.5.29.37\nvalue: \"" + esc.String() + "\"\nmodifiable: false\n")
	pem.Encode(&out, &pem.Block{Type: "PUBLIC KEY", Bytes: second.RawSubjectPublicKeyInfo})
	out.WriteString("\n[p11-kit-object-v1]\nlabel: \"E-mail only\"\ntrusted: true\nmodifiable: false\n")
	pem.Encode(&out, blocks[1])
	out.WriteString("\n[p11-kit-object-v1]\nlabel: \"Distrusted\"\nx-distrusted: true\nmodifiable: false\n")
	pem.Encode(&out, blocks[2])
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(blocks[0]), nil
}

// RewritePrimary replaces a repository's primary.xml with what edit makes
// of it, written as zstd, and updates repomd.xml (location, checksums,
// sizes). Sign repomd.xml again (SignRepomd) afterwards.
func RewritePrimary(repo string, edit func([]byte) []byte) error {
	mdPath := filepath.Join(repo, "repodata", "repomd.xml")
	md, err := os.ReadFile(mdPath)
	if err != nil {
		return err
	}
	s := string(md)
	start := strings.Index(s, `<data type="primary">`)
	if start < 0 {
		return fmt.Errorf("%s lists no primary", mdPath)
	}
	end := start + strings.Index(s[start:], "</data>")
	block := s[start:end]
	href := between(block, `<location href="`, `"`)
	raw, err := os.ReadFile(filepath.Join(repo, href))
	if err != nil {
		return err
	}
	var plain []byte
	switch {
	case strings.HasSuffix(href, ".gz"):
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return err
		}
		plain, err = io.ReadAll(zr)
		if err != nil {
			return err
		}
	case strings.HasSuffix(href, ".xz"):
		xr, err := xz.NewReader(bytes.NewReader(raw), 0)
		if err != nil {
			return err
		}
		if plain, err = io.ReadAll(xr); err != nil {
			return err
		}
	case strings.HasSuffix(href, ".zst"):
		dec, err := zstd.NewReader(nil)
		if err != nil {
			return err
		}
		plain, err = dec.DecodeAll(raw, nil)
		dec.Close()
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("%s: unknown compression", href)
	}
	plain = edit(plain)
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		return err
	}
	z := enc.EncodeAll(plain, nil)
	sum, openSum := sha256.Sum256(z), sha256.Sum256(plain)
	newHref := "repodata/" + hex.EncodeToString(sum[:]) + "-primary.xml.zst"
	if err := os.WriteFile(filepath.Join(repo, newHref), z, 0o644); err != nil {
		return err
	}
	os.Remove(filepath.Join(repo, href))
	nb := strings.Replace(block, href, newHref, 1)
	nb = strings.Replace(nb, between(block, `<checksum type="sha256">`, `<`), hex.EncodeToString(sum[:]), 1)
	nb = strings.Replace(nb, between(block, `<open-checksum type="sha256">`, `<`), hex.EncodeToString(openSum[:]), 1)
	nb = strings.Replace(nb, "<size>"+between(block, `<size>`, `<`)+"<", "<size>"+fmt.Sprint(len(z))+"<", 1)
	nb = strings.Replace(nb, "<open-size>"+between(block, `<open-size>`, `<`)+"<", "<open-size>"+fmt.Sprint(len(plain))+"<", 1)
	return os.WriteFile(mdPath, []byte(s[:start]+nb+s[end:]), 0o644)
}
