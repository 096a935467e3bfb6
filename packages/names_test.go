package packages_test

import (
	"strings"
	"testing"
	"unicode"

	"pault.ag/go/debian/version"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb"
	"github.com/distroless-dev/distroless/packages/rpm"
)

func TestCheckDebName(t *testing.T) {
	for _, ok := range []string{"libstdc++6", "g++-12", "python3.11", "libc6", "zlib1g", "0ad", "libgcc-s1", "ca-certificates", "x11-common", "libapt-pkg6.0t64"} {
		if err := deb.CheckName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", "../../usr/share/x", "..", ".x", "-x", "+x", "Libc6", "lib c6", "lib/c6", "libc6\n", "libc6\x00", "libc_6", "libc6:amd64", "é1", strings.Repeat("a", packages.MaxNameLen+1)} {
		if err := deb.CheckName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCheckDebVersion(t *testing.T) {
	for _, ok := range []string{"1:2.3~rc1-4+deb12u1", "2.36-9+deb12u7", "1.0", "0", "3.0.11-1~deb12u2", "1:1.2.13.dfsg-1", "2:8.2.3995-1+deb12u2", "20230311", "1.2+dfsg-1~bpo12+1", "1.0-1.1", "9.1.1-1build1", "2.0-a-b"} {
		if err := deb.CheckVersion(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ":1", "a:1", "1:", "-1", "1-", "1:2:3", "1/2", "../1", "1 2", "1.0-1/x", "1.0-a-b:c", ".1", "~1", "1.0_1", "abc1", "99999999999:1", "1.0-1:2", strings.Repeat("1", packages.MaxVersionLen+1)} {
		if err := deb.CheckVersion(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCheckDebArch(t *testing.T) {
	for _, ok := range []string{"amd64", "arm64", "all", "i386", "ppc64el", "s390x", "musl-linux-arm64", "armhf"} {
		if err := deb.CheckArch(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "AMD64", "amd 64", "../x", "-amd64", "amd64/x", "x86_64", "amd64\n"} {
		if err := deb.CheckArch(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCheckRPMName(t *testing.T) {
	for _, ok := range []string{"glibc", "libstdc++", "python3.11", "perl-Text-Tabs+Wrap", "NetworkManager", "python3-PyYAML", "x", "gcc-c++", "_x", "0ad", "libgcc_s"} {
		if err := rpm.CheckName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".hidden", "-x", "+x", "../../usr/share/x", "a/b", "a b", "a\tb", "a\n", "a\x00", "perl(Foo)", "a:b", "é", strings.Repeat("a", packages.MaxNameLen+1)} {
		if err := rpm.CheckName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCheckRPMEVR(t *testing.T) {
	for _, ok := range []string{"2.34-100.el9_4.2", "1:3.0.7-27.el9", "0:1.0-1", "6.4~rc1-1.fc39", "1.0^20230101git1-1", "1.0-1%{dist}", "1.0"} {
		if err := rpm.CheckEVR(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-1", "1-", ":1-1", "a:1-1", "1:2:3-1", "1.0-1/2", "../1-1", "1.0-1 2", "1.0-a-b/c", "1.0-\n", "4294967296:1-1", "1:-1"} {
		if err := rpm.CheckEVR(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := rpm.CheckVersionParts("", "1-2", "3"); err == nil {
		t.Error("a '-' in the version part accepted")
	}
	if err := rpm.CheckVersionParts("", "1", "3-4"); err == nil {
		t.Error("a '-' in the release accepted")
	}
	if err := rpm.CheckVersionParts("-1", "1", "3"); err == nil {
		t.Error("a negative epoch accepted")
	}
}

func TestCheckRPMArch(t *testing.T) {
	for _, ok := range []string{"x86_64", "aarch64", "noarch", "i686", "ppc64le", "s390x", "armv7hl"} {
		if err := rpm.CheckArch(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "x86-64", "../x", "x86_64/", "x 86", "noarch\n"} {
		if err := rpm.CheckArch(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestAnyFormat: AnyFormat accepts what either format's grammar
// accepts, and nothing that is not path-safe.
func TestAnyFormat(t *testing.T) {
	g := packages.AnyFormat
	for _, ok := range []string{"libc6", "PyYAML", "x", "_x", "g++-12"} {
		if err := g.CheckName(ok); err != nil {
			t.Errorf("name %q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"../x", "a b", ".x", "-x", "+x", "", "a/b", "a:b", "é"} {
		if err := g.CheckName(bad); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	for _, ok := range []string{"1:2.3~rc1-4+deb12u1", "2.34-100.el9_4.2", "1.0^20230101git1-1%{dist}", "0"} {
		if err := g.CheckVersion(ok); err != nil {
			t.Errorf("version %q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "../1", "1/2", ".1", "-1", "1 2"} {
		if err := g.CheckVersion(bad); err == nil {
			t.Errorf("version %q accepted", bad)
		}
	}
	for _, ok := range []string{"amd64", "x86_64", "musl-linux-arm64", "noarch"} {
		if err := g.CheckArch(ok); err != nil {
			t.Errorf("arch %q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "../x", "-amd64", "amd64/x", "a.b"} {
		if err := g.CheckArch(bad); err == nil {
			t.Errorf("arch %q accepted", bad)
		}
	}
	if err := packages.CheckIdentity(rpm.Grammar, "glibc", "2.34-100.el9_4.2", "x86_64"); err != nil {
		t.Error(err)
	}
	if err := packages.CheckIdentity(deb.Grammar, "libc6", "2.36-9+deb12u7", "x86_64"); err == nil {
		t.Error("deb accepted arch x86_64")
	}
	if err := deb.Grammar.CheckName("PyYAML"); err == nil {
		t.Error("deb accepted an upper-case name")
	}
}

func TestCheckPattern(t *testing.T) {
	for _, ok := range []string{"perl-*", "libc6", "python3.1?", "lib[a-z]*", "dnf"} {
		if err := packages.AnyFormat.CheckPattern(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "lib[", "a/b", "a b", "../x*"} {
		if err := packages.AnyFormat.CheckPattern(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := deb.Grammar.CheckPattern("Perl-*"); err == nil {
		t.Error("deb accepted an upper-case pattern")
	}
	if err := rpm.Grammar.CheckPattern("Perl-*"); err != nil {
		t.Error(err)
	}
}

func TestIdentityMatches(t *testing.T) {
	p := &packages.Package{Name: "libc6", Version: "2.36-9", Arch: "amd64"}
	if err := (packages.Identity{Name: "libc6", Version: "2.36-9", Arch: "amd64"}).Matches(p); err != nil {
		t.Error(err)
	}
	for _, c := range []struct {
		id    packages.Identity
		field string
	}{
		{packages.Identity{Name: "libc7", Version: "2.36-9", Arch: "amd64"}, "name"},
		{packages.Identity{Name: "libc6", Version: "2.36-10", Arch: "amd64"}, "version"},
		{packages.Identity{Name: "libc6", Version: "2.36-9", Arch: "all"}, "architecture"},
	} {
		err := c.id.Matches(p)
		if err == nil {
			t.Errorf("%+v matched", c.id)
			continue
		}
		msg := err.Error()
		for _, want := range []string{"libc6", "own " + c.field, "2.36-9"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%q lacks %q", msg, want)
			}
		}
	}
}

func TestSafeFileName(t *testing.T) {
	for _, ok := range []string{"libc6", "libc6_amd64.md5sums", "..a", "a.."} {
		if !packages.SafeFileName(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b", "/", "a\x00", strings.Repeat("a", 256)} {
		if packages.SafeFileName(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// pathSafe is what every accepted name, version and architecture must
// be: printable ASCII, no '/', no whitespace, not "." or "..".
func pathSafe(t *testing.T, what, s string) {
	t.Helper()
	if s == "" || s == "." || s == ".." || len(s) > 256 {
		t.Fatalf("%s %q accepted", what, s)
	}
	for _, r := range s {
		if r == '/' || r > unicode.MaxASCII || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			t.Fatalf("%s %q accepted with %q", what, s, r)
		}
	}
}

// anyFormatAccepts: what g accepts, AnyFormat accepts too (it checks
// names where the format is not known yet).
func anyFormatAccepts(t *testing.T, g packages.Grammar, name, ver, arch string) {
	t.Helper()
	for _, c := range []struct {
		what, s    string
		fmt, anyOf func(string) error
	}{
		{"name", name, g.CheckName, packages.AnyFormat.CheckName},
		{"version", ver, g.CheckVersion, packages.AnyFormat.CheckVersion},
		{"arch", arch, g.CheckArch, packages.AnyFormat.CheckArch},
		{"pattern", name, g.CheckPattern, packages.AnyFormat.CheckPattern},
	} {
		if c.fmt(c.s) == nil {
			if err := c.anyOf(c.s); err != nil {
				t.Fatalf("%s %q: the format accepts it, AnyFormat does not: %v", c.what, c.s, err)
			}
		}
	}
}

func FuzzCheckDeb(f *testing.F) {
	f.Add("libstdc++6", "1:2.3~rc1-4+deb12u1", "amd64")
	f.Add("../../usr/share/x", "1:", "x86_64")
	f.Add("g++-12", "2.0-a-b", "all")
	f.Add("a", "1:2:3", "AMD64")
	f.Fuzz(func(t *testing.T, name, ver, arch string) {
		anyFormatAccepts(t, deb.Grammar, name, ver, arch)
		if deb.CheckName(name) == nil {
			pathSafe(t, "name", name)
			if !packages.SafeFileName(name + "_" + strings.Repeat("a", packages.MaxArchLen) + ".md5sums") {
				t.Fatalf("name %q cannot be a status.d file name", name)
			}
		}
		if deb.CheckVersion(ver) == nil {
			pathSafe(t, "version", ver)
			// Whatever the grammar accepts, dpkg's parser takes too.
			if _, err := version.Parse(ver); err != nil {
				t.Fatalf("version %q accepted, but it does not parse: %v", ver, err)
			}
		}
		if deb.CheckArch(arch) == nil {
			pathSafe(t, "arch", arch)
		}
	})
}

func FuzzCheckRPM(f *testing.F) {
	f.Add("glibc", "2.34-100.el9_4.2", "x86_64")
	f.Add(".hidden", "1:2:3-4", "x86-64")
	f.Add("libstdc++", "1.0^git1-1%{dist}", "noarch")
	f.Add("a b", "4294967296:1-1", "")
	f.Fuzz(func(t *testing.T, name, evr, arch string) {
		anyFormatAccepts(t, rpm.Grammar, name, evr, arch)
		if rpm.CheckName(name) == nil {
			pathSafe(t, "name", name)
			if name[0] == '.' || name[0] == '-' {
				t.Fatalf("name %q accepted", name)
			}
		}
		if rpm.CheckEVR(evr) == nil {
			pathSafe(t, "version", evr)
			e, err := rpm.ParseEVR(evr)
			if err != nil {
				t.Fatalf("version %q accepted, but it does not parse: %v", evr, err)
			}
			if rpm.CheckVersionParts(e.Epoch, e.Version, e.Release) != nil || strings.Contains(e.Version, "-") {
				t.Fatalf("version %q accepted, but its parts are not: %+v", evr, e)
			}
		}
		if rpm.CheckArch(arch) == nil {
			pathSafe(t, "arch", arch)
		}
	})
}

func FuzzCheckPattern(f *testing.F) {
	f.Add("perl-*")
	f.Add("lib[")
	f.Add("../*")
	f.Fuzz(func(t *testing.T, s string) {
		for _, g := range []packages.Grammar{packages.AnyFormat, deb.Grammar, rpm.Grammar} {
			if g.CheckPattern(s) == nil {
				pathSafe(t, "pattern", s)
			}
		}
	})
}
