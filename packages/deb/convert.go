package deb

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"pault.ag/go/debian/control"
	"pault.ag/go/debian/dependency"
	"pault.ag/go/debian/version"

	"github.com/distroless-dev/distroless/packages"
)

// priorities ranks Debian's Priority values for packages.Package's
// Priority (apt prefers the higher one among equal providers); other
// values (none, "source") rank 0, after them all.
var priorities = map[string]int{"required": 1, "important": 2, "standard": 3, "optional": 4, "extra": 5}

// debPkg is a parsed stanza with what the index needs beyond the model.
type debPkg struct {
	pkg       *packages.Package
	ver       version.Version
	multiArch string
	provides  []provided
	record    []byte // the stanza, for Index.Field
}

// provided is one entry of a Provides field.
type provided struct {
	name      string
	op        string // "" or "="
	version   string
	parsedVer version.Version
}

// paragraph reads the fields of one deb822 stanza (a Packages index
// entry or a control file), the one reader of them in this package.
func paragraph(stanza []byte) (map[string]string, error) {
	r, err := control.NewParagraphReader(bytes.NewReader(stanza), nil)
	if err != nil {
		return nil, err
	}
	para, err := r.Next()
	if err != nil {
		return nil, err
	}
	return para.Values, nil
}

// parseStanza converts one Packages stanza into a Package. mirror is the
// archive's base URL (the download URL is mirror + "/" + Filename), origin
// the suite it was read from, arch the target architecture (for
// architecture restrictions in dependency fields). A stanza that does not
// parse is an error naming the package.
func parseStanza(stanza []byte, mirror, origin, arch string) (*debPkg, error) {
	v, err := paragraph(stanza)
	if err != nil {
		return nil, fmt.Errorf("package %s: %v", guessName(stanza), err)
	}
	name := strings.TrimSpace(v["Package"])
	if name == "" {
		return nil, fmt.Errorf("stanza without a Package field")
	}
	fail := func(format string, args ...any) (*debPkg, error) {
		return nil, fmt.Errorf("package %s: %s", name, fmt.Sprintf(format, args...))
	}
	if err := CheckName(name); err != nil {
		return fail("refused: %v", err)
	}
	verStr := strings.TrimSpace(v["Version"])
	if err := CheckVersion(verStr); err != nil {
		return fail("refused: %v", err)
	}
	ver, err := version.Parse(verStr)
	if err != nil {
		return fail("version %q: %v", verStr, err)
	}
	p := &packages.Package{
		Name:     name,
		Version:  verStr,
		Arch:     strings.TrimSpace(v["Architecture"]),
		SHA256:   strings.ToLower(strings.TrimSpace(v["SHA256"])),
		Location: strings.TrimSpace(v["Filename"]),
		Origin:   origin,
		Source:   name,
	}
	if p.Arch == "" {
		return fail("no Architecture")
	}
	if err := CheckArch(p.Arch); err != nil {
		return fail("refused: %v", err)
	}
	if p.Location == "" {
		return fail("no Filename")
	}
	if p.SHA256 == "" {
		return fail("no SHA256")
	}
	p.URL = strings.TrimRight(mirror, "/") + "/" + p.Location
	if s := strings.TrimSpace(v["Size"]); s != "" {
		if p.Size, err = strconv.ParseInt(s, 10, 64); err != nil || p.Size < 0 {
			return fail("bad Size %q", s)
		}
	} else {
		return fail("no Size")
	}
	if s := strings.TrimSpace(v["Installed-Size"]); s != "" {
		kib, err := strconv.ParseInt(s, 10, 64)
		if err != nil || kib < 0 || kib > 1<<40 {
			return fail("bad Installed-Size %q", s)
		}
		p.InstalledSize = kib * 1024
	}
	p.Priority = priorities[strings.ToLower(strings.TrimSpace(v["Priority"]))]
	if s := strings.TrimSpace(v["Source"]); s != "" {
		if i := strings.IndexAny(s, " \t("); i >= 0 {
			s = s[:i]
		}
		p.Source = s
	}
	target, err := dependency.ParseArch(arch)
	if err != nil {
		return fail("architecture %q: %v", arch, err)
	}
	for _, field := range []string{"Pre-Depends", "Depends"} {
		deps, err := convertDeps(v[field], *target)
		if err != nil {
			return fail("%s: %v", field, err)
		}
		p.Depends = append(p.Depends, deps...)
	}
	for _, f := range []struct {
		name string
		to   *[]packages.Atom
	}{{"Conflicts", &p.Conflicts}, {"Breaks", &p.Breaks}} {
		deps, err := convertDeps(v[f.name], *target)
		if err != nil {
			return fail("%s: %v", f.name, err)
		}
		*f.to = atomsOf(deps)
	}
	d := &debPkg{pkg: p, ver: ver, multiArch: strings.ToLower(strings.TrimSpace(v["Multi-Arch"]))}
	if s := strings.TrimSpace(v["Provides"]); s != "" {
		for _, item := range strings.Split(s, ",") {
			if item = strings.Join(strings.Fields(item), " "); item != "" {
				p.Provides = append(p.Provides, item)
			}
		}
		dep, err := dependency.Parse(s)
		if err != nil {
			return fail("Provides: %v", err)
		}
		for _, rel := range dep.Relations {
			for _, poss := range rel.Possibilities {
				if poss.Substvar || poss.Name == "" {
					continue
				}
				pr := provided{name: poss.Name}
				if poss.Version != nil {
					pr.op = normOp(poss.Version.Operator)
					pr.version = poss.Version.Number
					if pr.parsedVer, err = version.Parse(pr.version); err != nil {
						return fail("Provides %s: version %q: %v", poss.Name, pr.version, err)
					}
				}
				d.provides = append(d.provides, pr)
			}
		}
	}
	d.record = append(bytes.TrimRight(bytes.Clone(stanza), "\n"), '\n')
	return d, nil
}

