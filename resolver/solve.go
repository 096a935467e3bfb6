package resolver

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/distroless-dev/distroless/packages"
)

// How the closure is found. Requirements with one candidate are followed
// at once; those with several (alternatives, providers of a virtual name,
// versions) wait until nothing else is left, so that a requirement an
// already chosen package meets (by name or by a versioned Provides) stays
// met. They are then decided one at a time, in the order they were met:
// every candidate is looked ahead (its closure over the packages chosen
// so far, nested choices decided the same way to a bounded depth) and
// the one adding the least installed size is taken; ties keep the
// requirement's own order (alternatives as written, then the index's
// preference). A candidate that conflicts with the closure (Conflicts,
// Breaks, Obsoletes, or another version of the same package) is not
// taken; when a requirement is left without a candidate, the search goes
// back to the latest choice that the dead end depends on and takes its
// next candidate (conflict-directed backjumping): every package records
// the choices it is in the closure through, a dead end the choices of
// the packages it involves (the requirer, the packages its candidates
// conflict with), and a choice none of whose candidates works passes on
// what its candidates' dead ends depended on. Choices in between, which
// the dead end does not depend on, are not tried again: they cannot
// change it. So an impossible set is reported as unsatisfiable however
// many unrelated choices come before it. A level's search never changes
// the levels below it.

// maxTries bounds the candidates tried over one resolution, so that a
// hopeless search ends with an error instead of running on (a variable
// for tests).
var maxTries = 20000

// lookDepth is how deep nested choices are looked ahead.
const lookDepth = 2

// Lookahead budgets, in packages visited: one candidate's closure is
// followed so far (nested choices' less far), and one resolution's
// lookaheads visit so many packages in all; past that, candidates are
// compared by their own installed size. Real profiles stay far below
// (on trixie, a 50-package profile visits some 400, python3 with
// libreoffice and gnome-core and no pruning about 1000); a huge
// generated index stays linear.
const (
	lookBudget   = 2000
	nestedBudget = 200
	totalBudget  = 20000
)

// UnsatisfiableError is returned when a requirement has no candidate, or
// when every candidate conflicts with the closure.
type UnsatisfiableError struct {
	Dep   string
	Chain []string // root → … → the package that requires Dep
	// Conflicts says, for each candidate that exists but could not be
	// taken, which pair conflicts ("b conflicts with c (c: Conflicts: b),
	// in through app → c").
	Conflicts []string
}

func (e *UnsatisfiableError) Error() string {
	msg := fmt.Sprintf("unsatisfiable dependency %s, required by %s", e.Dep, strings.Join(e.Chain, " → "))
	if len(e.Conflicts) > 0 {
		msg += ": " + strings.Join(e.Conflicts, "; ")
	}
	return msg
}

// TooHardError is returned when the search tried maxTries candidates
// without finding a closure.
type TooHardError struct {
	Tries int
	Last  error // the last dead end met
}

func (e *TooHardError) Error() string {
	return fmt.Sprintf("no closure found after trying %d candidates; the last dead end: %v", e.Tries, e.Last)
}

func (e *TooHardError) Unwrap() error { return e.Last }

// shared is what every branch of the search reads.
type shared struct {
	ix packages.Index
	// exact holds the prune rules by name, patterns those with glob
	// characters; by their place in the list, the first that matches wins.
	exact    map[string]int
	patterns []int
	rules    []PruneRule
	// The index's answers, kept for the resolution: bare names (most
	// requirements) apart, by the name alone.
	bare   map[string][]*packages.Package
	sats   map[packages.Atom][]*packages.Package
	tries  int
	visits int // packages visited by lookaheads
	// memo holds nested lookahead costs for one choice (cleared per
	// choice, since they depend on the closure as it stands).
	memo map[memoKey]cost
	// scratch is the lookahead's working memory, one per depth: a
	// lookahead at one depth only starts lookaheads one level deeper, so
	// at most one view per depth is open at a time.
	scratch [lookDepth + 1]viewScratch

	infos    map[*packages.Package]*pinfo
	names    map[string]*nameInfo
	infoSlab []pinfo
	nameSlab []nameInfo
}

// pinfo is what the search knows of a package it has met, found with
// one lookup by pointer.
type pinfo struct {
	name  *nameInfo // of its name
	in    bool      // p is in the closure
	stamp [lookDepth + 1]uint32
}

// nameInfo is what the closure has of one name.
type nameInfo struct {
	count int32       // packages of the closure that have or provide it
	sel   *Selected   // the closure's package of that name
	more  []*Selected // of other architectures (rare)
}

// of returns the closure's package with p's ID, or nil.
func (ni *nameInfo) of(p *packages.Package) *Selected {
	if ni.sel != nil && ni.sel.Pkg.Arch == p.Arch {
		return ni.sel
	}
	for _, s := range ni.more {
		if s.Pkg.Arch == p.Arch {
			return s
		}
	}
	return nil
}

