package resolver

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/distroless-dev/distroless/packages"
)

// synthIndex is a large generated index with name and Provides lookups in
// maps, for BenchmarkSynthetic.
type synthIndex struct {
	byName   map[string]*packages.Package
	provides map[string][]*packages.Package
	names    []string
}

func (s *synthIndex) Satisfiers(a packages.Atom) []*packages.Package {
	var out []*packages.Package
	if p := s.byName[a.Name]; p != nil {
		out = append(out, p)
	}
	return append(out, s.provides[a.Name]...)
}

func (s *synthIndex) Names() []string { return s.names }

// synth makes n packages: each requires up to three packages of higher
// number, some through a virtual name three packages provide, some as
// "a | b"; sizes vary. Deterministic.
func synth(n int) *synthIndex {
	r := rand.New(rand.NewPCG(1, 2))
	s := &synthIndex{byName: map[string]*packages.Package{}, provides: map[string][]*packages.Package{}}
	name := func(i int) string { return fmt.Sprintf("p%06d", i) }
	for i := range n {
		p := &packages.Package{Name: name(i), Version: "1", Arch: "amd64", InstalledSize: int64(1 + r.IntN(1<<20))}
		if i%50 == 0 {
			p.Provides = []string{fmt.Sprintf("v%06d", i/150)}
		}
		if i+10 < n {
			for range r.IntN(4) {
				j := i + 1 + r.IntN(min(n-i-1, 5000))
				d := packages.Dep{Kind: packages.DepAtom, Atom: packages.Atom{Name: name(j)}}
				switch r.IntN(10) {
				case 0:
					d.Atom.Name = fmt.Sprintf("v%06d", j/150)
				case 1:
					k := i + 1 + r.IntN(min(n-i-1, 5000))
					d = packages.Dep{Kind: packages.DepOr, Args: []packages.Dep{d, {Kind: packages.DepAtom, Atom: packages.Atom{Name: name(k)}}}}
				}
				p.Depends = append(p.Depends, d)
			}
		}
		s.byName[p.Name] = p
		s.names = append(s.names, p.Name)
		for _, pr := range p.Provides {
			s.provides[pr] = append(s.provides[pr], p)
		}
	}
	sort.Strings(s.names)
	return s
}

// BenchmarkSynthetic resolves 20 roots over a 200 000-package generated
// index.
func BenchmarkSynthetic(b *testing.B) {
	ix := synth(200000)
	var roots []Root
	for i := range 20 {
		roots = append(roots, Root{Name: fmt.Sprintf("p%06d", 100000+i*997)})
	}
	r, err := Resolve(ix, []Level{{Name: "t", Roots: roots}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(r.Packages)), "packages")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Resolve(ix, []Level{{Name: "t", Roots: roots}}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
