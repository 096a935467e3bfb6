package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1"
)

// Architectures are the OCI architectures an image can be built for, in
// the order an index lists them. Which of them a distro has is in its
// definition (distro.Distro.Architectures).
var Architectures = []string{"amd64", "arm64", "arm", "ppc64le", "s390x", "riscv64", "386"}

// archAliases maps the other names of an architecture (Debian's, RPM's,
// OCI's with a variant) to its OCI name.
var archAliases = map[string]string{
	"x86_64": "amd64", "x86-64": "amd64",
	"aarch64": "arm64", "arm64/v8": "arm64",
	"armhf": "arm", "arm/v7": "arm", "armv7": "arm", "armv7l": "arm", "armv7hl": "arm",
	"ppc64el": "ppc64le",
	"i386":    "386", "i686": "386",
}

// unsupportedArch says why an architecture name that exists elsewhere
// cannot be built for.
var unsupportedArch = map[string]string{
	"armel":    "Debian's armel (arm/v5, soft float) is not supported; arm means armhf (arm/v7)",
	"arm/v5":   "arm/v5 (Debian's armel) is not supported; arm means armhf (arm/v7)",
	"arm/v6":   "arm/v6 is published by no supported distro; arm means armhf (arm/v7)",
	"loong64":  "loong64 has no OCI platform support here yet",
	"mips64el": "mips64el is not supported",
	"mipsel":   "mipsel is not supported",
}

// PlatformOf is the OCI platform of an image built for arch (an OCI
// architecture name): linux, the architecture, and its variant (arm64 →
// v8, arm → v7, as the images' configs say).
func PlatformOf(arch string) v1.Platform {
	p := v1.Platform{OS: "linux", Architecture: arch}
	switch arch {
	case "arm64":
		p.Variant = "v8"
	case "arm":
		p.Variant = "v7"
	}
	return p
}

// PlatformName is the platform of arch as --platform spells it
// (linux/arm/v7, linux/amd64).
func PlatformName(arch string) string {
	p := PlatformOf(arch)
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// ParseArchList reads the value of --arch or --platform: a comma-separated
// list of architectures, each an OCI name (amd64, arm64, arm/v7, ppc64le,
// 386), an OCI platform (linux/arm64, linux/arm/v7), or a Debian or RPM
// name (armhf, ppc64el, i386, x86_64, aarch64). It returns the OCI names,
// without repeats, in the order given; "" gives none.
func ParseArchList(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for _, item := range strings.Split(s, ",") {
		a, err := parseArch(strings.TrimSpace(item))
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, a) {
			return nil, fmt.Errorf("platform %q is given twice", item)
		}
		out = append(out, a)
	}
	return out, nil
}

func parseArch(item string) (string, error) {
	want := fmt.Sprintf("want a list of %s (OCI names, as linux/ARCH[/VARIANT] or alone) or Debian/RPM names such as armhf, ppc64el, i386, x86_64, aarch64", strings.Join(platformNames(), ", "))
	if item == "" {
		return "", fmt.Errorf("empty platform in the list; %s", want)
	}
	s := strings.ToLower(item)
	if rest, ok := strings.CutPrefix(s, "linux/"); ok {
		s = rest
	} else if os, _, ok := strings.Cut(s, "/"); ok && !slices.Contains(Architectures, os) && os != "arm" {
		return "", fmt.Errorf("platform %q: only linux images can be built; %s", item, want)
	}
	if why, ok := unsupportedArch[s]; ok {
		return "", fmt.Errorf("platform %q: %s", item, why)
	}
	if a, ok := archAliases[s]; ok {
		return a, nil
	}
	if slices.Contains(Architectures, s) {
		return s, nil
	}
	// An architecture with the wrong variant (arm64/v9, amd64/v3).
	if a, v, ok := strings.Cut(s, "/"); ok && slices.Contains(Architectures, a) {
		if pv := PlatformOf(a).Variant; pv != "" {
			return "", fmt.Errorf("platform %q: %s images are variant %s; %s", item, a, pv, want)
		}
		return "", fmt.Errorf("platform %q: %s images have no variant (not %s); %s", item, a, v, want)
	}
	return "", fmt.Errorf("platform %q is not a known architecture; %s", item, want)
}

// platformNames lists the platforms --platform takes, for messages.
func platformNames() []string {
	var out []string
	for _, a := range Architectures {
		out = append(out, PlatformName(a))
	}
	return out
}
