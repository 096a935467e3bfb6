package pipeline

import (
	"context"
	"fmt"
	"path"
	"slices"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/resolver"
)

// WhyResult says why a package is, or is not, in a profile's closure.
type WhyResult struct {
	Profile string `json:"profile"`
	Distro  string `json:"distro"`
	Package string `json:"package"`
	Layer   string `json:"layer,omitempty"`
	// Chains lead from a root to the package: the one the resolver took
	// first, then one through each other package in the closure that
	// requires it.
	Chains [][]string `json:"chains,omitempty"`
	// Pruned is set when the package was left out on purpose.
	Pruned *resolver.Pruned `json:"pruned,omitempty"`
	// Choices are the choices the package was a candidate of: why it was
	// taken over the others, or why another was.
	Choices []JSONChoice `json:"choices,omitempty"`
}

// Why explains why pkg is in (or pruned from) the closure of a profile.
func Why(ctx context.Context, profile, pkg string, o Options) (*WhyResult, error) {
	r, err := Resolve(ctx, profile, o)
	if err != nil {
		return nil, err
	}
	w := &WhyResult{Profile: r.Plan.Name, Distro: r.Distro.Name, Package: pkg}
	for _, c := range r.Result.Choices {
		if slices.ContainsFunc(c.Options, func(o resolver.Option) bool { return o.Name == pkg }) {
			w.Choices = append(w.Choices, jsonChoice(c, r.Result.Levels))
		}
	}
	for _, p := range r.Result.Pruned {
		if p.Name == pkg {
			w.Pruned = p
			return w, nil
		}
	}
	i := slices.IndexFunc(r.Result.Packages, func(s *resolver.Selected) bool { return s.Pkg.Name == pkg })
	if i < 0 {
		if len(w.Choices) > 0 {
			return w, nil // a candidate not taken
		}
		if packages.Lookup(r.Index, pkg) != nil {
			return nil, fmt.Errorf("%s is in %s but nothing in %s needs it", pkg, r.Distro.Name, r.Plan.Name)
		}
		return nil, &resolver.MissingRootError{Name: pkg, Nearest: resolver.Nearest(r.Index.Names(), pkg, 5)}
	}
	target := r.Result.Packages[i]
	w.Layer = r.Result.Levels[target.Level].Name
	w.Chains = [][]string{target.Chain}
	parent := "" // the requirer on the first chain, already shown
	if n := len(target.Chain); n > 1 {
		parent = target.Chain[n-2]
	}
	for _, s := range r.Result.Packages {
		if s == target || s.NoDeps || s.Pkg.Name == parent {
			continue
		}
		if requires(r.Index, s.Pkg.Depends, target.Pkg) {
			w.Chains = append(w.Chains, append(slices.Clone(s.Chain), pkg))
		}
	}
	w.Chains = appChains(r, w.Chains)
	return w, nil
}

// appChains starts each chain that begins at a package added for the
// application's libraries with why it was: "app: FILE needs LIB".
func appChains(r *Resolution, chains [][]string) [][]string {
	if r.App == nil {
		return chains
	}
	var out [][]string
	for _, c := range chains {
		added := false
		for _, l := range r.App.Libs {
			if len(c) > 0 && c[0] == l.Package {
				out = append(out, append([]string{"app: " + path.Base(l.File) + " needs " + l.Needs}, c...))
				added = true
			}
		}
		if !added {
			out = append(out, c)
		}
	}
	return out
}

// requires reports whether any atom of deps is satisfied by p.
func requires(ix packages.Index, deps []packages.Dep, p *packages.Package) bool {
	for _, d := range deps {
		if d.Kind == packages.DepAtom && slices.Contains(ix.Satisfiers(d.Atom), p) {
			return true
		}
		if requires(ix, d.Args, p) {
			return true
		}
	}
	return false
}
