package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/resolver"
)

// Input is a profile plan with the packages of each of its levels.
type Input struct {
	distro *distro.Distro
	keys   distro.Keys // those the index was verified with; nil from a lockfile
	arch   string
	plan   *profiles.Plan
	levels [][]*packages.Package
	cache  *fetch.Cache
	res    *Resolution // nil from a lockfile
	// indexes are the signed index files the packages came from.
	indexes []packages.IndexFile
	// app is the application layer's install (app.go), nil for none.
	app *AppResult
}

// genPlans resolves the profile for every platform, or takes the
// packages a lockfile pins; one input per platform, in the order of
// Architectures.
func genPlans(ctx context.Context, profile string, o GenOptions) ([]*Input, error) {
	archs, err := o.archs()
	if err != nil {
		return nil, err
	}
	if o.Lock != "" {
		l, err := ReadLock(o.Lock)
		switch {
		case err == nil:
			if len(o.Platforms) == 0 {
				archs = l.Archs() // the platforms the lockfile pins
			}
			return lockPlans(profile, l, archs, o)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	sortArchs(archs)
	if len(archs) > 1 && o.Log != nil {
		// The platforms' resolutions say the same things (python3 is
		// python3.13 on …): each once.
		o.Log = &onceLines{w: o.Log, seen: map[string]bool{}}
	}
	// Every platform at once: each opens its own index (download and
	// decoding run in parallel).
	rs := make([]*Resolution, len(archs))
	errs := make([]error, len(archs))
	var wg sync.WaitGroup
	for i, a := range archs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			po := o.Options
			po.Platforms = []string{a}
			po.keepResolution = true
			rs[i], errs[i] = ResolveNamed(ctx, profile, po)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			if len(archs) > 1 {
				return nil, platformError(archs[i], err)
			}
			return nil, err
		}
	}
	// One distro for all: without --distro each platform chose its own.
	for _, r := range rs[1:] {
		if r.Distro.Name != rs[0].Distro.Name {
			return nil, fmt.Errorf("%s resolved on %s for %s but on %s for %s: choose one distro with Options.Distro",
				profile, rs[0].Distro.Name, PlatformName(rs[0].Arch), r.Distro.Name, PlatformName(r.Arch))
		}
	}
	if o.Lock != "" {
		var locks []*lockfile.Lock
		for _, r := range rs {
			locks = append(locks, r.Lock())
		}
		l, err := lockfile.Merge(locks)
		if err != nil {
			return nil, err
		}
		if err := lockfile.Write(o.Lock, l); err != nil {
			return nil, err
		}
		o.Logf("wrote lockfile %s", o.Lock)
	}
	var ins []*Input
	for _, r := range rs {
		in := &Input{distro: r.Distro, keys: r.Keys, arch: r.Arch, plan: r.Plan, cache: r.Cache, res: r,
			levels: make([][]*packages.Package, len(r.Result.Levels)), indexes: r.Index.Sources(), app: r.App}
		for _, s := range r.Result.Packages {
			in.levels[s.Level] = append(in.levels[s.Level], s.Pkg)
		}
		ins = append(ins, in)
	}
	return ins, nil
}

// onceLines writes each distinct line once (each Write is one line).
type onceLines struct {
	mu   sync.Mutex
	w    io.Writer
	seen map[string]bool
}

func (o *onceLines) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen[string(p)] {
		return len(p), nil
	}
	o.seen[string(p)] = true
	return o.w.Write(p)
}

// platformError names the platform in an error of its resolution,
// keeping a usage error one.
func platformError(arch string, err error) error {
	var ue *UsageError
	if errors.As(err, &ue) {
		return &UsageError{fmt.Errorf("%s: %w", PlatformName(arch), ue.Err)}
	}
	return fmt.Errorf("%s: %w", PlatformName(arch), err)
}

// sortArchs puts architectures in the order of Architectures.
func sortArchs(archs []string) {
	slices.SortStableFunc(archs, func(a, b string) int {
		return slices.Index(Architectures, a) - slices.Index(Architectures, b)
	})
}

