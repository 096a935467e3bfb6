package resolver

import (
	"fmt"
	"strings"

	"github.com/distroless-dev/distroless/packages"
)

// conflictRec is one Conflicts, Breaks or Obsoletes relation of a package.
type conflictRec struct {
	kind     string
	atom     packages.Atom
	nameOnly bool      // Obsoletes: package names, never Provides
	owner    *Selected // set once the package is in the closure
}

func forRelations(p *packages.Package, fn func(conflictRec)) {
	for _, a := range p.Conflicts {
		fn(conflictRec{kind: "Conflicts", atom: a})
	}
	for _, a := range p.Breaks {
		fn(conflictRec{kind: "Breaks", atom: a})
	}
	for _, a := range p.Obsoletes {
		fn(conflictRec{kind: "Obsoletes", atom: a, nameOnly: true})
	}
}

// forNames calls fn with p's name and each name it provides (a Provides
// entry as the index wrote it: the name, then a space or the relation;
// rpm names such as "libc.so.6()(64bit)" keep their parentheses).
func forNames(p *packages.Package, fn func(string)) {
	fn(p.Name)
	for _, pr := range p.Provides {
		if i := strings.IndexAny(pr, " =<>"); i >= 0 {
			pr = pr[:i]
		}
		if pr != "" && pr != p.Name {
			fn(pr)
		}
	}
}

// matches reports whether relation r (of another package) names p.
func (st *state) matches(r conflictRec, p *packages.Package) bool {
	if r.nameOnly && r.atom.Name != p.Name {
		return false
	}
	for _, q := range st.satisfiers(r.atom) {
		if q == p {
			return true
		}
	}
	return false
}

// conflict says why p cannot join the closure, or "".
func (st *state) conflict(p *packages.Package) string {
	if s := st.sh.info(p).name.of(p); s != nil && s.Pkg != p {
		return fmt.Sprintf("%s %s is in the closure (through %s)", s.Pkg.Name, s.Pkg.Version, strings.Join(chain(s), " → "))
	}
	why := ""
	// The closure's relations that name p.
	forNames(p, func(n string) {
		for _, r := range st.against[n] {
			if why == "" && r.owner.Pkg.Name != p.Name && st.matches(r, p) {
				o := r.owner
				why = fmt.Sprintf("%s conflicts with %s (%s: %s: %s), in through %s", p.Name, o.Pkg.Name, o.Pkg.Name, r.kind, r.atom, strings.Join(chain(o), " → "))
			}
		}
	})
	if why != "" {
		return why
	}
	// p's relations that name the closure.
	forRelations(p, func(r conflictRec) {
		if why != "" || !st.sh.named(r.atom.Name) {
			return
		}
		for _, q := range st.satisfiers(r.atom) {
			if q.Name == p.Name || !st.selected(q) || (r.nameOnly && q.Name != r.atom.Name) {
				continue
			}
			why = fmt.Sprintf("%s conflicts with %s (%s: %s: %s), in through %s", p.Name, q.Name, p.Name, r.kind, r.atom, strings.Join(chain(st.sh.info(q).name.of(q)), " → "))
			return
		}
	})
	if why == "" {
		why = st.richConflict(p)
	}
	return why
}
