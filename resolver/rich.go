package resolver

import (
	"fmt"
	"strings"

	"github.com/distroless-dev/distroless/packages"
)

// Relations given as boolean expressions (packages.Package.ConflictsRich
// and ObsoletesRich). One holds when the closure's packages other than
// its owner (and other versions of it) make the expression true, a
// relation's default being false: an If holds only when its condition
// does, an Unless only when its condition does not (each with its else
// branch otherwise).
//
// The closure only grows while a branch is searched, so a package is
// refused at once when a relation certainly holds whatever comes later:
// its value as things stand, with every "not in the closure" (an Unless
// condition, the else branch of an If) taken as false, since a later
// package may change it. Relations that depend on a package being absent
// are checked again on the level's finished closure; one that holds there
// is a dead end that may depend on any choice (the one that would have
// brought the absent package in).

// richRec is one rich relation of a package of the closure (owner) or of
// a candidate.
type richRec struct {
	kind     string // Conflicts or Obsoletes
	dep      packages.Dep
	nameOnly bool
	owner    *packages.Package
	sel      *Selected // set once the owner is in the closure
}

func forRich(p *packages.Package, fn func(richRec)) {
	for _, d := range p.ConflictsRich {
		fn(richRec{kind: "Conflicts", dep: d, owner: p})
	}
	for _, d := range p.ObsoletesRich {
		fn(richRec{kind: "Obsoletes", dep: d, nameOnly: true, owner: p})
	}
}

// richEval evaluates rich relations over the closure plus one candidate.
type richEval struct {
	st    *state
	r     richRec
	extra *packages.Package // counted as in the closure; may be nil
	exact bool              // the value now; else the value certain to stay
	// who collects the packages that made atoms true.
	who []*packages.Package
}

// in reports whether p counts for r's atoms.
func (e *richEval) in(p *packages.Package) bool {
	if p.Name == e.r.owner.Name {
		return false
	}
	return p == e.extra || e.st.selected(p)
}

// atoms returns the packages of the closure that satisfy a.
func (e *richEval) atom(a packages.Atom, fn func(*packages.Package) bool) bool {
	for _, q := range e.st.satisfiers(a) {
		if e.r.nameOnly && q.Name != a.Name {
			continue
		}
		if e.in(q) && fn(q) {
			return true
		}
	}
	return false
}

// sat reports whether package q satisfies the simple (or with-chained)
// expression d.
func (e *richEval) sat(q *packages.Package, d packages.Dep) bool {
	switch d.Kind {
	case packages.DepAtom:
		if e.r.nameOnly && q.Name != d.Atom.Name {
			return false
		}
		for _, x := range e.st.satisfiers(d.Atom) {
			if x == q {
				return true
			}
		}
	case packages.DepWith:
		for _, a := range d.Args {
			if !e.sat(q, a) {
				return false
			}
		}
		return len(d.Args) > 0
	case packages.DepWithout:
		return len(d.Args) == 2 && e.sat(q, d.Args[0]) && !e.sat(q, d.Args[1])
	}
	return false
}

// first returns the leftmost atom of a with/without expression.
func first(d packages.Dep) (packages.Atom, bool) {
	for d.Kind == packages.DepWith || d.Kind == packages.DepWithout {
		if len(d.Args) == 0 {
			return packages.Atom{}, false
		}
		d = d.Args[0]
	}
	return d.Atom, d.Kind == packages.DepAtom
}

// holds evaluates d; who keeps the packages that made it true.
func (e *richEval) holds(d packages.Dep) bool {
	mark := len(e.who)
	ok := e.eval(d)
	if !ok {
		e.who = e.who[:mark]
	}
	return ok
}

