package rpm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/distroless-dev/distroless/packages"
)

// Format is the format's name (a distro's and a profile's format:).
const Format = "rpm"

// Grammar is rpm's spelling of package names, [epoch:]version-release
// and architectures, as packages.Grammar.
var Grammar packages.Grammar = grammar{}

type grammar struct{}

func (grammar) CheckName(s string) error    { return CheckName(s) }
func (grammar) CheckVersion(s string) error { return CheckEVR(s) }
func (grammar) CheckArch(s string) error    { return CheckArch(s) }
func (grammar) CheckPattern(s string) error { return packages.CheckPatternOf(s, false) }

// CheckName checks an RPM package name as rpmbuild accepts it:
// letters, digits and "._+-", not starting with '.', '-' or '+' (so no
// whitespace, no '/', nothing unprintable).
func CheckName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty package name")
	case len(s) > packages.MaxNameLen:
		return fmt.Errorf("package name %.40q…: longer than %d bytes", s, packages.MaxNameLen)
	case s[0] == '.' || s[0] == '-' || s[0] == '+' || !packages.OnlyOf(s, false, "._+-"):
		return fmt.Errorf("package name %q: not an RPM package name (letters, digits, '.', '_', '+', '-'; not starting with '.', '-' or '+')", s)
	}
	return nil
}

// verRelChars are the characters besides letters and digits that
// rpmbuild allows in a version or release (ALLOWED_CHARS_VERREL).
const verRelChars = "._+%{}~^"

// CheckEVR checks an RPM [epoch:]version-release as the model writes
// it (the release is what follows the last '-'; a version without a
// release is accepted, as in a relation). The epoch is a 32-bit unsigned
// number; version and release are non-empty, start with a letter or
// digit and have letters, digits and "._+%{}~^" only (no '-', ':', '/' or
// whitespace).
func CheckEVR(s string) error {
	if s == "" {
		return fmt.Errorf("empty version")
	}
	if len(s) > packages.MaxVersionLen {
		return fmt.Errorf("version %.40q…: longer than %d bytes", s, packages.MaxVersionLen)
	}
	epoch, rest, hasEpoch := strings.Cut(s, ":")
	if !hasEpoch {
		epoch, rest = "", s
	}
	ver, rel, hasRel := rest, "", false
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		ver, rel, hasRel = rest[:i], rest[i+1:], true
	}
	if err := CheckVersionParts(epoch, ver, rel); err != nil {
		return fmt.Errorf("version %q: %v", s, err)
	}
	if hasEpoch && epoch == "" {
		return fmt.Errorf("version %q: empty epoch", s)
	}
	if hasRel && rel == "" {
		return fmt.Errorf("version %q: empty release", s)
	}
	return nil
}

// CheckVersionParts checks an RPM epoch (may be empty), version and
// release (may be empty) one by one, as a header or primary.xml gives
// them.
func CheckVersionParts(epoch, version, release string) error {
	if epoch != "" {
		if strings.Trim(epoch, "0123456789") != "" {
			return fmt.Errorf("epoch %q is not a number", epoch)
		}
		if _, err := strconv.ParseUint(epoch, 10, 32); err != nil {
			return fmt.Errorf("epoch %q is too large", epoch)
		}
	}
	if version == "" {
		return fmt.Errorf("empty version")
	}
	if !packages.IsAlnum(version[0]) || release != "" && !packages.IsAlnum(release[0]) {
		return fmt.Errorf("version %q or release %q does not start with a letter or digit", version, release)
	}
	if !packages.OnlyOf(version, false, verRelChars) {
		return fmt.Errorf("version part %q has characters other than letters, digits and %s", version, verRelChars)
	}
	if !packages.OnlyOf(release, false, verRelChars) {
		return fmt.Errorf("release %q has characters other than letters, digits and %s", release, verRelChars)
	}
	return nil
}

// CheckArch checks an RPM architecture: letters, digits and '_'
// ("x86_64", "noarch", "armv7hl").
func CheckArch(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty architecture")
	case len(s) > packages.MaxArchLen:
		return fmt.Errorf("architecture %.40q…: longer than %d bytes", s, packages.MaxArchLen)
	case !packages.OnlyOf(s, false, "_"):
		return fmt.Errorf("architecture %q: not an RPM architecture (letters, digits, '_')", s)
	}
	return nil
}

// Purl is how RPM packages are named in a purl: pkg:rpm/NAMESPACE/…,
// the epoch as a qualifier (none for 0).
var Purl = packages.PurlSpelling{Type: "rpm", Namespace: "rpm", EpochQualifier: true}
