package resolver

import (
	"path"

	"github.com/distroless-dev/distroless/packages"
)

// propagate drains the queue: every requirement with one candidate is
// followed, those with several wait in st.choices.
func (st *state) propagate() error {
	for len(st.queue) > 0 {
		s := st.queue[0]
		st.queue = st.queue[1:]
		if s.NoDeps {
			continue
		}
		for _, d := range s.Pkg.Depends {
			if err := st.require(d, s); err != nil {
				return err
			}
		}
	}
	return nil
}

func (st *state) require(d packages.Dep, from *Selected) error {
	switch d.Kind {
	case packages.DepOr:
		if st.met(d) {
			return nil
		}
		// An alternative that is pruned adds nothing: no choice to make.
		for _, a := range d.Args {
			if a.Kind == packages.DepAtom {
				if r := st.ruleFor(a.Atom.Name); r != nil {
					st.prune(a.Atom.Name, r, from, st.isVirtual(a.Atom.Name))
					return nil
				}
			}
		}
		st.choices = append(st.choices, pending{d, from, st.inCond})
		return nil
	case packages.DepIf, packages.DepUnless:
		st.conds = append(st.conds, pending{d, from, st.inCond})
		return nil
	case packages.DepAnd:
		for _, a := range d.Args {
			if err := st.require(a, from); err != nil {
				return err
			}
		}
		return nil
	}
	return st.resolveOne(d, from)
}

// resolveOne follows an atom-like requirement: met already, pruned, one
// candidate (taken), or several (a choice, for later).
func (st *state) resolveOne(d packages.Dep, from *Selected) error {
	if d.Kind == packages.DepAtom {
		if r := st.ruleFor(d.Atom.Name); r != nil {
			st.prune(d.Atom.Name, r, from, st.isVirtual(d.Atom.Name))
			return nil
		}
	}
	cands := st.candidates(d)
	for _, p := range cands {
		if st.selected(p) {
			return nil
		}
	}
	if len(cands) == 0 {
		return st.dead(&UnsatisfiableError{Dep: d.String(), Chain: chain(from)}, from, d, false)
	}
	for _, p := range cands[1:] {
		if p.Name != cands[0].Name {
			st.choices = append(st.choices, pending{d, from, st.inCond})
			return nil
		}
	}
	// One package (in one or more versions, the preferred first).
	if r := st.ruleFor(cands[0].Name); r != nil {
		st.prune(cands[0].Name, r, from, false)
		return nil
	}
	var conflicts []string
	for _, p := range cands {
		why := st.conflict(p)
		if why == "" {
			s := st.add(p, from, false)
			if len(conflicts) > 0 {
				// Forced by the conflicts of the versions before it.
				b := st.blame(from, d, false)
				s.cause, s.causeAll = b.levels, b.all
			}
			return nil
		}
		conflicts = append(conflicts, why)
	}
	return st.dead(&UnsatisfiableError{Dep: d.String(), Chain: chain(from), Conflicts: conflicts}, from, d, false)
}

// resolveConds handles conditional requirements whose condition now holds
// and, when none does, the else branch of the first one that has one. One
// met by its else branch whose condition comes to hold later (through
// what the else branch brought) has its first branch required then.
func (st *state) resolveConds() (bool, error) {
	st.inCond = true
	defer func() { st.inCond = false }()
	for i, p := range st.conds {
		if st.condHolds(p.dep) {
			st.conds = append(st.conds[:i:i], st.conds[i+1:]...)
			return true, st.require(p.dep.Args[0], p.from)
		}
	}
	for i, p := range st.elses {
		if st.condHolds(p.dep) {
			st.elses = append(st.elses[:i:i], st.elses[i+1:]...)
			return true, st.require(p.dep.Args[0], p.from)
		}
	}
	for i, p := range st.conds {
		if len(p.dep.Args) > 2 {
			st.conds = append(st.conds[:i:i], st.conds[i+1:]...)
			st.elses = append(st.elses[:len(st.elses):len(st.elses)], p)
			return true, st.require(p.dep.Args[2], p.from)
		}
	}
	return false, nil
}

