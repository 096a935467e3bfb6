package distroless

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/resolver"
)

// Options are the settings shared by resolve and gen.
type Options struct {
	Distro   string // "" picks a built-in distro that packages the profile
	Arch     string // amd64 (default) or arm64
	CacheDir string // "" = the XDG cache dir
	Offline  bool
	Mirrors  distro.Mirrors
	// Keyring is a file of signing keys that replaces the distro's
	// (--keyring); the fingerprints a built-in distro pins still apply.
	Keyring  string
	HostRoot string    // where to read apt sources; "" = "/"
	Log      io.Writer // notes and progress; nil = discard

	// Profile, when set, is a profile read from a file (LoadProfileFile);
	// the profile name argument is then its name.
	Profile *profiles.Profile
	// Add names packages added to the profile's top level; Exclude names
	// packages pruned from the closure (the ELF check of gen still applies).
	Add, Exclude []string
	// NoPrune resolves Debian's full Depends closure: no prune list and
	// no files-only roots (for comparison; such a closure is not what gen
	// builds).
	NoPrune bool
}

// LoadProfileFile reads a profile file in the built-in profiles' schema.
func LoadProfileFile(path string) (*profiles.Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := profiles.Decode(path, data)
	if err != nil {
		return nil, err
	}
	if p.Template != nil || p.Variant != "" {
		return nil, fmt.Errorf("profile %s: template and variant are for built-in profiles only", path)
	}
	return p, nil
}

// expand makes the profile concrete on one distro's index, with --add and
// --exclude applied.
func (o *Options) expand(profile string, ix packages.Index, d *distro.Distro) (*profiles.Plan, error) {
	var plan *profiles.Plan
	var err error
	if o.Profile != nil {
		plan, err = profiles.ExpandProfile(o.Profile, o.Profile.Name, "", ix, d.Format, d.Name)
	} else {
		plan, err = profiles.Expand(profile, ix, d.Format, d.Name)
	}
	if err != nil {
		return nil, err
	}
	if o.NoPrune {
		plan.Prune = nil
		for i := range plan.Levels {
			for j := range plan.Levels[i].Roots {
				plan.Levels[i].Roots[j].NoDeps = false
			}
		}
	}
	if err := o.checkAddExclude(d.Format); err != nil {
		return nil, err
	}
	top := &plan.Levels[len(plan.Levels)-1]
	for _, name := range o.Add {
		top.Roots = append(top.Roots, resolver.Root{Name: name})
	}
	for _, name := range o.Exclude {
		plan.Prune = append([]resolver.PruneRule{{Name: name, Reason: "excluded with --exclude"}}, plan.Prune...)
		for i := range plan.Levels {
			plan.Levels[i].Roots = slices.DeleteFunc(plan.Levels[i].Roots, func(r resolver.Root) bool { return r.Name == name })
		}
	}
	return plan, nil
}

// checkAddExclude checks the names of --add and the patterns of
// --exclude against format's grammar ("" for either format's).
func (o *Options) checkAddExclude(format string) error {
	for _, name := range o.Add {
		if err := packages.CheckName(format, name); err != nil {
			return fmt.Errorf("--add: %w", err)
		}
	}
	for _, name := range o.Exclude {
		if err := packages.CheckPattern(format, name); err != nil {
			return fmt.Errorf("--exclude: %w", err)
		}
	}
	return nil
}

// Resolution is a profile's closure on one distro.
type Resolution struct {
	Distro *distro.Distro
	Arch   string
	Index  distro.Index
	Plan   *profiles.Plan
	Result *resolver.Result
	Cache  *fetch.Cache
}

