package packages

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Package names, versions and architectures come from repository
// indexes, lockfiles and profiles, and names end up in file names inside
// images (/var/lib/dpkg/status.d/NAME). Each format's grammar is checked
// wherever they enter: what does not fit is refused, so that no name can
// climb out of a directory or stand for another package's file.

// Length limits. A name (with "_" + arch and ".md5sums") must fit in one
// path component of 255 bytes; real names are far shorter (Debian's
// longest are about 70 bytes).
const (
	MaxNameLen    = 180
	MaxVersionLen = 256
	MaxArchLen    = 64
)

// Formats this file knows the grammars of.
const (
	FormatDeb = "deb"
	FormatRPM = "rpm"
)

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
func isAlnum(c byte) bool      { return isLowerAlnum(c) || c >= 'A' && c <= 'Z' }

// onlyOf reports whether every byte of s is alphanumeric (lower-case only
// when lower) or in extra.
func onlyOf(s string, lower bool, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if lower && isLowerAlnum(c) || !lower && isAlnum(c) || strings.IndexByte(extra, c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// CheckDebName checks a Debian package name (Debian policy 5.6.1): at
// least two characters, lower-case letters, digits, '+', '-' and '.',
// starting with a letter or digit.
func CheckDebName(s string) error {
	switch {
	case len(s) < 2:
		return fmt.Errorf("package name %q: shorter than two characters", s)
	case len(s) > MaxNameLen:
		return fmt.Errorf("package name %.40q…: longer than %d bytes", s, MaxNameLen)
	case !isLowerAlnum(s[0]) || !onlyOf(s, true, "+-."):
		return fmt.Errorf("package name %q: not a Debian package name (lower-case letters, digits, '+', '-', '.'; starting with a letter or digit)", s)
	}
	return nil
}

// CheckDebVersion checks a Debian version (policy 5.6.12):
// [epoch:]upstream_version[-debian_revision]. The epoch is an unsigned
// number; the upstream version starts with a digit (as the version
// parser requires) and has letters, digits and ". + ~",
// and '-' only when there is a revision; the revision has letters,
// digits and "+ . ~".
func CheckDebVersion(s string) error {
	bad := func(why string) error { return fmt.Errorf("version %q: %s", s, why) }
	if s == "" {
		return fmt.Errorf("empty version")
	}
	if len(s) > MaxVersionLen {
		return fmt.Errorf("version %.40q…: longer than %d bytes", s, MaxVersionLen)
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
	if !onlyOf(upstream, false, ".+~-") {
		return bad("the upstream version has characters other than letters, digits and . + ~ -")
	}
	if hasRev {
		if revision == "" {
			return bad("empty revision after '-'")
		}
		if !onlyOf(revision, false, "+.~") {
			return bad("the revision has characters other than letters, digits and + . ~")
		}
	}
	return nil
}

// CheckDebArch checks a Debian architecture name: lower-case letters,
// digits and '-', starting with a letter or digit ("amd64", "all",
// "musl-linux-arm64").
func CheckDebArch(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty architecture")
	case len(s) > MaxArchLen:
		return fmt.Errorf("architecture %.40q…: longer than %d bytes", s, MaxArchLen)
	case !isLowerAlnum(s[0]) || !onlyOf(s, true, "-"):
		return fmt.Errorf("architecture %q: not a Debian architecture name (lower-case letters, digits, '-')", s)
	}
	return nil
}

// CheckRPMName checks an RPM package name as rpmbuild accepts it:
// letters, digits and "._+-", not starting with '.', '-' or '+' (so no
// whitespace, no '/', nothing unprintable).
func CheckRPMName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty package name")
	case len(s) > MaxNameLen:
		return fmt.Errorf("package name %.40q…: longer than %d bytes", s, MaxNameLen)
	case s[0] == '.' || s[0] == '-' || s[0] == '+' || !onlyOf(s, false, "._+-"):
		return fmt.Errorf("package name %q: not an RPM package name (letters, digits, '.', '_', '+', '-'; not starting with '.', '-' or '+')", s)
	}
	return nil
}

// rpmVerRelChars are the characters besides letters and digits that
// rpmbuild allows in a version or release (ALLOWED_CHARS_VERREL).
const rpmVerRelChars = "._+%{}~^"