// lockPlans rebuilds the plan of each platform from a lockfile: archs
// must be the platforms it pins.
func lockPlans(profile string, l *lockfile.Lock, archs []string, o GenOptions) ([]*Input, error) {
	pinned := l.Archs()
	sortArchs(archs)
	sorted := slices.Clone(pinned)
	sortArchs(sorted)
	if !slices.Equal(archs, sorted) {
		return nil, fmt.Errorf("lockfile %s pins architecture %s, not %s (without Options.Platforms, gen builds what it pins)", o.Lock, strings.Join(pinned, ","), strings.Join(archs, ","))
	}
	var ins []*Input
	for _, a := range archs {
		pl := l.Split()[slices.Index(pinned, a)]
		po := o
		po.Platforms = []string{a}
		in, err := LockPlan(profile, pl, po)
		if err != nil {
			if len(archs) > 1 {
				return nil, fmt.Errorf("%s: %w", PlatformName(a), err)
			}
			return nil, err
		}
		ins = append(ins, in)
	}
	return ins, nil
}

// LockPlan rebuilds a plan from a lockfile alone: no index is read, and
// every package comes from the pinned URL with the pinned sha256.
func LockPlan(profile string, l *lockfile.Lock, o GenOptions) (*Input, error) {
	if profile != l.Profile && profile != l.Requested {
		return nil, fmt.Errorf("lockfile %s pins profile %s, not %s", o.Lock, l.Profile, profile)
	}
	var d *distro.Distro
	var err error
	if o.Distro != "" && distro.IsFile(o.Distro) {
		// A distro file's distro: the file must define the pinned one.
		if d, err = o.OpenDistro(o.Distro); err != nil {
			return nil, err
		}
		if d.Name != l.Distro {
			return nil, fmt.Errorf("lockfile %s pins distro %s, not %s (from %s)", o.Lock, l.Distro, d.Name, o.Distro)
		}
	} else {
		if d, err = distro.Get(l.Distro); err != nil {
			return nil, fmt.Errorf("lockfile %s: %w (for a distro file's distro, give the file with Options.Distro)", o.Lock, err)
		}
		if o.Distro != "" && o.Distro != l.Distro {
			return nil, fmt.Errorf("lockfile %s pins distro %s, not %s", o.Lock, l.Distro, o.Distro)
		}
	}
	if err := l.CheckPackages(o.Lock, d.Grammar()); err != nil {
		return nil, err
	}
	ix := &lockIndex{}
	for _, p := range l.Packages {
		ix.pkgs = append(ix.pkgs, &packages.Package{Name: p.Name, Version: p.Version, Arch: p.Arch, SHA256: p.SHA256,
			Size: p.Size, URL: p.URL, Location: p.Path})
	}
	if len(o.Add) > 0 || len(o.Exclude) > 0 {
		return nil, fmt.Errorf("Options.Add and Options.Exclude change the closure, which lockfile %s pins; remove the lockfile to resolve again", o.Lock)
	}
	for _, lp := range l.Packages {
		if lp.Layer == AppLibsLevel {
			o.appLibs = append(o.appLibs, lp.Name)
		}
	}
	plan, err := o.expand(l.Profile, ix, d)
	if err != nil {
		return nil, fmt.Errorf("lockfile %s: %w", o.Lock, err)
	}
	c, err := o.Cache()
	if err != nil {
		return nil, err
	}
	in := &Input{distro: d, arch: l.Arch, plan: plan, cache: c, levels: make([][]*packages.Package, len(plan.Levels))}
	for _, ix := range l.Indexes {
		in.indexes = append(in.indexes, packages.IndexFile{URL: ix.URL, SHA256: ix.SHA256})
	}
	for i, lp := range l.Packages {
		at := slices.IndexFunc(plan.Levels, func(lv resolver.Level) bool { return lv.Name == lp.Layer })
		if at < 0 {
			return nil, fmt.Errorf("lockfile %s: package %s is in layer %q, which profile %s does not have", o.Lock, lp.Name, lp.Layer, plan.Name)
		}
		in.levels[at] = append(in.levels[at], ix.pkgs[i])
	}
	if err := in.lockedApp(o, l); err != nil {
		return nil, err
	}
	return in, nil
}

// lockIndex answers the profile loader from a lockfile's packages.
type lockIndex struct{ pkgs []*packages.Package }

func (ix *lockIndex) Satisfiers(a packages.Atom) []*packages.Package {
	var out []*packages.Package
	for _, p := range ix.pkgs {
		if p.Name == a.Name {
			out = append(out, p)
		}
	}
	return out
}

func (ix *lockIndex) Names() []string {
	var n []string
	for _, p := range ix.pkgs {
		n = append(n, p.Name)
	}
	sort.Strings(n)
	return n
}
