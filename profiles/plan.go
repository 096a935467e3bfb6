package profiles

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/resolver"
)

// Plan is a profile made concrete for one distro: the levels to resolve
// (bottom first) and the merged image configuration.
type Plan struct {
	Requested string     // the name asked for (python3)
	Name      string     // the concrete profile (python3.13)
	Note      string     // how Requested became Name, if it did
	Chain     []*Profile // bottom first, placeholders filled in
	Levels    []resolver.Level
	Prune     []resolver.PruneRule
	// PruneFiles are file patterns the profile chain leaves out of the
	// image, on top of the default documentation pruning.
	PruneFiles []string
	Config     Config

	optional map[string]bool // roots of optional entries, which prune rules drop
}

// Config is the image configuration a profile chain asks for.
type Config struct {
	Entrypoint []string
	Cmd        []string
	Env        map[string]string
	User       string
	Workdir    string
	Labels     map[string]string
}

// NotPackagedError says a template profile's version is not in a distro.
type NotPackagedError struct {
	Profile string
	Distro  string
	Have    []string // profile names the distro does package
	// For, when set, is the profile's distros list, which lacks Distro.
	For []string
}

func (e *NotPackagedError) Error() string {
	if len(e.For) > 0 {
		return fmt.Sprintf("profile %s is for %s, not %s", e.Profile, strings.Join(e.For, ", "), e.Distro)
	}
	msg := fmt.Sprintf("%s is not packaged by %s", e.Profile, e.Distro)
	if len(e.Have) > 0 {
		msg += "; it packages " + strings.Join(e.Have, ", ")
	} else {
		msg += "; it packages no version of it"
	}
	return msg
}

// Expand resolves a built-in profile name against a distro's index.
// format is the distro's package format (for its prune list), distro its
// name (for messages and the profile's distros list).
func Expand(name string, ix packages.Index, format, distro string) (*Plan, error) {
	p, val, err := FindFor(name, format)
	if err != nil {
		return nil, err
	}
	return ExpandProfile(p, name, val, ix, format, distro)
}

// ExpandProfile is Expand for a profile already loaded (built-in or from
// a file); val is the template value when p is a template.
func ExpandProfile(p *Profile, name, val string, ix packages.Index, format, distro string) (*Plan, error) {
	if p.Variant != "" {
		// val is the base profile: expand it, then add the variant on top.
		plan, err := Expand(val, ix, format, distro)
		if err != nil {
			return nil, err
		}
		return plan.withVariant(p, name, ix, distro)
	}
	if p.Alias != "" {
		vars, err := p.computeVars(ix, distro)
		if err != nil {
			return nil, err
		}
		target := p.instantiate(vars).Alias
		plan, err := Expand(target, ix, format, distro)
		if err != nil {
			return nil, fmt.Errorf("%s (%s on %s): %w", name, target, distro, err)
		}
		plan.Requested = name
		plan.Note = fmt.Sprintf("%s is %s on %s", name, target, distro)
		return plan, nil
	}
	if p.Template != nil {
		t := p
		p = p.instantiate(map[string]string{t.Template.Var: val})
		// Packaged means the template's own roots are in the index; only
		// when they are not is the whole index searched for what is.
		for _, r := range p.Packages {
			if rootInIndex(r, ix) {
				continue
			}
			e := &NotPackagedError{Profile: name, Distro: distro}
			for _, v := range t.Available(ix) {
				e.Have = append(e.Have, t.instantiate(map[string]string{t.Template.Var: v}).Name)
			}
			return nil, e
		}
	}
	chain, err := chainOf(p, ix, format, distro)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Requested: name, Name: p.Name, Config: Config{Env: map[string]string{}, Labels: map[string]string{}}}
	rules, err := PruneList(format)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		plan.Prune = append(plan.Prune, resolver.PruneRule{Name: r.Name, Reason: r.Reason})
	}
	for _, q := range chain {
		if err := plan.add(q, ix, distro); err != nil {
			return nil, err
		}
	}
	plan.dropPrunedOptional()
	return plan, nil
}

// dropPrunedOptional leaves out the roots of optional entries that a
// prune rule of the chain names (a profile opts out of tzdata-legacy with
// prune: [tzdata-legacy]); a plain root is kept whatever prune says.
func (plan *Plan) dropPrunedOptional() {
	for i := range plan.Levels {
		plan.Levels[i].Roots = slices.DeleteFunc(plan.Levels[i].Roots, func(r resolver.Root) bool {
			if !plan.optional[r.Name] {
				return false
			}
			for _, rule := range plan.Prune {
				if ok, _ := path.Match(rule.Name, r.Name); ok {
					return true
				}
			}
			return false
		})
	}
}