// nameOf returns the record of a name, made on first use.
func (sh *shared) nameOf(n string) *nameInfo {
	if ni := sh.names[n]; ni != nil {
		return ni
	}
	if len(sh.nameSlab) == 0 {
		sh.nameSlab = make([]nameInfo, 256)
	}
	ni := &sh.nameSlab[0]
	sh.nameSlab = sh.nameSlab[1:]
	sh.names[n] = ni
	return ni
}

// named reports whether a package of the closure has or provides n.
func (sh *shared) named(n string) bool {
	ni := sh.names[n]
	return ni != nil && ni.count > 0
}

// info returns p's record, made on first use.
func (sh *shared) info(p *packages.Package) *pinfo {
	if pi := sh.infos[p]; pi != nil {
		return pi
	}
	if len(sh.infoSlab) == 0 {
		sh.infoSlab = make([]pinfo, 256)
	}
	pi := &sh.infoSlab[0]
	sh.infoSlab = sh.infoSlab[1:]
	pi.name = sh.nameOf(p.Name)
	sh.infos[p] = pi
	return pi
}

type memoKey struct {
	p     *packages.Package
	depth int
}

// state is the search's state. Every change to it is logged (trail), so
// that a branch that fails is undone back to a mark.
type state struct {
	sh     *shared
	pruned map[string]*Pruned
	// against holds the Conflicts, Breaks and Obsoletes of the closure's
	// packages by the name they name; shared.names counts the names the closure's
	// packages have or provide.
	against map[string][]conflictRec
	// rich holds the closure's rich relations (rich.go), in the order
	// their owners came in.
	rich    []richRec
	results []*Selected
	queue   []*Selected
	choices []pending
	conds   []pending
	// elses are conditional requirements met by their else branch, whose
	// condition may still come to hold (then their first branch is
	// required too).
	elses []pending
	made  []*Choice
	level int
	trail []undo
	// depth is the number of choices being tried (the search's depth);
	// inCond is set while a conditional requirement's branch is followed.
	depth  int32
	inCond bool
}

type pending struct {
	dep  packages.Dep
	from *Selected // nil for a root naming a virtual package
	cond bool      // it comes from a conditional requirement's branch
}

// undo is one logged change: a selection, a pruned name or one more
// NeededBy of one.
type undo struct {
	sel    *Selected // a selection
	pruned *Pruned   // else a pruned name
	prev   int       // NeededBy's length before, -1 for a new pruned entry
}

// mark is a point the state can go back to.
type mark struct {
	trail          int
	results        int
	queue          []*Selected
	choices, conds []pending
	elses          []pending
	made           []*Choice
}

func (st *state) mark() mark {
	return mark{len(st.trail), len(st.results), st.queue, st.choices, st.conds, st.elses, st.made}
}

func (st *state) restore(m mark) {
	for i := len(st.trail) - 1; i >= m.trail; i-- {
		u := st.trail[i]
		switch {
		case u.sel != nil:
			p := u.sel.Pkg
			forNames(p, func(n string) {
				st.sh.nameOf(n).count--
			})
			forRelations(p, func(r conflictRec) {
				l := st.against[r.atom.Name]
				if len(l) <= 1 {
					delete(st.against, r.atom.Name)
				} else {
					st.against[r.atom.Name] = l[:len(l)-1]
				}
			})
			for len(st.rich) > 0 && st.rich[len(st.rich)-1].sel == u.sel {
				st.rich = st.rich[:len(st.rich)-1]
			}
			pi := st.sh.info(p)
			pi.in = false
			if ni := pi.name; len(ni.more) > 0 {
				ni.more = ni.more[:len(ni.more)-1]
			} else {
				ni.sel = nil
			}
		case u.prev == -1:
			delete(st.pruned, u.pruned.Name)
		default:
			u.pruned.NeededBy = u.pruned.NeededBy[:u.prev]
		}
	}
	st.trail = st.trail[:m.trail]
	st.results = st.results[:m.results]
	st.queue, st.choices, st.conds, st.elses, st.made = m.queue, m.choices, m.conds, m.elses, m.made
}

