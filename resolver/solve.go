package resolver

import (
	"errors"
	"fmt"
	"path"
	"slices"
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

// viewScratch is reused by every view of one depth: a package is in the
// open view when its stamp of that depth is the view's id.
type viewScratch struct {
	depth int
	id    uint32
	work  []*packages.Package
	cands []*packages.Package
}

// pkgKey is a package's identity (Package.ID) without building a string.
type pkgKey struct{ name, arch string }

func keyOf(p *packages.Package) pkgKey { return pkgKey{p.Name, p.Arch} }

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

type cost struct {
	size int64
	n    int
	ok   bool
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
	return s
}

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
	return why
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
				return st, nil
			}
			continue
		}
		return st.decide(c)
	}
}

// option is one way to meet a choice.
type option struct {
	pkg   *packages.Package
	prune string // a name to prune instead
	dep   *packages.Dep
	order int  // the requirement's own order
	alt   int  // the alternative it meets, by its place in the requirement
	named bool // it is the package the alternative names (not a provider)
	later bool
	cost  cost
	why   string // a conflict: not taken
}

// rank is the option's Priority for comparing, unranked last.
func (o *option) rank() int {
	if o.pkg == nil || o.pkg.Priority <= 0 {
		return 1 << 30
	}
	return o.pkg.Priority
}

// tie compares two options of the same added size by apt's order: the
// alternative first written, then the package of the name the
// alternative names over its providers, then Priority, then the index's
// order of satisfiers (by name on Debian). It returns whether a goes
// first and the rule that decided.
func tie(a, b *option) (bool, string) {
	switch {
	case a.alt != b.alt:
		return a.alt < b.alt, "the first alternative"
	case a.named != b.named:
		return a.named, "the package of the name required, not a provider"
	case a.rank() != b.rank():
		return a.rank() < b.rank(), "Priority"
	}
	return a.order < b.order, "the index's order"
}

// decide tries the candidates of c, best first, each on its own branch.
func (st *state) decide(c pending) (*state, error) {
	opts := st.options(c)
	ch := &Choice{Dep: c.dep.String(), Level: st.level}
	if c.from != nil {
		ch.From = chain(c.from)
	}
	var viable []*option
	var conflicts []string
	for _, o := range opts {
		op := Option{Name: o.name(), Added: o.cost.size, Packages: o.cost.n, Pruned: o.prune != "", Rejected: o.why}
		if o.pkg != nil {
			op.Version, op.Priority = o.pkg.Version, o.pkg.Priority
		}
		if o.why == "" && !o.cost.ok {
			op.Rejected = "its closure cannot be met as things stand"
		}
		ch.Options = append(ch.Options, op)
		if o.why != "" {
			conflicts = append(conflicts, o.why)
			continue
		}
		viable = append(viable, o)
	}
	if len(viable) == 0 {
		return nil, st.dead(&UnsatisfiableError{Dep: c.dep.String(), Chain: chainOf(c), Conflicts: conflicts}, c.from, c.dep, c.cond)
	}
	if len(opts) > 1 {
		st.made = append(st.made, ch)
	}
	st.depth++
	depth := st.depth
	defer func() { st.depth = depth - 1 }()
	// acc gathers what the candidates' dead ends depend on, other than
	// this choice.
	var acc culprits
	var last error
	var failed []string
	for k, o := range viable {
		st.sh.tries++
		if st.sh.tries > maxTries {
			return nil, &TooHardError{Tries: maxTries, Last: last}
		}
		m := st.mark()
		ch.Chosen = o.name()
		ch.Why = whyChosen(viable, k, len(conflicts) > 0, failed)
		err := st.apply(o, c.from)
		if err == nil {
			var res *state
			if res, err = st.solve(); err == nil {
				return res, nil
			}
		}
		if _, ok := err.(*TooHardError); ok {
			return nil, err
		}
		st.restore(m)
		st.depth = depth
		d, ok := err.(*deadEnd)
		if !ok {
			d = &deadEnd{err: err, set: culprits{all: true}}
		}
		if !d.set.all && !slices.Contains(d.set.levels, depth) {
			// The dead end does not depend on this choice: no other
			// candidate of it can help.
			return nil, d
		}
		acc.add(d.set, depth)
		last = d.err
		failed = append(failed, fmt.Sprintf("%s (%v)", o.name(), d.err))
	}
	// And what the requirement itself depends on (the closure is back as
	// it was when the choice was met).
	acc.add(st.blame(c.from, c.dep, c.cond), -1)
	return nil, &deadEnd{err: last, set: acc}
}

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
}

