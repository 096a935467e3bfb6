package packages

import (
	"fmt"
	"path"
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

// Grammar is one package format's spelling of package names, versions
// (in the model's spelling) and architectures, and the characters of a
// name pattern (a prune rule, --exclude). Each format's package has one
// (packages/deb, packages/rpm); wherever the format is known, what enters
// is checked against it. Where it is not (a profile without a format,
// the command line before the distro is open), AnyFormat checks what
// every format's names must be.
type Grammar interface {
	CheckName(s string) error
	CheckVersion(s string) error
	CheckArch(s string) error
	CheckPattern(s string) error
}

// CheckIdentity checks name, version and architecture against g.
func CheckIdentity(g Grammar, name, version, arch string) error {
	if err := g.CheckName(name); err != nil {
		return err
	}
	if err := g.CheckVersion(version); err != nil {
		return err
	}
	return g.CheckArch(arch)
}

// IsLowerAlnum reports whether c is a lower-case ASCII letter or a digit.
func IsLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// IsAlnum reports whether c is an ASCII letter or digit.
func IsAlnum(c byte) bool { return IsLowerAlnum(c) || c >= 'A' && c <= 'Z' }

// OnlyOf reports whether every byte of s is an ASCII letter or digit
// (lower-case only when lower) or in extra.
func OnlyOf(s string, lower bool, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if lower && IsLowerAlnum(c) || !lower && IsAlnum(c) || strings.IndexByte(extra, c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// CheckPatternOf checks a name pattern: a path.Match pattern, not
// starting with '.', '-' or '+', whose other characters are letters
// (lower-case only when lower), digits and "._+-*?[]!^".
func CheckPatternOf(s string, lower bool) error {
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
	if !OnlyOf(s, lower, "._+-*?[]!^") {
		return fmt.Errorf("package name pattern %q: characters other than those of package names and * ? [ ] ! ^", s)
	}
	return nil
}

// AnyFormat is the grammar every format's grammar lies within: what it
// refuses, no format accepts. It keeps names safe where no format is
// known yet: letters, digits and a few punctuation characters, starting
// with a letter or digit (an underscore too, for a name), so that no name
// can climb out of a directory; the format's own grammar is checked once
// the format is known.
var AnyFormat Grammar = anyFormat{}

type anyFormat struct{}

// CheckName: letters, digits and "._+-", not starting with '.', '-' or
// '+'.
func (anyFormat) CheckName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty package name")
	case len(s) > MaxNameLen:
		return fmt.Errorf("package name %.40q…: longer than %d bytes", s, MaxNameLen)
	case s[0] == '.' || s[0] == '-' || s[0] == '+' || !OnlyOf(s, false, "._+-"):
		return fmt.Errorf("package name %q: not a package name (letters, digits, '.', '_', '+', '-'; not starting with '.', '-' or '+')", s)
	}
	return nil
}

// anyVersionChars are the characters besides letters and digits of any
// format's versions: Debian's ".+~-:" and rpm's "._+%{}~^-:".
const anyVersionChars = ".+~-:_%{}^"

// CheckVersion: a letter or digit, then letters, digits and
// ".+~-:_%{}^".
func (anyFormat) CheckVersion(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty version")
	case len(s) > MaxVersionLen:
		return fmt.Errorf("version %.40q…: longer than %d bytes", s, MaxVersionLen)
	case !IsAlnum(s[0]) || !OnlyOf(s, false, anyVersionChars):
		return fmt.Errorf("version %q: not a package version (starting with a letter or digit; letters, digits and %s)", s, anyVersionChars)
	}
	return nil
}

// CheckArch: letters, digits, '-' and '_', not starting with '-'.
func (anyFormat) CheckArch(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty architecture")
	case len(s) > MaxArchLen:
		return fmt.Errorf("architecture %.40q…: longer than %d bytes", s, MaxArchLen)
	case s[0] == '-' || !OnlyOf(s, false, "-_"):
		return fmt.Errorf("architecture %q: not an architecture name (letters, digits, '-', '_'; not starting with '-')", s)
	}
	return nil
}

func (anyFormat) CheckPattern(s string) error { return CheckPatternOf(s, false) }

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
