package profiles

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/packagestest"
	"github.com/distroless-dev/distroless/resolver"
)

// TestFindForFormat: a name means the profile written for the distro's
// package format, else the one written for none.
func TestFindForFormat(t *testing.T) {
	for _, c := range []struct{ name, format, wantFormat string }{
		{"static", "rpm", "rpm"},
		{"static", "deb", ""},
		{"static", "", ""},
		{"cc", "rpm", "rpm"},
		{"python3.12", "rpm", "rpm"},
		{"python3.12", "deb", ""},
		{"nodejs", "rpm", ""}, // no RPM version: the generic one
	} {
		p, _, err := FindFor(c.name, c.format)
		if err != nil || p.Format != c.wantFormat {
			t.Errorf("FindFor(%s, %s) = %v, %v; want format %q", c.name, c.format, p, err, c.wantFormat)
		}
	}
}

func rpmIndex() *packagestest.Index {
	P := packagestest.Pkg
	return &packagestest.Index{Pkgs: []*packages.Package{
		P("tzdata", "1", ""), P("setup", "1", ""), P("mailcap", "1", ""), P("ca-certificates", "1", "bash"),
		P("glibc", "1", "basesystem"), P("openssl-libs", "1", "glibc"),
		P("libstdc++", "1", ""), P("libgcc", "1", ""), P("libgomp", "1", ""),
		P("python3.12", "1", "python3.12-libs"), P("python3.12-libs", "1", "glibc"),
		P("python3.11", "1", ""), P("python3.11-libs", "1", ""),
	}}
}

func TestExpandRPM(t *testing.T) {
	ix := rpmIndex()
	plan, err := Expand("python3.12", ix, "rpm", "test:el")
	if err != nil {
		t.Fatal(err)
	}
	var levels []string
	for _, lv := range plan.Levels {
		var roots []string
		for _, r := range lv.Roots {
			roots = append(roots, r.Name)
		}
		levels = append(levels, lv.Name+":"+strings.Join(roots, ","))
	}
	want := []string{"static:tzdata,setup,mailcap,ca-certificates", "base:glibc,openssl-libs", "cc:libstdc++,libgcc,libgomp", "python3.12:python3.12,python3.12-libs"}
	if !slices.Equal(levels, want) {
		t.Errorf("levels = %v\nwant %v", levels, want)
	}
	if plan.Config.Env["SSL_CERT_FILE"] != "/etc/pki/tls/certs/ca-bundle.crt" || strings.Join(plan.Config.Entrypoint, " ") != "/usr/bin/python3.12" {
		t.Errorf("config = %+v", plan.Config)
	}
	if !slices.ContainsFunc(plan.Prune, func(r resolver.PruneRule) bool { return r.Name == "rpm" }) {
		t.Error("the rpm prune list is not applied")
	}
	if !slices.Contains(plan.Chain[0].Generate, "ca-trust") {
		t.Error("the rpm static profile does not generate the trust bundle")
	}
	res, err := resolver.Resolve(ix, plan.Levels, resolver.Options{Prune: plan.Prune})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Packages {
		if s.Pkg.Name == "bash" || s.Pkg.Name == "basesystem" {
			t.Errorf("closure has %s", s.Pkg.Name)
		}
	}

	// A version the distro lacks names those it has.
	_, err = Expand("python3.13", ix, "rpm", "test:el")
	var np *NotPackagedError
	if !errors.As(err, &np) || !strings.Contains(err.Error(), "it packages python3.11, python3.12") {
		t.Fatalf("python3.13: %v", err)
	}
	// A profile file for rpm on a deb distro is not for it.
	p, err := Decode("mine.yaml", []byte("name: mine\nformat: rpm\npackages: [glibc]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ExpandProfile(p, "mine", "", ix, "deb", "debian:trixie"); !errors.As(err, &np) || !strings.Contains(err.Error(), "is for rpm distros, not debian:trixie") {
		t.Fatalf("rpm profile on deb: %v", err)
	}
	if _, err := Decode("bad.yaml", []byte("name: x\nformat: apk\n")); err == nil || !strings.Contains(err.Error(), `format "apk"`) {
		t.Fatalf("bad format: %v", err)
	}
}