// whyChosen says why viable[k] is taken over the others.
func whyChosen(viable []*option, k int, conflicts bool, failed []string) string {
	o := viable[k]
	switch {
	case k > 0:
		return "the candidates before it led to no closure: " + strings.Join(failed, "; ")
	case o.prune != "":
		return "pruned: it adds nothing"
	case len(viable) == 1 && conflicts:
		return "the only candidate that conflicts with nothing in the closure"
	case len(viable) == 1:
		return "the only candidate"
	}
	next := viable[1]
	switch {
	case o.later != next.later:
		return "the index's preferred version"
	case o.cost.ok && !next.cost.ok:
		return "the only candidate whose closure can be met as things stand"
	case o.cost.size < next.cost.size:
		return "the smallest added closure"
	}
	_, rule := tie(o, next)
	if rule == "Priority" {
		rule = fmt.Sprintf("Priority (%s)", priorityWords(o, next))
	}
	return fmt.Sprintf("the same added closure as %s; then %s", next.name(), rule)
}

func priorityWords(a, b *option) string {
	word := func(o *option) string {
		if o.rank() == 1<<30 {
			return o.name() + " has none"
		}
		return fmt.Sprintf("%s %d", o.name(), o.pkg.Priority)
	}
	return word(a) + ", " + word(b)
}

func chainOf(c pending) []string {
	if c.from == nil {
		return []string{"(root)"}
	}
	return chain(c.from)
}

func (o *option) name() string {
	switch {
	case o.pkg != nil:
		return o.pkg.Name
	case o.prune != "":
		return o.prune
	}
	return o.dep.String()
}

func (st *state) apply(o *option, from *Selected) error {
	switch {
	case o.pkg != nil:
		s := st.add(o.pkg, from, false)
		s.cause = append(s.cause[:len(s.cause):len(s.cause)], st.depth)
		return nil
	case o.prune != "":
		st.prune(o.prune, st.ruleFor(o.prune), from, st.isVirtual(o.prune))
		return nil
	}
	// A rich alternative ("(a and b)"): what it brings and the choices
	// it leaves are marked as depending on any choice, as a conditional
	// branch's are, so that no dead end behind it jumps past this one.
	st.inCond = true
	defer func() { st.inCond = false }()
	return st.require(*o.dep, from)
}

// options lists the ways to meet c, best first.
func (st *state) options(c pending) []*option {
	var opts []*option
	seen := map[*packages.Package]bool{}
	seenName := map[string]bool{}
	alt := 0
	addAtom := func(d packages.Dep) {
		defer func() { alt++ }()
		if d.Kind == packages.DepAtom && c.from != nil {
			if r := st.ruleFor(d.Atom.Name); r != nil {
				if !seenName["prune:"+d.Atom.Name] {
					seenName["prune:"+d.Atom.Name] = true
					opts = append(opts, &option{prune: d.Atom.Name, alt: alt, named: true})
				}
				return
			}
		}
		for _, p := range st.candidates(d) {
			if seen[p] {
				continue
			}
			seen[p] = true
			named := d.Kind == packages.DepAtom && p.Name == d.Atom.Name
			if c.from != nil && st.ruleFor(p.Name) != nil {
				if !seenName["prune:"+p.Name] {
					seenName["prune:"+p.Name] = true
					opts = append(opts, &option{prune: p.Name, alt: alt, named: named})
				}
				continue
			}
			// Other versions of a name come after every name's preferred one.
			opts = append(opts, &option{pkg: p, later: seenName[p.Name], alt: alt, named: named})
			seenName[p.Name] = true
		}
	}
	var walk func(d packages.Dep)
	walk = func(d packages.Dep) {
		switch d.Kind {
		case packages.DepAtom, packages.DepWith, packages.DepWithout:
			addAtom(d)
		case packages.DepOr:
			for _, a := range d.Args {
				walk(a)
			}
		default:
			dd := d
			opts = append(opts, &option{dep: &dd, alt: alt})
			alt++
		}
	}
	walk(c.dep)
	// A fresh memo; a small one is cleared and kept (clearing costs its
	// capacity, which only a large one makes worth a new map).
	if st.sh.memo == nil || len(st.sh.memo) > 128 {
		st.sh.memo = map[memoKey]cost{}
	}
	clear(st.sh.memo)
	for i, o := range opts {
		o.order = i
		switch {
		case o.pkg != nil:
			if o.why = st.conflict(o.pkg); o.why == "" {
				o.cost = st.look(o.pkg, lookDepth)
			}
		case o.prune != "":
			o.cost = cost{ok: true}
		default:
			v := st.newView(lookDepth)
			ok := v.dep(*o.dep, lookDepth)
			o.cost = cost{v.size, v.n, ok}
		}
	}
	sort.SliceStable(opts, func(i, j int) bool {
		a, b := opts[i], opts[j]
		if (a.why == "") != (b.why == "") {
			return a.why == ""
		}
		if a.later != b.later {
			return !a.later
		}
		if a.cost.ok != b.cost.ok {
			return a.cost.ok
		}
		if a.cost.size != b.cost.size {
			return a.cost.size < b.cost.size
		}
		first, _ := tie(a, b)
		return first
	})
	return opts
}

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