// guessName finds the Package field of a stanza that does not parse.
func guessName(stanza []byte) string {
	for _, line := range bytes.Split(stanza, []byte("\n")) {
		if v, ok := fieldValue(line, "Package"); ok {
			return string(v)
		}
	}
	return "(unnamed)"
}

// normOp spells a Debian version operator the model's way.
func normOp(op string) string {
	switch op {
	case "<<":
		return "<"
	case ">>":
		return ">"
	}
	return op
}

// convertDeps turns a dependency field into model Deps. Alternatives
// limited to other architectures ("[!amd64]") or to build profiles that
// are not active (none is, for binary packages) are dropped, as are
// substitution variables; a relation left with no alternative vanishes.
func convertDeps(field string, target dependency.Arch) ([]packages.Dep, error) {
	field = strings.TrimSpace(field)
	if field == "" {
		return nil, nil
	}
	dep, err := dependency.Parse(field)
	if err != nil {
		return nil, err
	}
	var out []packages.Dep
	for _, rel := range dep.Relations {
		var atoms []packages.Dep
		for _, poss := range rel.Possibilities {
			if poss.Substvar || poss.Name == "" {
				continue
			}
			if poss.Architectures != nil && !poss.Architectures.Matches(&target) {
				continue
			}
			if !profilesAllow(poss.StageSets) {
				continue
			}
			a := packages.Atom{Name: poss.Name}
			if poss.Arch != nil {
				a.Arch = poss.Arch.String()
			}
			if poss.Version != nil {
				a.Op = normOp(poss.Version.Operator)
				a.Version = poss.Version.Number
				switch a.Op {
				case "<", "<=", "=", ">=", ">":
				default:
					return nil, fmt.Errorf("%s: bad relation %q", poss.Name, poss.Version.Operator)
				}
				if _, err := version.Parse(a.Version); err != nil {
					return nil, fmt.Errorf("%s: version %q: %v", poss.Name, a.Version, err)
				}
			}
			atoms = append(atoms, packages.Dep{Kind: packages.DepAtom, Atom: a})
		}
		switch len(atoms) {
		case 0:
		case 1:
			out = append(out, atoms[0])
		default:
			out = append(out, packages.Dep{Kind: packages.DepOr, Args: atoms})
		}
	}
	return out, nil
}

// atomsOf flattens relations to their atoms (Conflicts and Breaks allow
// no alternatives; a field that has them conflicts with each).
func atomsOf(deps []packages.Dep) []packages.Atom {
	var out []packages.Atom
	for _, d := range deps {
		if d.Kind == packages.DepAtom {
			out = append(out, d.Atom)
			continue
		}
		for _, a := range d.Args {
			out = append(out, a.Atom)
		}
	}
	return out
}

// profilesAllow evaluates build-profile restrictions with no profile
// active: the formula is a disjunction of conjunctions.
func profilesAllow(sets []dependency.StageSet) bool {
	if len(sets) == 0 {
		return true
	}
	for _, set := range sets {
		ok := true
		for _, st := range set.Stages {
			if !st.Not { // <profile> needs an active profile
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Field returns the value of a field of p's stanza in the index (p one of
// the index's packages), or "" when it has no such field (e.g.
// Field(p, "Multi-Arch")); field names match without regard to case, as
// in deb822.
func (ix *Index) Field(p *packages.Package, name string) string {
	ix.ensure()
	ix.mu.Lock()
	d := ix.byPkg[p]
	ix.mu.Unlock()
	if d == nil {
		return ""
	}
	return recordField(d.record, name)
}

// recordField returns the value of a field of a deb822 record, or "".
func recordField(record []byte, name string) string {
	v, err := paragraph(record)
	if err != nil {
		return ""
	}
	for k, val := range v {
		if strings.EqualFold(k, name) {
			return strings.TrimSpace(val)
		}
	}
	return ""
}

// MultiArch returns the Multi-Arch value of one of the index's packages
// ("same", "foreign", "allowed"), or "" (meaning "no").
func (ix *Index) MultiArch(p *packages.Package) string {
	ix.ensure()
	return strings.ToLower(ix.Field(p, "Multi-Arch"))
}