// add puts profile q on top of the plan as its next level.
func (plan *Plan) add(q *Profile, ix packages.Index, distro string) error {
	lv := resolver.Level{Name: q.Name}
	for _, r := range q.Packages {
		if r.Optional && !rootInIndex(r, ix) {
			continue
		}
		root, err := pickRoot(r, ix)
		if err != nil {
			return fmt.Errorf("profile %s on %s: %w", q.Name, distro, err)
		}
		if r.Optional {
			if plan.optional == nil {
				plan.optional = map[string]bool{}
			}
			plan.optional[root.Name] = true
		}
		lv.Roots = append(lv.Roots, root)
	}
	plan.Chain = append(plan.Chain, q)
	plan.Levels = append(plan.Levels, lv)
	plan.PruneFiles = append(plan.PruneFiles, q.PruneFiles...)
	for _, r := range q.Prune {
		plan.Prune = append(plan.Prune, resolver.PruneRule{Name: r.Name, Reason: r.Reason})
	}
	plan.Config.merge(q)
	return nil
}

// withVariant adds a variant profile as one more level.
func (plan *Plan) withVariant(v *Profile, name string, ix packages.Index, distro string) (*Plan, error) {
	q := *v
	q.Name = plan.Name + v.Variant
	if err := plan.add(&q, ix, distro); err != nil {
		return nil, err
	}
	plan.dropPrunedOptional()
	plan.Requested = name
	plan.Name = q.Name
	return plan, nil
}

func (c *Config) merge(q *Profile) {
	if q.Entrypoint != nil {
		c.Entrypoint, c.Cmd = q.Entrypoint, nil
	}
	if q.Cmd != nil {
		c.Cmd = q.Cmd
	}
	if q.User != "" {
		c.User = q.User
	}
	if q.Workdir != "" {
		c.Workdir = q.Workdir
	}
	for k, v := range q.Env {
		c.Env[k] = v
	}
	for k, v := range q.Labels {
		c.Labels[k] = v
	}
}

// chainOf follows extends to the bottom profile; the result is bottom first.
func chainOf(p *Profile, ix packages.Index, format, distro string) ([]*Profile, error) {
	var chain []*Profile
	seen := map[string]bool{}
	for q := p; ; {
		if seen[q.Name] {
			return nil, fmt.Errorf("profile %s: extends forms a cycle", q.Name)
		}
		seen[q.Name] = true
		if q.Format != "" && q.Format != format {
			return nil, &NotPackagedError{Profile: q.Name, Distro: distro, For: []string{q.Format + " distros"}}
		}
		if len(q.Distros) > 0 && !slices.Contains(q.Distros, distro) {
			return nil, &NotPackagedError{Profile: q.Name, Distro: distro, For: q.Distros}
		}
		chain = append([]*Profile{q}, chain...)
		if q.Extends == "" {
			return chain, nil
		}
		parent, val, err := FindFor(q.Extends, format)
		if err != nil {
			return nil, fmt.Errorf("profile %s extends: %w", q.Name, err)
		}
		if parent.Template != nil || parent.Alias != "" {
			sub, err := ExpandProfile(parent, q.Extends, val, ix, format, distro)
			if err != nil {
				return nil, err
			}
			return append(sub.Chain, chain...), nil
		}
		q = parent
	}
}

func pickRoot(r PackageRef, ix packages.Index) (resolver.Root, error) {
	root := resolver.Root{Name: r.Name, NoDeps: r.Deps != nil && !*r.Deps}
	if len(r.Any) == 0 {
		return root, nil
	}
	for _, n := range r.Any {
		if packages.Lookup(ix, n) != nil {
			root.Name = n
			return root, nil
		}
	}
	return root, fmt.Errorf("none of %s is in the index", strings.Join(r.Any, ", "))
}

// rootInIndex reports whether the index has the package r names (for
// any: one of them).
func rootInIndex(r PackageRef, ix packages.Index) bool {
	if len(r.Any) > 0 {
		_, err := pickRoot(r, ix)
		return err == nil
	}
	return packages.Lookup(ix, r.Name) != nil
}

// computeVars fills an alias's variables from the index.
func (p *Profile) computeVars(ix packages.Index, distro string) (map[string]string, error) {
	vars := map[string]string{}
	keys := make([]string, 0, len(p.Vars))
	for k := range p.Vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		def := p.Vars[k]
		re, err := regexp.Compile(def.Match)
		if err != nil {
			return nil, fmt.Errorf("profile %s: vars.%s.match: %w", p.Name, k, err)
		}
		from := packages.Lookup(ix, def.DependsOf)
		if from == nil {
			return nil, fmt.Errorf("profile %s: %s has no package %s to tell its %s", p.Name, distro, def.DependsOf, k)
		}
		for _, name := range depNames(from.Depends) {
			if m := re.FindStringSubmatch(name); m != nil {
				vars[k] = m[1]
				break
			}
		}
		if vars[k] == "" {
			return nil, fmt.Errorf("profile %s: no requirement of %s %s matches %s", p.Name, from.Name, from.Version, def.Match)
		}
	}
	return vars, nil
}

func depNames(deps []packages.Dep) []string {
	var out []string
	for _, d := range deps {
		if d.Kind == packages.DepAtom {
			out = append(out, d.Atom.Name)
		}
		out = append(out, depNames(d.Args)...)
	}
	return out
}
