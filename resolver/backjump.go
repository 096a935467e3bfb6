package resolver

import (
	"slices"

	"github.com/distroless-dev/distroless/packages"
)

// culprits are the choices (by depth) a dead end depends on; all when
// they are not known.
type culprits struct {
	all    bool
	levels []int32 // sorted
}

// add adds the levels of o, except skip.
func (c *culprits) add(o culprits, skip int32) {
	if c.all || o.all {
		c.all, c.levels = true, nil
		return
	}
	for _, l := range o.levels {
		if l == skip {
			continue
		}
		if i, found := slices.BinarySearch(c.levels, l); !found {
			c.levels = slices.Insert(c.levels, i, l)
		}
	}
}

func (c *culprits) addSel(s *Selected) {
	if s != nil {
		c.add(culprits{all: s.causeAll, levels: s.cause}, -1)
	}
}

// deadEnd is an error of the search with the choices it depends on.
type deadEnd struct {
	err error
	set culprits
}

func (e *deadEnd) Error() string { return e.err.Error() }

func (e *deadEnd) Unwrap() error { return e.err }

// dead is err, a requirement d of from that cannot be met, with what it
// depends on.
func (st *state) dead(err error, from *Selected, d packages.Dep, cond bool) error {
	return &deadEnd{err: err, set: st.blame(from, d, cond)}
}

// blame returns the choices a requirement d of from depends on, as the
// closure stands: those that brought from in, and those that brought in
// each package that keeps one of d's satisfiers out (a conflict, another
// version of it).
func (st *state) blame(from *Selected, d packages.Dep, cond bool) culprits {
	c := culprits{all: cond || st.inCond}
	if c.all {
		return c
	}
	c.addSel(from)
	var walk func(d packages.Dep)
	walk = func(d packages.Dep) {
		if c.all {
			return
		}
		switch d.Kind {
		case packages.DepAtom:
			for _, p := range st.satisfiers(d.Atom) {
				st.keptOutBy(p, c.addSel)
			}
		case packages.DepOr, packages.DepAnd, packages.DepWith, packages.DepWithout:
			for _, a := range d.Args {
				walk(a)
			}
		default:
			c.all = true
		}
	}
	walk(d)
	return c
}

// keptOutBy calls fn with each package of the closure that keeps p out:
// another version of it, a package with a relation naming p, a package
// p's relations name.
func (st *state) keptOutBy(p *packages.Package, fn func(*Selected)) {
	if s := st.sh.info(p).name.of(p); s != nil && s.Pkg != p {
		fn(s)
	}
	forNames(p, func(n string) {
		for _, r := range st.against[n] {
			if r.owner.Pkg.Name != p.Name && st.matches(r, p) {
				fn(r.owner)
			}
		}
	})
	forRelations(p, func(r conflictRec) {
		if !st.sh.named(r.atom.Name) {
			return
		}
		for _, q := range st.satisfiers(r.atom) {
			if q.Name == p.Name || !st.selected(q) || (r.nameOnly && q.Name != r.atom.Name) {
				continue
			}
			fn(st.sh.info(q).name.of(q))
		}
	})
	st.richKeptOutBy(p, fn)
}
