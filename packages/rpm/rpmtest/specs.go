package rpmtest

import (
	"fmt"
)

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
