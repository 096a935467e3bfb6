package resolver

import "github.com/distroless-dev/distroless/packages"

// viewScratch is reused by every view of one depth: a package is in the
// open view when its stamp of that depth is the view's id.
type viewScratch struct {
	depth int
	id    uint32
	work  []*packages.Package
	cands []*packages.Package
}

type cost struct {
	size int64
	n    int
	ok   bool
}

// view is a lookahead: the packages a candidate would add over the
// closure as it stands.
type view struct {
	st     *state
	sc     *viewScratch
	id     uint32
	size   int64
	n      int
	budget int // packages it may still visit
}

// newView opens the view of depth (closing the last one of that depth).
func (st *state) newView(depth int) *view {
	sc := &st.sh.scratch[depth]
	sc.id++
	if sc.id == 0 {
		for _, pi := range st.sh.infos {
			pi.stamp[depth] = 0
		}
		sc.id = 1
	}
	sc.work = sc.work[:0]
	return &view{st: st, sc: sc, id: sc.id, budget: lookBudget}
}

func (v *view) has(p *packages.Package) bool {
	pi := v.st.sh.info(p)
	return pi.stamp[v.sc.depth] == v.id || pi.in
}

// look is the cost of taking p now, nested choices decided to depth.
func (st *state) look(p *packages.Package, depth int) cost {
	v := st.newView(depth)
	if depth < lookDepth {
		v.budget = nestedBudget
	}
	if st.sh.visits >= totalBudget {
		v.budget = 1
	}
	ok := v.pkg(p, depth)
	st.sh.visits += v.n
	return cost{v.size, v.n, ok}
}

// pkg adds p and what it requires to the view; false when something
// cannot be met.
func (v *view) pkg(p *packages.Package, depth int) bool {
	base := len(v.sc.work)
	v.sc.work = append(v.sc.work, p)
	ok := true
	for len(v.sc.work) > base {
		x := v.sc.work[len(v.sc.work)-1]
		v.sc.work = v.sc.work[:len(v.sc.work)-1]
		if v.has(x) {
			continue
		}
		if v.budget <= 0 {
			v.sc.work = v.sc.work[:base]
			break
		}
		v.budget--
		// x conflicts with nothing in the closure: need and the callers
		// of look took only such candidates.
		v.st.sh.info(x).stamp[v.sc.depth] = v.id
		v.size += x.InstalledSize
		v.n++
		for _, d := range x.Depends {
			ok = v.need(d, depth) && ok
		}
	}
	return ok
}

// dep adds what d needs to the view.
func (v *view) dep(d packages.Dep, depth int) bool {
	base := len(v.sc.work)
	ok := v.need(d, depth)
	next := append([]*packages.Package(nil), v.sc.work[base:]...)
	v.sc.work = v.sc.work[:base]
	for _, p := range next {
		ok = v.pkg(p, depth) && ok
	}
	return ok
}

// need pushes the packages d would bring in over the view onto the
// view's work list; false when d cannot be met.
func (v *view) need(d packages.Dep, depth int) bool {
	st := v.st
	if d.Kind == packages.DepAtom {
		// Most requirements: the candidates once, for met and for the pick.
		cands := st.candidates(d)
		for _, p := range cands {
			if v.has(p) {
				return true
			}
		}
		if len(cands) == 1 {
			p := cands[0]
			if st.ruleFor(d.Atom.Name) != nil || st.ruleFor(p.Name) != nil {
				return true
			}
			if st.conflict(p) != "" {
				return false
			}
			v.sc.work = append(v.sc.work, p)
			return true
		}
	} else if metBy(st, d, v.has) {
		return true
	}
	switch d.Kind {
	case packages.DepAnd:
		ok := true
		for _, a := range d.Args {
			ok = v.need(a, depth) && ok
		}
		return ok
	case packages.DepIf, packages.DepUnless:
		return true // decided later, against the whole closure
	}
	alts := d.Args
	if d.Kind != packages.DepOr {
		alts = []packages.Dep{d}
	}
	cands := v.sc.cands[:0]
	for _, a := range alts {
		if a.Kind == packages.DepAtom && st.ruleFor(a.Atom.Name) != nil {
			return true
		}
		if a.Kind != packages.DepAtom && a.Kind != packages.DepWith && a.Kind != packages.DepWithout {
			continue
		}
		for _, p := range st.candidates(a) {
			if st.ruleFor(p.Name) != nil {
				v.sc.cands = cands
				return true
			}
			if st.conflict(p) == "" {
				cands = append(cands, p)
			}
		}
	}
	v.sc.cands = cands
	switch {
	case len(cands) == 0:
		return false
	case len(cands) == 1 || depth == 0 || st.sh.visits >= totalBudget:
		v.sc.work = append(v.sc.work, cands[0])
		return true
	}
	best, bestCost := cands[0], cost{}
	for i, p := range cands {
		c := st.nested(p, depth-1)
		if i == 0 || (c.ok && !bestCost.ok) || (c.ok == bestCost.ok && c.size < bestCost.size) {
			best, bestCost = p, c
		}
	}
	v.sc.work = append(v.sc.work, best)
	return true
}

// nested is the cost of p over the closure as it stands (not over the
// enclosing lookahead), memoised for the choice being decided.
func (st *state) nested(p *packages.Package, depth int) cost {
	k := memoKey{p, depth}
	if c, ok := st.sh.memo[k]; ok {
		return c
	}
	st.sh.memo[k] = cost{ok: false, size: 1 << 62} // a cycle costs as much as it can
	c := st.look(p, depth)
	st.sh.memo[k] = c
	return c
}
