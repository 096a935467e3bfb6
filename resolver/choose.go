package resolver

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/distroless-dev/distroless/packages"
)

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