func (e *richEval) eval(d packages.Dep) bool {
	switch d.Kind {
	case packages.DepAtom:
		return e.atom(d.Atom, func(q *packages.Package) bool {
			e.who = append(e.who, q)
			return true
		})
	case packages.DepWith, packages.DepWithout:
		// One package of the closure satisfying the whole expression.
		a, ok := first(d)
		return ok && e.atom(a, func(q *packages.Package) bool {
			if e.sat(q, d) {
				e.who = append(e.who, q)
				return true
			}
			return false
		})
	case packages.DepAnd:
		for _, a := range d.Args {
			if !e.holds(a) {
				return false
			}
		}
		return len(d.Args) > 0
	case packages.DepOr:
		for _, a := range d.Args {
			if e.holds(a) {
				return true
			}
		}
		return false
	case packages.DepIf, packages.DepUnless:
		if len(d.Args) < 2 {
			return false
		}
		var then, other *packages.Dep // the branch when the condition holds, and when not
		if d.Kind == packages.DepIf {
			then = &d.Args[0]
			if len(d.Args) > 2 {
				other = &d.Args[2]
			}
		} else {
			other = &d.Args[0]
			if len(d.Args) > 2 {
				then = &d.Args[2]
			}
		}
		if e.holds(d.Args[1]) {
			return then != nil && e.holds(*then)
		}
		if e.exact {
			return other != nil && e.holds(*other)
		}
		// The condition may come to hold later: certain only when both
		// branches hold.
		return then != nil && other != nil && e.holds(*then) && e.holds(*other)
	}
	return false
}

// richConflict says why p cannot join the closure because of a rich
// relation (the closure's, or p's own), or "".
func (st *state) richConflict(p *packages.Package) string {
	if len(st.rich) == 0 && len(p.ConflictsRich) == 0 && len(p.ObsoletesRich) == 0 {
		return ""
	}
	for _, r := range st.rich {
		if r.owner.Name == p.Name {
			continue
		}
		e := richEval{st: st, r: r, extra: p}
		if e.holds(r.dep) && e.involves(p) {
			return e.why(st)
		}
	}
	why := ""
	forRich(p, func(r richRec) {
		if why != "" {
			return
		}
		e := richEval{st: st, r: r}
		if e.holds(r.dep) {
			why = e.why(st)
		}
	})
	return why
}

// richKeptOutBy calls fn with the packages of the closure through which
// a rich relation keeps p out: the relation's owner and the packages that
// make it true.
func (st *state) richKeptOutBy(p *packages.Package, fn func(*Selected)) {
	if len(st.rich) == 0 && len(p.ConflictsRich) == 0 && len(p.ObsoletesRich) == 0 {
		return
	}
	blame := func(e *richEval) {
		if e.r.sel != nil {
			fn(e.r.sel)
		}
		for _, q := range e.who {
			if s := st.sh.info(q).name.of(q); s != nil && s.Pkg == q {
				fn(s)
			}
		}
	}
	for _, r := range st.rich {
		if r.owner.Name == p.Name {
			continue
		}
		e := richEval{st: st, r: r, extra: p}
		if e.holds(r.dep) && e.involves(p) {
			blame(&e)
		}
	}
	forRich(p, func(r richRec) {
		e := richEval{st: st, r: r}
		if e.holds(r.dep) {
			blame(&e)
		}
	})
}

// involves reports whether the relation holds through p (it held
// without p otherwise, and is for the final check to report).
func (e *richEval) involves(p *packages.Package) bool {
	for _, q := range e.who {
		if q == p {
			return true
		}
	}
	return false
}

// why says which relation holds and through which packages.
func (e *richEval) why(st *state) string {
	var ps []string
	seen := map[*packages.Package]bool{}
	for _, q := range e.who {
		if !seen[q] {
			seen[q] = true
			ps = append(ps, q.Name)
		}
	}
	msg := fmt.Sprintf("%s conflicts with %s (%s: %s: %s)", e.r.owner.Name, strings.Join(ps, " and "), e.r.owner.Name, e.r.kind, e.r.dep)
	if e.r.sel != nil {
		msg += ", in through " + strings.Join(chain(e.r.sel), " → ")
	}
	for _, q := range e.who {
		if s := st.sh.info(q).name.of(q); s != nil && s.Pkg == q && q != e.extra {
			msg += fmt.Sprintf("; %s in through %s", q.Name, strings.Join(chain(s), " → "))
		}
	}
	return msg
}

// richFinal checks the finished closure of a level against its rich
// relations, exactly: a dead end when one holds.
func (st *state) richFinal() error {
	for _, r := range st.rich {
		e := richEval{st: st, r: r, exact: true}
		if e.holds(r.dep) {
			return &deadEnd{err: &ConflictError{Why: e.why(st)}, set: culprits{all: true}}
		}
	}
	return nil
}

// ConflictError is returned when a finished closure breaks a relation
// that depends on a package being absent (an RPM rich Conflicts such as
// "(a unless b)").
type ConflictError struct {
	Why string
}

func (e *ConflictError) Error() string { return "no closure meets every conflict: " + e.Why }