func (st *state) condHolds(d packages.Dep) bool {
	if len(d.Args) < 2 {
		return false
	}
	holds := st.met(d.Args[1])
	if d.Kind == packages.DepUnless {
		return !holds
	}
	return holds
}

// candidates returns the packages that satisfy an atom-like requirement,
// in the index's order, without other versions of a package the closure
// has.
func (st *state) candidates(d packages.Dep) []*packages.Package {
	var raw []*packages.Package
	switch d.Kind {
	case packages.DepAtom:
		raw = st.satisfiers(d.Atom)
	case packages.DepWith, packages.DepWithout:
		if len(d.Args) != 2 {
			return nil
		}
		other := map[*packages.Package]bool{}
		for _, p := range st.candidates(d.Args[1]) {
			other[p] = true
		}
		for _, p := range st.candidates(d.Args[0]) {
			if other[p] == (d.Kind == packages.DepWith) {
				raw = append(raw, p)
			}
		}
	}
	if len(raw) == 1 {
		// Most requirements: a name the closure has, or no other version
		// of it is in.
		if pi := st.sh.info(raw[0]); pi.in || pi.name.of(raw[0]) == nil {
			return raw
		}
		return nil
	}
	out := raw[:0:0]
	for _, p := range raw {
		if s := st.sh.info(p).name.of(p); s != nil && s.Pkg != p {
			continue
		}
		out = append(out, p)
	}
	return out
}

// met reports whether a package already in the closure meets d.
func (st *state) met(d packages.Dep) bool {
	return metBy(st, d, st.selected)
}

// metBy reports whether d is met by the packages has accepts.
func metBy(st *state, d packages.Dep, has func(*packages.Package) bool) bool {
	switch d.Kind {
	case packages.DepAtom, packages.DepWith, packages.DepWithout:
		for _, p := range st.candidates(d) {
			if has(p) {
				return true
			}
		}
		return false
	case packages.DepOr:
		for _, a := range d.Args {
			if metBy(st, a, has) {
				return true
			}
		}
		return false
	case packages.DepAnd:
		for _, a := range d.Args {
			if !metBy(st, a, has) {
				return false
			}
		}
		return true
	case packages.DepIf, packages.DepUnless:
		if len(d.Args) < 2 {
			return true
		}
		holds := metBy(st, d.Args[1], has)
		if d.Kind == packages.DepUnless {
			holds = !holds
		}
		if holds {
			return metBy(st, d.Args[0], has)
		}
		return len(d.Args) < 3 || metBy(st, d.Args[2], has)
	}
	return false
}

func (st *state) isVirtual(name string) bool {
	return packages.Lookup(st.sh.ix, name) == nil
}

func (st *state) prune(name string, r *PruneRule, from *Selected, virtual bool) {
	p, ok := st.pruned[name]
	if !ok {
		p = &Pruned{Name: name, Reason: r.Reason, Virtual: virtual}
		st.pruned[name] = p
		st.trail = append(st.trail, undo{pruned: p, prev: -1})
	}
	if from == nil {
		return
	}
	for _, n := range p.NeededBy {
		if n == from.Pkg.Name {
			return
		}
	}
	st.trail = append(st.trail, undo{pruned: p, prev: len(p.NeededBy)})
	p.NeededBy = append(p.NeededBy, from.Pkg.Name)
}

func (st *state) ruleFor(name string) *PruneRule {
	if len(st.sh.rules) == 0 {
		return nil
	}
	first := len(st.sh.rules)
	if i, ok := st.sh.exact[name]; ok {
		first = i
	}
	for _, i := range st.sh.patterns {
		if i >= first {
			break
		}
		if ok, _ := path.Match(st.sh.rules[i].Name, name); ok {
			first = i
			break
		}
	}
	if first == len(st.sh.rules) {
		return nil
	}
	return &st.sh.rules[first]
}
