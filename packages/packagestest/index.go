// Package packagestest provides a narrow in-memory packages.Index for unit
// tests of format-neutral code. Versions compare as integers; Provides
// entries are "name" or "name=version"; requirements are written in a
// tiny syntax: "a, b | c, d>=2".
package packagestest

import (
	"sort"
	"strconv"
	"strings"

	"github.com/distroless-dev/distroless/packages"
)

// Index is a list of packages; the order of Satisfiers follows it.
type Index struct{ Pkgs []*packages.Package }

// Names returns the package names, sorted.
func (f *Index) Names() []string {
	var n []string
	for _, p := range f.Pkgs {
		n = append(n, p.Name)
	}
	sort.Strings(n)
	return n
}

// Satisfiers returns packages named a.Name, then providers, in list order.
func (f *Index) Satisfiers(a packages.Atom) []*packages.Package {
	var real, prov []*packages.Package
	for _, p := range f.Pkgs {
		if p.Name == a.Name && compare(p.Version, a.Op, a.Version) {
			real = append(real, p)
			continue
		}
		for _, pr := range p.Provides {
			name, ver, versioned := strings.Cut(pr, "=")
			if name != a.Name {
				continue
			}
			if a.Op == "" || (versioned && compare(ver, a.Op, a.Version)) {
				prov = append(prov, p)
			}
		}
	}
	return append(real, prov...)
}

func compare(have, op, want string) bool {
	h, _ := strconv.Atoi(have)
	w, _ := strconv.Atoi(want)
	switch op {
	case "":
		return true
	case "<":
		return h < w
	case "<=":
		return h <= w
	case "=":
		return h == w
	case ">=":
		return h >= w
	case ">":
		return h > w
	}
	return false
}

// Pkg makes an amd64 package with requirements in the tiny syntax.
func Pkg(name, version, deps string, provides ...string) *packages.Package {
	return &packages.Package{Name: name, Version: version, Arch: "amd64", Depends: Deps(deps), Provides: provides}
}

// Deps parses "a, b | c, d>=2".
func Deps(s string) []packages.Dep {
	if s == "" {
		return nil
	}
	var out []packages.Dep
	for _, group := range strings.Split(s, ",") {
		var alts []packages.Dep
		for _, alt := range strings.Split(group, "|") {
			alts = append(alts, packages.Dep{Kind: packages.DepAtom, Atom: Atom(strings.TrimSpace(alt))})
		}
		if len(alts) == 1 {
			out = append(out, alts[0])
		} else {
			out = append(out, packages.Dep{Kind: packages.DepOr, Args: alts})
		}
	}
	return out
}

// Atom parses "name", "name>=2" and the like.
func Atom(s string) packages.Atom {
	for _, op := range []string{">=", "<=", "=", "<", ">"} {
		if i := strings.Index(s, op); i > 0 {
			return packages.Atom{Name: s[:i], Op: op, Version: s[i+len(op):]}
		}
	}
	return packages.Atom{Name: s}
}