// Resolve computes the closure of levels over ix.
func Resolve(ix packages.Index, levels []Level, opts Options) (*Result, error) {
	sh := &shared{ix: ix, rules: opts.Prune, exact: map[string]int{}, bare: map[string][]*packages.Package{}, sats: map[packages.Atom][]*packages.Package{}}
	for i, r := range opts.Prune {
		if strings.ContainsAny(r.Name, "*?[\\") {
			sh.patterns = append(sh.patterns, i)
		} else if _, ok := sh.exact[r.Name]; !ok {
			sh.exact[r.Name] = i
		}
	}
	for i := range sh.scratch {
		sh.scratch[i].depth = i
	}
	sh.infos, sh.names = map[*packages.Package]*pinfo{}, map[string]*nameInfo{}
	st := &state{
		sh:      sh,
		pruned:  map[string]*Pruned{},
		against: map[string][]conflictRec{},
	}
	for i, lv := range levels {
		st.level = i
		for _, r := range lv.Roots {
			if err := st.addRoot(r); err != nil {
				return nil, fmt.Errorf("%s: %w", lv.Name, err)
			}
		}
		next, err := st.solve()
		if err != nil {
			var d *deadEnd
			if errors.As(err, &d) {
				err = d.err
			}
			return nil, err
		}
		st = next
		// The level is settled: what it holds depends on no choice of
		// the levels above.
		for _, s := range st.results {
			s.cause, s.causeAll = nil, false
		}
	}
	fillChains(st.results)
	res := &Result{Levels: levels, Packages: st.results, Choices: st.made}
	sort.Slice(res.Packages, func(i, j int) bool {
		a, b := res.Packages[i].Pkg, res.Packages[j].Pkg
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Arch < b.Arch
	})
	for _, p := range st.pruned {
		sort.Strings(p.NeededBy)
		res.Pruned = append(res.Pruned, p)
	}
	sort.Slice(res.Pruned, func(i, j int) bool { return res.Pruned[i].Name < res.Pruned[j].Name })
	return res, nil
}

func (st *state) addRoot(r Root) error {
	pick := packages.Lookup(st.sh.ix, r.Name)
	if pick == nil {
		if len(st.sh.ix.Satisfiers(packages.Atom{Name: r.Name})) == 0 {
			return &MissingRootError{Name: r.Name, Nearest: Nearest(st.sh.ix.Names(), r.Name, 5)}
		}
		// A virtual name: a choice among its providers.
		st.choices = append(st.choices, pending{dep: packages.Dep{Kind: packages.DepAtom, Atom: packages.Atom{Name: r.Name}}})
		return nil
	}
	if s := st.sh.info(pick).name.of(pick); s != nil && s.Pkg == pick {
		if s.NoDeps && !r.NoDeps {
			// Asked for again with its requirements: follow them now.
			s.NoDeps = false
			st.queue = append(st.queue, s)
		}
		return nil
	}
	if why := st.conflict(pick); why != "" {
		return fmt.Errorf("package %s cannot be taken: %s", r.Name, why)
	}
	st.add(pick, nil, r.NoDeps)
	return nil
}

// satisfiers is the index's answer for a, kept for the resolution.
func (st *state) satisfiers(a packages.Atom) []*packages.Package {
	if a.Op == "" && a.Arch == "" {
		if s, ok := st.sh.bare[a.Name]; ok {
			return s
		}
		s := st.sh.ix.Satisfiers(a)
		st.sh.bare[a.Name] = s
		return s
	}
	if s, ok := st.sh.sats[a]; ok {
		return s
	}
	s := st.sh.ix.Satisfiers(a)
	st.sh.sats[a] = s
	return s
}

func (st *state) selected(p *packages.Package) bool {
	return st.sh.info(p).in
}

func (st *state) add(p *packages.Package, from *Selected, noDeps bool) *Selected {
	s := &Selected{Pkg: p, Level: st.level, NoDeps: noDeps, parent: from, causeAll: st.inCond}
	if from != nil {
		s.cause, s.causeAll = from.cause, s.causeAll || from.causeAll
	}
	pi := st.sh.info(p)
	pi.in = true
	if ni := pi.name; ni.sel == nil {
		ni.sel = s
	} else {
		ni.more = append(ni.more, s)
	}
	st.trail = append(st.trail, undo{sel: s})
	st.results = append(st.results, s)
	st.queue = append(st.queue, s)
	forNames(p, func(n string) { st.sh.nameOf(n).count++ })
	forRelations(p, func(r conflictRec) {
		r.owner = s
		st.against[r.atom.Name] = append(st.against[r.atom.Name], r)
	})
	forRich(p, func(r richRec) {
		r.sel = s
		st.rich = append(st.rich, r)
	})
	return s
}

// solve runs the current level to its end, returning the finished branch.
func (st *state) solve() (*state, error) {
	for {
		if err := st.propagate(); err != nil {
			return nil, err
		}
		var c pending
		open := false
		for len(st.choices) > 0 {
			c = st.choices[0]
			st.choices = st.choices[1:]
			if !st.met(c.dep) {
				open = true
				break
			}
		}
		if !open {
			progressed, err := st.resolveConds()
			if err != nil {
				return nil, err
			}
			if !progressed {
				if err := st.richFinal(); err != nil {
					return nil, err
				}
				return st, nil
			}
			continue
		}
		return st.decide(c)
	}
}
