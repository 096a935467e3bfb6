package pipeline

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestParseArchList: OCI names, OCI platforms and Debian and RPM names
// of one architecture are the same platform; what cannot be built is an
// error saying why.
func TestParseArchList(t *testing.T) {
	for in, want := range map[string][]string{
		"":                                 nil,
		"amd64":                            {"amd64"},
		"linux/amd64,linux/arm64":          {"amd64", "arm64"},
		"linux/arm64/v8, linux/arm/v7":     {"arm64", "arm"},
		"armhf,ppc64el,i386,s390x,riscv64": {"arm", "ppc64le", "386", "s390x", "riscv64"},
		"x86_64,aarch64":                   {"amd64", "arm64"},
		"LINUX/ARM/V7":                     {"arm"},
		"arm,386,ppc64le":                  {"arm", "386", "ppc64le"},
	} {
		got, err := ParseArchList(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("parseArchList(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"amd64,":            "empty platform",
		"amd64,x86_64":      `platform "x86_64" is given twice`,
		"darwin/arm64":      "only linux images",
		"linux/arm64/v9":    "arm64 images are variant v8",
		"linux/amd64/v3":    "amd64 images have no variant",
		"armel":             "armel",
		"linux/arm/v6":      "arm/v6",
		"sparc64":           "not a known architecture",
		"linux/../../amd64": "not a known architecture",
	} {
		if _, err := ParseArchList(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseArchList(%q) = %v, want an error saying %q", in, err, want)
		}
	}
	for arch, want := range map[string]string{"amd64": "linux/amd64", "arm64": "linux/arm64/v8", "arm": "linux/arm/v7", "386": "linux/386"} {
		if got := PlatformName(arch); got != want {
			t.Errorf("PlatformName(%s) = %s, want %s", arch, got, want)
		}
	}
}

// TestOptionsPlatforms: the library takes OCI architecture names as the
// command parsed them; another spelling, or a repeat, is an OptionError
// on Platforms, and one command taking one platform refuses two.
func TestOptionsPlatforms(t *testing.T) {
	for _, c := range []struct {
		platforms []string
		want      string
	}{
		{[]string{"armhf"}, `platforms "armhf": not an architecture this tool builds for`},
		{[]string{"linux/arm64"}, `platforms "linux/arm64": not an architecture`},
		{[]string{"arm64", "amd64", "arm64"}, `platforms "arm64": named twice`},
	} {
		o := Options{Platforms: c.platforms}
		_, err := o.archs()
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Option != "Platforms" || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an OptionError on Platforms: %s", c.platforms, err, c.want)
		}
	}
	if a, err := (&Options{}).archs(); err != nil || !slices.Equal(a, []string{"amd64"}) {
		t.Errorf("none: %v %v, want amd64", a, err)
	}
	if err := CheckArch([]string{"amd64", "s390x"}); err == nil || !strings.Contains(err.Error(), `platforms "amd64,s390x": names 2 platforms`) {
		t.Errorf("two platforms for one: %v", err)
	}
	if err := CheckArch([]string{"arm64"}); err != nil {
		t.Errorf("one platform: %v", err)
	}
}
