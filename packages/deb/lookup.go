package deb

import (
	"fmt"
	"slices"
	"sort"

	"pault.ag/go/debian/version"

	"github.com/distroless-dev/distroless/packages"
)

func (ix *Index) archOK(a []byte) bool {
	return string(a) == ix.arch || string(a) == "all"
}

// get parses stanza st of file fi, caching the result. ix.mu is held.
func (ix *Index) get(fi, st int) *debPkg {
	k := stanzaKey{int32(fi), int32(st)}
	if d, ok := ix.parsed[k]; ok {
		return d
	}
	if ix.failed[k] {
		return nil
	}
	f := ix.files[fi]
	off, length, _, _ := f.sc.stanza(st)
	if err := ix.checkStanza(f, st, off, length); err != nil {
		ix.failed[k] = true
		ix.problems = append(ix.problems, err)
		return nil
	}
	d, err := parseStanza(f.data[off:off+length], f.mirror, f.origin, ix.arch)
	if err != nil {
		ix.failed[k] = true
		ix.problems = append(ix.problems, fmt.Errorf("%s: %w", f.url, err))
		return nil
	}
	ix.parsed[k] = d
	ix.byPkg[d.pkg] = d
	return d
}

// winner returns the highest version of name among the target
// architecture and "all" across all suites, or nil. ix.mu is held.
func (ix *Index) winner(name string) *debPkg {
	if d, ok := ix.best[name]; ok {
		return d
	}
	var best *debPkg
	for fi, f := range ix.files {
		for _, st := range f.sc.byName(name) {
			if !ix.archOK(f.sc.archOf(st)) {
				continue
			}
			d := ix.get(fi, st)
			if d == nil {
				continue
			}
			if best == nil || version.Compare(d.ver, best.ver) > 0 {
				best = d
			}
		}
	}
	ix.best[name] = best
	return best
}

// Lookup returns the package called name that the index would install
// (the highest version across the suites), or nil: packages.Lookup's
// answer, without gathering providers (it implements packages.Looker).
func (ix *Index) Lookup(name string) *packages.Package {
	ix.ensure()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if d := ix.winner(name); d != nil {
		return d.pkg
	}
	return nil
}

// Satisfiers returns the packages that satisfy a: the package called
// a.Name when its version and architecture fit, then the packages that
// provide a.Name, sorted by name. A versioned relation is satisfied by a
// provider only through a versioned "Provides: name (= version)".
// Architecture qualifiers follow dpkg: an unqualified or :native relation
// is met by packages of the target architecture or "all" (the only ones
// loaded), :any only by Multi-Arch: allowed packages, :<arch> only when
// <arch> is the target.
func (ix *Index) Satisfiers(a packages.Atom) []*packages.Package {
	ix.ensure()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var want *version.Version
	if a.Op != "" {
		v, err := version.Parse(a.Version)
		if err != nil {
			return nil
		}
		want = &v
	}
	var out []*packages.Package
	real := ix.winner(a.Name)
	if real != nil && ix.qualifierOK(real, a) && (want == nil || relationHolds(real.ver, a.Op, *want)) {
		out = append(out, real.pkg)
	}
	seen := map[string]bool{a.Name: true}
	var provs []*debPkg
	for _, f := range ix.files {
		for _, st := range f.sc.byProvides(a.Name) {
			name := string(f.sc.nameOf(st))
			if seen[name] || !ix.archOK(f.sc.archOf(st)) {
				continue
			}
			seen[name] = true
			w := ix.winner(name)
			if w == nil || !ix.qualifierOK(w, a) {
				continue
			}
			for _, pr := range w.provides {
				if pr.name != a.Name {
					continue
				}
				if want == nil || (pr.op == "=" && relationHolds(pr.parsedVer, a.Op, *want)) {
					provs = append(provs, w)
					break
				}
			}
		}
	}
	sort.Slice(provs, func(i, j int) bool {
		if provs[i].pkg.Name != provs[j].pkg.Name {
			return provs[i].pkg.Name < provs[j].pkg.Name
		}
		return provs[i].pkg.Arch < provs[j].pkg.Arch
	})
	for _, p := range provs {
		out = append(out, p.pkg)
	}
	return out
}

// qualifierOK applies dpkg's architecture rules (deparchsatisfied) for a
// dependency from a package of the target architecture.
func (ix *Index) qualifierOK(d *debPkg, a packages.Atom) bool {
	switch a.Arch {
	case "", "native", "all":
		// Unqualified: same architecture (all counts as native), or any
		// when Multi-Arch: foreign; only native and all are loaded.
		return true
	case "any":
		return d.multiArch == "allowed"
	default:
		return a.Arch == ix.arch
	}
}

// relationHolds reports whether have op want holds, op in the model's
// spelling (Debian's << and >> are accepted too).
func relationHolds(have version.Version, op string, want version.Version) bool {
	c := version.Compare(have, want)
	switch op {
	case "<", "<<":
		return c < 0
	case "<=":
		return c <= 0
	case "=":
		return c == 0
	case ">=":
		return c >= 0
	case ">", ">>":
		return c > 0
	}
	return false
}

// Names returns every real package name of the target architecture or
// "all", sorted.
func (ix *Index) Names() []string {
	ix.ensure()
	ix.namesOnce.Do(func() {
		var names []string
		for _, f := range ix.files {
			for i := 0; i < f.sc.n; i++ {
				st := f.sc.sortedName(i)
				if ix.archOK(f.sc.archOf(st)) {
					n := f.sc.nameOf(st)
					if CheckName(string(n)) != nil {
						continue // refused when parsed; never offered
					}
					if len(names) == 0 || names[len(names)-1] != string(n) {
						names = append(names, string(n))
					}
				}
			}
		}
		slices.Sort(names)
		ix.names = slices.Compact(names)
	})
	return slices.Clone(ix.names)
}