func (o *Options) log(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

func (o *Options) cache() (*fetch.Cache, error) {
	dir := o.CacheDir
	if dir == "" {
		var err error
		if dir, err = fetch.DefaultDir(); err != nil {
			return nil, err
		}
	}
	return &fetch.Cache{Dir: dir, Offline: o.Offline}, nil
}

func (o *Options) arch() string {
	if o.Arch == "" {
		return "amd64"
	}
	return o.Arch
}

// OpenIndex opens a distro's index with these options.
func (o *Options) OpenIndex(ctx context.Context, d *distro.Distro) (distro.Index, *fetch.Cache, error) {
	c, err := o.cache()
	if err != nil {
		return nil, nil, err
	}
	root := o.HostRoot
	if root == "" {
		root = "/"
	}
	m, mirrErr := distro.ResolveMirrors(o.Mirrors, root)
	ix, err := d.Open(ctx, c, o.arch(), m)
	if err != nil {
		if mirrErr != nil && (m.Archive == "" || m.Security == "") {
			err = fmt.Errorf("%w (host apt sources: %v)", err, mirrErr)
		}
		return nil, nil, err
	}
	return ix, c, nil
}

// Resolve computes the closure of a built-in profile.
func Resolve(ctx context.Context, profile string, o Options) (*Resolution, error) {
	if err := o.checkAddExclude(""); err != nil {
		return nil, err
	}
	if o.Profile != nil {
		profile = o.Profile.Name
	} else if _, _, err := profiles.Find(profile); err != nil {
		return nil, err
	}
	if o.Distro != "" {
		d, err := o.distro(o.Distro)
		if err != nil {
			return nil, err
		}
		r, err := resolveOn(ctx, profile, d, o)
		var np *profiles.NotPackagedError
		if errors.As(err, &np) && !distro.IsFile(o.Distro) {
			var others []string
			for _, b := range distro.Builtins() {
				if b != d {
					others = append(others, b.Name)
				}
			}
			err = fmt.Errorf("%w (without --distro, gen tries the built-in distros in turn: %s)", err, strings.Join(others, ", "))
		}
		return r, err
	}
	// No distro named: the most preferred built-in distro that packages it.
	var why []string
	unread := 0
	for _, b := range distro.Builtins() {
		d := o.keyed(b)
		r, err := resolveOn(ctx, profile, d, o)
		var np *profiles.NotPackagedError
		switch {
		case err == nil:
			if b != distro.Default() {
				o.log("%s: using %s, the first built-in distro that packages it (%s)", profile, d.Name, strings.Join(why, "; "))
			}
			return r, nil
		case errors.As(err, &np):
			why = append(why, err.Error())
		default:
			var oe *openError
			if !errors.As(err, &oe) {
				return nil, err
			}
			unread++
			why = append(why, fmt.Sprintf("%s could not be read (%s)", d.Name, strings.TrimPrefix(err.Error(), d.Name+": ")))
		}
	}
	msg := fmt.Sprintf("%s is packaged by no built-in distro", profile)
	if unread > 0 {
		msg += fmt.Sprintf(" that could be read (%d could not: check network access to their repositories, or name a mirror with --distro FILE.yaml)", unread)
	}
	return nil, fmt.Errorf("%s:\n  %s", msg, strings.Join(why, "\n  "))
}

// distro returns the distro --distro names (a built-in one or a distro
// file), with --keyring applied.
func (o *Options) distro(name string) (*distro.Distro, error) {
	d, err := distro.Find(name)
	if err != nil {
		return nil, err
	}
	return o.keyed(d), nil
}

// keyed applies --keyring to a distro.
func (o *Options) keyed(d *distro.Distro) *distro.Distro {
	if o.Keyring != "" {
		return d.WithKeyring(o.Keyring)
	}
	return d
}

// openError marks a distro whose index could not be opened, so that the
// search over built-in distros can go on to the next.
type openError struct{ err error }

func (e *openError) Error() string { return e.err.Error() }
func (e *openError) Unwrap() error { return e.err }

func resolveOn(ctx context.Context, profile string, d *distro.Distro, o Options) (*Resolution, error) {
	ix, c, err := o.OpenIndex(ctx, d)
	if err != nil {
		return nil, &openError{err}
	}
	plan, err := o.expand(profile, ix, d)
	if err != nil {
		return nil, err
	}
	if plan.Note != "" {
		o.log("%s", plan.Note)
	}
	res, err := resolver.Resolve(ix, plan.Levels, resolver.Options{Prune: plan.Prune})
	if err != nil {
		// What the index could not read (a file list it could not fetch,
		// a package whose metadata does not convert) may be why.
		if pi, ok := ix.(interface{ Problems() []error }); ok {
			if probs := pi.Problems(); len(probs) > 0 {
				err = fmt.Errorf("%w (the index had problems: %v)", err, errors.Join(probs...))
			}
		}
		return nil, fmt.Errorf("%s on %s: %w", plan.Name, d.Name, err)
	}
	return &Resolution{Distro: d, Arch: o.arch(), Index: ix, Plan: plan, Result: res, Cache: c}, nil
}
