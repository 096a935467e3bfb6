package resolver_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/packages/deb"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/resolver"
)

// These tests resolve over a signed Debian archive the test generates, so
// dpkg version order, "a | b", Provides and arch qualifiers are Debian's
// own, through the same packages/deb code users run.

func debIndex(t *testing.T, suites ...debtest.Suite) *deb.Index {
	t.Helper()
	a := debtest.NewArchive(t, suites...)
	var ss []deb.Suite
	for _, s := range suites {
		ss = append(ss, deb.Suite{Mirror: a.URL, Name: s.Name, Components: []string{"main"}})
	}
	ix, err := deb.Open(context.Background(), &fetch.Cache{Dir: t.TempDir()},
		deb.Spec{Name: "test", Suites: ss, Keyring: a.Keyring, Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func debPrune(t *testing.T) []resolver.PruneRule {
	rules, err := profiles.PruneList("deb")
	if err != nil {
		t.Fatal(err)
	}
	var out []resolver.PruneRule
	for _, r := range rules {
		out = append(out, resolver.PruneRule{Name: r.Name, Reason: r.Reason})
	}
	return out
}

func closure(t *testing.T, ix *deb.Index, roots ...string) (*resolver.Result, error) {
	t.Helper()
	var rs []resolver.Root
	for _, r := range roots {
		rs = append(rs, resolver.Root{Name: r})
	}
	return resolver.Resolve(ix, []resolver.Level{{Name: "test", Roots: rs}}, resolver.Options{Prune: debPrune(t)})
}

func namesVersions(r *resolver.Result) []string {
	var out []string
	for _, s := range r.Packages {
		out = append(out, s.Pkg.Name+"="+s.Pkg.Version)
	}
	return out
}

func TestDebianSemantics(t *testing.T) {
	ix := debIndex(t,
		debtest.Suite{Name: "stable", Packages: []debtest.Package{
			{Name: "app", Version: "1.0-1", PreDepends: "libc6 (>= 2.36)",
				Depends: "libfoo (>= 1:1.0~rc1), mail-transport-agent | exim4, awk, libbar:any, tzdata, python3-minimal (>= 3.11~) | python3.11-minimal"},
			{Name: "libc6", Version: "2.36-9", MultiArch: "same", Depends: "libgcc-s1"},
			{Name: "libgcc-s1", Version: "12.2.0-14", MultiArch: "same", Depends: "libc6 (>= 2.35)"}, // a cycle
			// Epoch: 1:1.0~rc1 sorts above every epoch-0 version.
			{Name: "libfoo", Version: "5.0-1"},
			{Name: "libfoo-compat", Version: "1.0", Provides: "libfoo (= 1:1.0)"},
			// Versioned provides satisfy a versioned dependency only through their version.
			{Name: "postfix", Version: "3.7", Provides: "mail-transport-agent"},
			{Name: "exim4", Version: "4.96"},
			{Name: "mawk", Version: "1.3.4", Provides: "awk", MultiArch: "foreign"},
			{Name: "libbar", Version: "1.0", MultiArch: "allowed"},
			{Name: "tzdata", Version: "2024a-1", Architecture: "all", Depends: "debconf (>= 0.5) | debconf-2.0"},
			{Name: "debconf", Version: "1.5.82", Architecture: "all", Depends: "perl-base"},
			{Name: "perl-base", Version: "5.36"},
			{Name: "python3.11-minimal", Version: "3.11.2-6"},
			{Name: "python3-minimal", Version: "3.11.2-1", Depends: "dpkg (>= 1.13.20)"},
			{Name: "dpkg", Version: "1.21.22", PreDepends: "tar"},
			{Name: "tar", Version: "1.34"},
			{Name: "foreign-arch", Version: "1", Architecture: "arm64"},
		}},
		debtest.Suite{Name: "stable-security", Packages: []debtest.Package{
			{Name: "libfoo", Version: "1:1.0~rc2-1"}, // the highest version across suites wins
		}},
	)
	r, err := closure(t, ix, "app")
	if err != nil {
		t.Fatal(err)
	}
	// mail-transport-agent is virtual and has a provider: it is the first
	// satisfiable alternative. python3-minimal (>= 3.11~) accepts 3.11.2-1.
	want := []string{"app=1.0-1", "libbar=1.0", "libc6=2.36-9", "libfoo=1:1.0~rc2-1", "libgcc-s1=12.2.0-14",
		"mawk=1.3.4", "postfix=3.7", "python3-minimal=3.11.2-1", "tzdata=2024a-1"}
	if got := namesVersions(r); !reflect.DeepEqual(got, want) {
		t.Fatalf("closure\n got %v\nwant %v", got, want)
	}
	var pruned []string
	for _, p := range r.Pruned {
		pruned = append(pruned, p.Name)
	}
	// debconf satisfies the first alternative and is pruned; dpkg is pruned
	// (and so tar, which only dpkg needs, never comes in).
	if want := []string{"debconf", "dpkg"}; !reflect.DeepEqual(pruned, want) {
		t.Fatalf("pruned %v, want %v", pruned, want)
	}
	for _, s := range r.Packages {
		if s.Pkg.Name == "libgcc-s1" && strings.Join(s.Chain, " ") != "app libc6 libgcc-s1" {
			t.Fatalf("libgcc-s1 chain: %v", s.Chain)
		}
	}
}

func TestDebianErrors(t *testing.T) {
	ix := debIndex(t, debtest.Suite{Name: "stable", Packages: []debtest.Package{
		{Name: "app", Version: "1", Depends: "lib"},
		{Name: "lib", Version: "1", Depends: "libz (>= 1:2.0)"},
		{Name: "libz", Version: "1.3"}, // epoch 0 < 1:2.0
		{Name: "python3.11-minimal", Version: "3.11.2-6"},
		{Name: "needs-any", Version: "1", Depends: "libnotallowed:any"},
		{Name: "libnotallowed", Version: "1", MultiArch: "same"},
	}})
	_, err := closure(t, ix, "app")
	var ue *resolver.UnsatisfiableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "libz (>= 1:2.0)") || !strings.Contains(err.Error(), "app → lib") {
		t.Fatalf("unsatisfiable: %v", err)
	}
	// :any needs Multi-Arch: allowed.
	if _, err := closure(t, ix, "needs-any"); !errors.As(err, &ue) {
		t.Fatalf(":any on a Multi-Arch: same package: %v", err)
	}
	_, err = closure(t, ix, "python3.12-minimal")
	var me *resolver.MissingRootError
	if !errors.As(err, &me) || len(me.Nearest) == 0 || me.Nearest[0] != "python3.11-minimal" {
		t.Fatalf("missing root: %v", err)
	}
}

func TestDebianProfileLevels(t *testing.T) {
	ix := debIndex(t, debtest.Suite{Name: "stable", Packages: []debtest.Package{
		{Name: "tzdata", Version: "1", Architecture: "all", Depends: "debconf | debconf-2.0"},
		{Name: "netbase", Version: "1", Architecture: "all"},
		{Name: "media-types", Version: "1", Architecture: "all"},
		{Name: "ca-certificates", Version: "1", Architecture: "all", Depends: "openssl (>= 1.1.1), debconf (>= 0.5) | debconf-2.0"},
		{Name: "openssl", Version: "3", Depends: "libc6, libssl3"},
		{Name: "libc6", Version: "2.36"},
		{Name: "libssl3", Version: "3", Depends: "libc6"},
		{Name: "debconf", Version: "1", Architecture: "all"},
		{Name: "base-files", Version: "13.1", Depends: "mawk"},
		{Name: "libc-bin", Version: "2.36", Depends: "libc6 (>> 2.36), libc6 (<< 2.37)"},
		{Name: "mawk", Version: "1"},
	}})
	plan, err := profiles.Expand("base", ix, "deb", "test")
	if err != nil {
		t.Fatal(err)
	}
	r, err := resolver.Resolve(ix, plan.Levels, resolver.Options{Prune: plan.Prune})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range r.Packages {
		got[s.Pkg.Name] = r.Levels[s.Level].Name
	}
	want := map[string]string{"tzdata": "static", "netbase": "static", "media-types": "static", "ca-certificates": "static",
		"libc6": "base", "libssl3": "base", "base-files": "static", "libc-bin": "base"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("levels = %v, want %v (static has no libc; ca-certificates brings no openssl, base-files no mawk; libc-bin is files only)", got, want)
	}
}

func TestDebianExpiredIndexRefused(t *testing.T) {
	a := debtest.NewArchive(t, debtest.Suite{Name: "stable", ValidUntil: time.Now().Add(-time.Hour),
		Packages: []debtest.Package{{Name: "x", Version: "1"}}})
	_, err := deb.Open(context.Background(), &fetch.Cache{Dir: t.TempDir()},
		deb.Spec{Name: "test", Suites: []deb.Suite{{Mirror: a.URL, Name: "stable", Components: []string{"main"}}}, Keyring: a.Keyring, Arch: "amd64"})
	if err == nil || !strings.Contains(err.Error(), "Valid-Until") {
		t.Fatalf("expired InRelease: %v", err)
	}
}
