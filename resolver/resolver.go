package resolver

import (
	"fmt"
	"slices"
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

	parent *Selected // the package that pulled it in; nil for a root
	// cause is the choices (by depth in the search) it is in the closure
	// through; causeAll says it may depend on any (a conditional
	// requirement's branch).
	cause    []int32
	causeAll bool
	depth    int32     // len(Chain)
	kid      *Selected // the first package it pulled in (while chains are filled)
	next     *Selected // the next package its parent pulled in (idem)
}

// chain is s.Chain, built from the parents (during the search, before
// fillChains).
func chain(s *Selected) []string {
	n := 0
	for x := s; x != nil; x = x.parent {
		n++
	}
	out := make([]string, n)
	for x := s; x != nil; x = x.parent {
		n--
		out[n] = x.Pkg.Name
	}
	return out
}

// fillChains sets the Chain of every package of a closure (each one's
// parent comes before it). The chains share one array: walked depth
// first, a package's first child extends its parent's chain in place;
// every chain is capped, so appending to one copies it.
func fillChains(sel []*Selected) {
	size := 0
	for _, s := range sel {
		s.kid, s.next = nil, nil
	}
	for i := len(sel) - 1; i >= 0; i-- {
		s := sel[i]
		if p := s.parent; p != nil {
			s.next, p.kid = p.kid, s
		}
	}
	var roots []*Selected
	for _, s := range sel {
		if p := s.parent; p != nil {
			s.depth = p.depth + 1
			if p.kid == s {
				size++
				continue
			}
		} else {
			s.depth = 1
			roots = append(roots, s)
		}
		size += int(s.depth)
	}
	arena := make([]string, 0, size)
	stack := make([]*Selected, 0, 64)
	for i := len(roots) - 1; i >= 0; i-- {
		stack = append(stack, roots[i])
	}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		start := len(arena)
		if p := s.parent; p != nil {
			if p.kid == s {
				// Right after its parent: the arena ends with the parent's chain.
				start -= len(p.Chain)
			} else {
				arena = append(arena, p.Chain...)
			}
		}
		arena = append(arena, s.Pkg.Name)
		s.Chain = arena[start:len(arena):len(arena)]
		base := len(stack)
		for k := s.kid; k != nil; k = k.next {
			stack = append(stack, k)
		}
		slices.Reverse(stack[base:])
	}
	for _, s := range sel {
		s.kid, s.next = nil, nil
	}
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
	// Choices are the requirements that more than one candidate could
	// meet, in the order they were decided, with what each would have
	// added.
	Choices []*Choice `json:",omitempty"`
}

// Choice is a requirement with more than one candidate (alternatives,
// providers of a virtual name, versions) and how it was decided.
type Choice struct {
	Dep string
	// From is the chain of the package that required it, root first;
	// empty when a root names a virtual package.
	From   []string `json:",omitempty"`
	Level  int
	Chosen string
	// Why says why Chosen was taken over the others: the smallest added
	// closure, the rule that broke a tie (the first alternative, the
	// package of the name over its providers, Priority, the index's
	// order), the
	// only candidate without a conflict, or the candidates tried before
	// it that led to no closure.
	Why string `json:",omitempty"`
	// Options are the candidates in the order they were tried: the
	// smallest added closure first, ties as Why says.
	Options []Option
}

// Option is one candidate of a Choice.
type Option struct {
	// Name is the package (or, for a pruned one, the name pruned).
	Name    string
	Version string `json:",omitempty"`
	// Priority is the package's (packages.Package.Priority), 0 for none.
	Priority int  `json:",omitempty"`
	Pruned   bool `json:",omitempty"`
	// Added is the installed size in bytes, and Packages the number of
	// packages, the candidate would have added to the closure as it stood
	// (an estimate: nested choices are looked ahead a bounded depth).
	Added    int64
	Packages int
	// Rejected says why the candidate could not be taken (a conflict), or
	// why its lookahead failed; empty otherwise.
	Rejected string `json:",omitempty"`
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
