package resolver

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/distroless-dev/distroless/packages"
)

// Root is a package a profile asks for by name.
type Root struct {
	Name string
	// NoDeps takes the package's files without following its requirements.
	NoDeps bool
}

// Level is one step of a profile chain (static, base, cc, python3.11 …).
// Levels are resolved bottom first; a level's closure depends only on the
// levels below it, so profiles that extend one another share their lower
// levels exactly.
type Level struct {
	Name  string
	Roots []Root
}

// PruneRule names packages (or virtual names) that only serve package
// management or maintainer scripts. Name may be a path.Match pattern.
type PruneRule struct {
	Name   string
	Reason string
}

// Options tune a resolution.
type Options struct {
	Prune []PruneRule
}

// Selected is a package in the closure.
type Selected struct {
	Pkg    *packages.Package
	Level  int  // index into the levels passed to Resolve
	NoDeps bool // taken for its files only
	// Chain is the path that pulled the package in, root first, ending
	// with the package itself.
	Chain []string
}

// Pruned is a package or virtual name left out of the closure on purpose.
type Pruned struct {
	Name    string
	Reason  string
	Virtual bool // no real package of that name was considered
	// NeededBy lists the kept packages whose requirements named it, so a
	// later check (the ELF check of gen) can tell whether the pruning cost
	// a library.
	NeededBy []string
}

// Result is a closure, sorted by package name.
type Result struct {
	Levels   []Level
	Packages []*Selected
	Pruned   []*Pruned
}

// InLevel returns the packages selected by level i, sorted by name.
func (r *Result) InLevel(i int) []*Selected {
	var out []*Selected
	for _, s := range r.Packages {
		if s.Level == i {
			out = append(out, s)
		}
	}
	return out
}

// MissingRootError is returned when a root package is not in the index.
type MissingRootError struct {
	Name    string
	Nearest []string
}

func (e *MissingRootError) Error() string {
	msg := fmt.Sprintf("package %q is not in the index", e.Name)
	if len(e.Nearest) > 0 {
		msg += "; nearest names: " + strings.Join(e.Nearest, ", ")
	}
	return msg
}

// UnsatisfiableError is returned when a requirement has no candidate.
type UnsatisfiableError struct {
	Dep   string
	Chain []string // root → … → the package that requires Dep
}

func (e *UnsatisfiableError) Error() string {
	return fmt.Sprintf("unsatisfiable dependency %s, required by %s", e.Dep, strings.Join(e.Chain, " → "))
}

type state struct {
	ix      packages.Index
	rules   []PruneRule
	sel     map[string]*Selected // by Package.ID
	byName  map[string]*Selected // by Package.Name (first selected)
	pruned  map[string]*Pruned
	queue   []*Selected
	ors     []pending
	conds   []pending
	level   int
	results []*Selected
}

type pending struct {
	dep  packages.Dep
	from *Selected
}

// Resolve computes the closure of levels over ix.
func Resolve(ix packages.Index, levels []Level, opts Options) (*Result, error) {
	st := &state{
		ix:     ix,
		rules:  opts.Prune,
		sel:    map[string]*Selected{},
		byName: map[string]*Selected{},
		pruned: map[string]*Pruned{},
	}
	for i, lv := range levels {
		st.level = i
		for _, r := range lv.Roots {
			if err := st.addRoot(r); err != nil {
				return nil, fmt.Errorf("%s: %w", lv.Name, err)
			}
		}
		if err := st.run(); err != nil {
			return nil, err
		}
	}
	res := &Result{Levels: levels, Packages: st.results}
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
	pick := packages.Lookup(st.ix, r.Name)
	if pick == nil {
		// A virtual name: its preferred provider.
		if cands := st.ix.Satisfiers(packages.Atom{Name: r.Name}); len(cands) > 0 {
			pick = cands[0]
		}
	}
	if pick == nil {
		return &MissingRootError{Name: r.Name, Nearest: Nearest(st.ix.Names(), r.Name, 5)}
	}
	if s, ok := st.sel[pick.ID()]; ok {
		if s.NoDeps && !r.NoDeps {
			// Asked for again with its requirements: follow them now.
			s.NoDeps = false
			st.queue = append(st.queue, s)
		}
		return nil
	}
	st.add(pick, nil, r.NoDeps)
	return nil
}

func (st *state) add(p *packages.Package, from *Selected, noDeps bool) *Selected {
	chain := []string{p.Name}
	if from != nil {
		chain = append(append([]string(nil), from.Chain...), p.Name)
	}
	s := &Selected{Pkg: p, Level: st.level, NoDeps: noDeps, Chain: chain}
	st.sel[p.ID()] = s
	if _, ok := st.byName[p.Name]; !ok {
		st.byName[p.Name] = s
	}
	st.results = append(st.results, s)
	st.queue = append(st.queue, s)
	return s
}

// run drains the queue, then the deferred alternatives one at a time (so
// each sees everything the plain requirements pulled in), then the
// conditional requirements, until nothing changes.
func (st *state) run() error {
	for {
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
		if len(st.ors) > 0 {
			p := st.ors[0]
			st.ors = st.ors[1:]
			if err := st.resolveOr(p.dep, p.from); err != nil {
				return err
			}
			continue
		}
		progressed, err := st.resolveConds()
		if err != nil {
			return err
		}
		if !progressed {
			return nil
		}
	}
}

