package deb

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/distroless-dev/distroless/packages"
)

// Format is the format's name (a distro's and a profile's format:).
const Format = "deb"

// Grammar is Debian's spelling of package names, versions and
// architectures (policy 5.6.1, 5.6.12), as packages.Grammar.
var Grammar packages.Grammar = grammar{}

type grammar struct{}

func (grammar) CheckName(s string) error    { return CheckName(s) }
func (grammar) CheckVersion(s string) error { return CheckVersion(s) }
func (grammar) CheckArch(s string) error    { return CheckArch(s) }

// CheckPattern: a Debian name pattern is lower-case.
func (grammar) CheckPattern(s string) error { return packages.CheckPatternOf(s, true) }

// CheckName checks a Debian package name (Debian policy 5.6.1): at
// least two characters, lower-case letters, digits, '+', '-' and '.',
// starting with a letter or digit.
func CheckName(s string) error {
	switch {
	case len(s) < 2:
		return fmt.Errorf("package name %q: shorter than two characters", s)
	case len(s) > packages.MaxNameLen:
		return fmt.Errorf("package name %.40q…: longer than %d bytes", s, packages.MaxNameLen)
	case !packages.IsLowerAlnum(s[0]) || !packages.OnlyOf(s, true, "+-."):
		return fmt.Errorf("package name %q: not a Debian package name (lower-case letters, digits, '+', '-', '.'; starting with a letter or digit)", s)
	}
	return nil
}

// CheckVersion checks a Debian version (policy 5.6.12):
// [epoch:]upstream_version[-debian_revision]. The epoch is an unsigned
// number; the upstream version starts with a digit (as the version
// parser requires) and has letters, digits and ". + ~",
// and '-' only when there is a revision; the revision has letters,
// digits and "+ . ~".
func CheckVersion(s string) error {
	bad := func(why string) error { return fmt.Errorf("version %q: %s", s, why) }
	if s == "" {
		return fmt.Errorf("empty version")
	}
	if len(s) > packages.MaxVersionLen {
		return fmt.Errorf("version %.40q…: longer than %d bytes", s, packages.MaxVersionLen)
	}
	rest := s
	if i := strings.IndexByte(s, ':'); i >= 0 {
		epoch := s[:i]
		if epoch == "" || strings.Trim(epoch, "0123456789") != "" {
			return bad("the epoch is not a number")
		}
		if _, err := strconv.ParseUint(epoch, 10, 31); err != nil {
			return bad("the epoch is too large")
		}
		rest = s[i+1:]
	}
	upstream, revision := rest, ""
	hasRev := false
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		upstream, revision, hasRev = rest[:i], rest[i+1:], true
	}
	if upstream == "" {
		return bad("empty upstream version")
	}
	if upstream[0] < '0' || upstream[0] > '9' {
		return bad("the upstream version does not start with a digit")
	}
	if !packages.OnlyOf(upstream, false, ".+~-") {
		return bad("the upstream version has characters other than letters, digits and . + ~ -")
	}
	if hasRev {
		if revision == "" {
			return bad("empty revision after '-'")
		}
		if !packages.OnlyOf(revision, false, "+.~") {
			return bad("the revision has characters other than letters, digits and + . ~")
		}
	}
	return nil
}

// CheckArch checks a Debian architecture name: lower-case letters,
// digits and '-', starting with a letter or digit ("amd64", "all",
// "musl-linux-arm64").
func CheckArch(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty architecture")
	case len(s) > packages.MaxArchLen:
		return fmt.Errorf("architecture %.40q…: longer than %d bytes", s, packages.MaxArchLen)
	case !packages.IsLowerAlnum(s[0]) || !packages.OnlyOf(s, true, "-"):
		return fmt.Errorf("architecture %q: not a Debian architecture name (lower-case letters, digits, '-')", s)
	}
	return nil
}

// Purl is how Debian packages are named in a purl: pkg:deb/debian/…,
// the epoch in the version.
var Purl = packages.PurlSpelling{Type: "deb", Namespace: "debian"}