// CheckRPMEVR checks an RPM [epoch:]version-release as the model writes
// it (the release is what follows the last '-'; a version without a
// release is accepted, as in a relation). The epoch is a 32-bit unsigned
// number; version and release are non-empty, start with a letter or
// digit and have letters, digits and "._+%{}~^" only (no '-', ':', '/' or
// whitespace).
func CheckRPMEVR(s string) error {
	if s == "" {
		return fmt.Errorf("empty version")
	}
	if len(s) > MaxVersionLen {
		return fmt.Errorf("version %.40q…: longer than %d bytes", s, MaxVersionLen)
	}
	epoch, rest, hasEpoch := strings.Cut(s, ":")
	if !hasEpoch {
		epoch, rest = "", s
	}
	ver, rel, hasRel := rest, "", false
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		ver, rel, hasRel = rest[:i], rest[i+1:], true
	}
	if err := CheckRPMVersionParts(epoch, ver, rel); err != nil {
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

// CheckRPMVersionParts checks an RPM epoch (may be empty), version and
// release (may be empty) one by one, as a header or primary.xml gives
// them.
func CheckRPMVersionParts(epoch, version, release string) error {
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
	if !isAlnum(version[0]) || release != "" && !isAlnum(release[0]) {
		return fmt.Errorf("version %q or release %q does not start with a letter or digit", version, release)
	}
	if !onlyOf(version, false, rpmVerRelChars) {
		return fmt.Errorf("version part %q has characters other than letters, digits and %s", version, rpmVerRelChars)
	}
	if !onlyOf(release, false, rpmVerRelChars) {
		return fmt.Errorf("release %q has characters other than letters, digits and %s", release, rpmVerRelChars)
	}
	return nil
}

// CheckRPMArch checks an RPM architecture: letters, digits and '_'
// ("x86_64", "noarch", "armv7hl").
func CheckRPMArch(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty architecture")
	case len(s) > MaxArchLen:
		return fmt.Errorf("architecture %.40q…: longer than %d bytes", s, MaxArchLen)
	case !onlyOf(s, false, "_"):
		return fmt.Errorf("architecture %q: not an RPM architecture (letters, digits, '_')", s)
	}
	return nil
}

// CheckName checks a package name against format's grammar ("deb",
// "rpm"); format "" accepts a name either format accepts (for what serves
// both, e.g. a profile without a format).
func CheckName(format, s string) error {
	switch format {
	case FormatDeb:
		return CheckDebName(s)
	case FormatRPM:
		return CheckRPMName(s)
	case "":
		if CheckDebName(s) == nil {
			return nil
		}
		if err := CheckRPMName(s); err != nil {
			return fmt.Errorf("package name %q: not a Debian or RPM package name", s)
		}
		return nil
	}
	return fmt.Errorf("unknown package format %q", format)
}

// CheckVersion checks a version in the model's spelling for format.
func CheckVersion(format, s string) error {
	switch format {
	case FormatDeb:
		return CheckDebVersion(s)
	case FormatRPM:
		return CheckRPMEVR(s)
	case "":
		if CheckDebVersion(s) == nil {
			return nil
		}
		if err := CheckRPMEVR(s); err != nil {
			return fmt.Errorf("version %q: not a Debian or RPM version", s)
		}
		return nil
	}
	return fmt.Errorf("unknown package format %q", format)
}

// CheckArch checks an architecture name for format.
func CheckArch(format, s string) error {
	switch format {
	case FormatDeb:
		return CheckDebArch(s)
	case FormatRPM:
		return CheckRPMArch(s)
	case "":
		if CheckDebArch(s) == nil {
			return nil
		}
		if err := CheckRPMArch(s); err != nil {
			return fmt.Errorf("architecture %q: not a Debian or RPM architecture", s)
		}
		return nil
	}
	return fmt.Errorf("unknown package format %q", format)
}

// CheckIdentity checks name, version and architecture for format.
func CheckIdentity(format, name, version, arch string) error {
	if err := CheckName(format, name); err != nil {
		return err
	}
	if err := CheckVersion(format, version); err != nil {
		return err
	}
	return CheckArch(format, arch)
}

// CheckPattern checks a name pattern (a prune rule, --exclude): a
// path.Match pattern whose literal characters are those of package names.
func CheckPattern(format, s string) error {
	if s == "" {
		return fmt.Errorf("empty package name pattern")
	}
	if len(s) > MaxNameLen {
		return fmt.Errorf("package name pattern %.40q…: longer than %d bytes", s, MaxNameLen)
	}
	if s[0] == '.' || s[0] == '-' || s[0] == '+' {
		return fmt.Errorf("package name pattern %q: starts with %q", s, s[0])
	}
	if _, err := path.Match(s, ""); err != nil {
		return fmt.Errorf("package name pattern %q: %v", s, err)
	}
	extra := "._+-*?[]!^"
	if format == FormatDeb && !onlyOf(s, true, extra) || !onlyOf(s, false, extra) {
		return fmt.Errorf("package name pattern %q: characters other than those of package names and * ? [ ] ! ^", s)
	}
	return nil
}

// Identity is what a package file says of itself: the name, version (in
// the model's spelling: dpkg's, or rpm's [E:]V-R) and architecture of its
// own control record or header.
type Identity struct {
	Name, Version, Arch string
}

// Identifier is a Payload that can read a package file's Identity (a
// .deb's control file, an rpm's header).
type Identifier interface {
	Identity(file string) (Identity, error)
}

// Matches returns an error naming the package, the field and both values
// when id is not what p (from an index or lockfile) says.
func (id Identity) Matches(p *Package) error {
	for _, f := range []struct{ field, want, got string }{
		{"name", p.Name, id.Name},
		{"version", p.Version, id.Version},
		{"architecture", p.Arch, id.Arch},
	} {
		if f.want != f.got {
			return fmt.Errorf("package %s %s: the package file's own %s is %q, the index or lockfile says %q", p.Name, p.Version, f.field, f.got, f.want)
		}
	}
	return nil
}

// SafeFileName reports whether name can be used as one file name inside
// a directory: not empty, not "." or "..", no '/', no NUL, at most 255
// bytes, and joined to a directory it stays a direct child of it.
func SafeFileName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > 255 || strings.ContainsAny(name, "/\x00") {
		return false
	}
	return path.Dir(path.Join("/d", name)) == "/d"
}