func (st *state) require(d packages.Dep, from *Selected) error {
	switch d.Kind {
	case packages.DepOr:
		if !st.met(d) {
			st.ors = append(st.ors, pending{d, from})
		}
		return nil
	case packages.DepIf, packages.DepUnless:
		st.conds = append(st.conds, pending{d, from})
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

// resolveConds handles conditional requirements whose condition now holds
// and, when none does, the else branch of the first one that has one.
func (st *state) resolveConds() (bool, error) {
	for i, p := range st.conds {
		if st.condHolds(p.dep) {
			st.conds = append(st.conds[:i:i], st.conds[i+1:]...)
			return true, st.require(p.dep.Args[0], p.from)
		}
	}
	for i, p := range st.conds {
		if len(p.dep.Args) > 2 {
			st.conds = append(st.conds[:i:i], st.conds[i+1:]...)
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
// best first, without those that conflict with the closure (another
// version under the same ID).
func (st *state) candidates(d packages.Dep) []*packages.Package {
	var raw []*packages.Package
	switch d.Kind {
	case packages.DepAtom:
		raw = st.ix.Satisfiers(d.Atom)
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
	out := raw[:0:0]
	for _, p := range raw {
		if s, ok := st.sel[p.ID()]; ok && s.Pkg != p {
			continue
		}
		out = append(out, p)
	}
	return out
}

// met reports whether a package already in the closure meets d.
func (st *state) met(d packages.Dep) bool {
	switch d.Kind {
	case packages.DepAtom, packages.DepWith, packages.DepWithout:
		for _, p := range st.candidates(d) {
			if _, ok := st.sel[p.ID()]; ok {
				return true
			}
		}
		return false
	case packages.DepOr:
		for _, a := range d.Args {
			if st.met(a) {
				return true
			}
		}
		return false
	case packages.DepAnd:
		for _, a := range d.Args {
			if !st.met(a) {
				return false
			}
		}
		return true
	case packages.DepIf, packages.DepUnless:
		if st.condHolds(d) {
			return st.met(d.Args[0])
		}
		return len(d.Args) < 3 || st.met(d.Args[2])
	}
	return false
}

// satisfiable is the shallow test used to choose among alternatives.
func (st *state) satisfiable(d packages.Dep) bool {
	switch d.Kind {
	case packages.DepAtom:
		if st.ruleFor(d.Atom.Name) != nil {
			return true
		}
		fallthrough
	case packages.DepWith, packages.DepWithout:
		return len(st.candidates(d)) > 0
	case packages.DepOr:
		for _, a := range d.Args {
			if st.satisfiable(a) {
				return true
			}
		}
		return false
	case packages.DepAnd:
		for _, a := range d.Args {
			if !st.satisfiable(a) {
				return false
			}
		}
		return true
	}
	return true
}

func (st *state) resolveOr(d packages.Dep, from *Selected) error {
	if st.met(d) {
		return nil
	}
	for _, a := range d.Args {
		if st.satisfiable(a) {
			return st.require(a, from)
		}
	}
	return &UnsatisfiableError{Dep: d.String(), Chain: from.Chain}
}

func (st *state) resolveOne(d packages.Dep, from *Selected) error {
	if d.Kind == packages.DepAtom {
		if r := st.ruleFor(d.Atom.Name); r != nil {
			st.prune(d.Atom.Name, r, from, st.isVirtual(d.Atom.Name))
			return nil
		}
	}
	cands := st.candidates(d)
	for _, p := range cands {
		if _, ok := st.sel[p.ID()]; ok {
			return nil
		}
	}
	if len(cands) == 0 {
		return &UnsatisfiableError{Dep: d.String(), Chain: from.Chain}
	}
	best := cands[0]
	if r := st.ruleFor(best.Name); r != nil {
		st.prune(best.Name, r, from, false)
		return nil
	}
	st.add(best, from, false)
	return nil
}

func (st *state) isVirtual(name string) bool {
	return packages.Lookup(st.ix, name) == nil
}

func (st *state) prune(name string, r *PruneRule, from *Selected, virtual bool) {
	p, ok := st.pruned[name]
	if !ok {
		p = &Pruned{Name: name, Reason: r.Reason, Virtual: virtual}
		st.pruned[name] = p
	}
	for _, n := range p.NeededBy {
		if n == from.Pkg.Name {
			return
		}
	}
	p.NeededBy = append(p.NeededBy, from.Pkg.Name)
}

func (st *state) ruleFor(name string) *PruneRule {
	for i := range st.rules {
		r := &st.rules[i]
		if r.Name == name {
			return r
		}
		if ok, _ := path.Match(r.Name, name); ok {
			return r
		}
	}
	return nil
}

// Nearest returns up to n names closest to want: names sharing its prefix
// first, then by edit distance.
func Nearest(names []string, want string, n int) []string {
	type scored struct {
		name string
		d    int
	}
	var best []scored
	for _, name := range names {
		d := distance(want, name)
		if strings.HasPrefix(name, want) || strings.HasPrefix(want, name) {
			d = d/4 - 1
		}
		if d > len(want)/2+2 {
			continue
		}
		best = append(best, scored{name, d})
	}
	sort.Slice(best, func(i, j int) bool {
		if best[i].d != best[j].d {
			return best[i].d < best[j].d
		}
		return best[i].name < best[j].name
	})
	var out []string
	for i := 0; i < len(best) && i < n; i++ {
		out = append(out, best[i].name)
	}
	return out
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
