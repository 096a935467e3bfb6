package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/resolver"
)

// Options are the settings shared by resolve and gen.
type Options struct {
	Distro string // "" picks a built-in distro that packages the profile
	// Platforms are the target platforms as OCI architecture names
	// (Architectures; ParseArchList reads the other spellings), amd64
	// when none. Gen builds an image index of one image per platform;
	// resolve, why and profiles take one.
	Platforms []string
	CacheDir  string // "" = the XDG cache dir
	Offline   bool
	Mirrors   distro.Mirrors
	// Keyring is a file of signing keys that replaces the distro's
	// (--keyring); the fingerprints a built-in distro pins still apply.
	Keyring  string
	HostRoot string    // where to read apt sources; "" = "/"
	Log      io.Writer // notes and progress; nil = discard
	// Timeout bounds each network wait (connect, TLS handshake, response
	// headers, a pause in a body), of downloads and, unless
	// Registry.Timeout is set, of gen's and release's registry requests;
	// 0 = fetch.DefaultTimeout.
	Timeout time.Duration

	// Profile, when set, is a profile read from a file (LoadProfileFile);
	// the profile name argument is then its name.
	Profile *profiles.Profile
	// Add names packages added to the profile's top level; Exclude names
	// packages pruned from the closure (the ELF check of gen still applies).
	Add, Exclude []string
	// App names the application's dependencies (Python wheels, npm
	// packages) installed into the image's application layer, and
	// whether the libraries they need are added (app.go).
	App AppOptions
	// appLibs are packages added, in a level of their own below the
	// application layer, for the libraries the application needs.
	appLibs []string
	// keepResolution uses and fills the resolution memo (resmemo.go):
	// gen's resolutions.
	keepResolution bool
	// NoPrune resolves Debian's full Depends closure: no prune list and
	// no files-only roots (for comparison; such a closure is not what gen
	// builds).
	NoPrune bool

	// Refresh downloads each distro's signed index root again however
	// recent the cached one is (lock update must see today's index).
	Refresh bool
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
	// A profile that names its format has its names checked against
	// that format's grammar now, before anything is downloaded.
	if g, ok := distro.GrammarOf(p.Format); ok {
		if err := p.CheckNames(g); err != nil {
			return nil, err
		}
	}
	p.Dir = filepath.Dir(path) // files' src paths are relative to it
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
	// The profiles' names against the format's own grammar (Decode
	// checked what any format allows).
	for _, p := range plan.Chain {
		if err := p.CheckNames(d.Grammar()); err != nil {
			return nil, err
		}
	}
	if o.NoPrune {
		plan.Prune = nil
		for i := range plan.Levels {
			for j := range plan.Levels[i].Roots {
				plan.Levels[i].Roots[j].NoDeps = false
			}
		}
	}
	if err := o.checkAddExclude(d.Grammar()); err != nil {
		return nil, err
	}
	o.addAppLibs(plan)
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
// --exclude against g (the distro's format's grammar, or
// packages.AnyFormat before the distro is known).
func (o *Options) checkAddExclude(g packages.Grammar) error {
	for _, name := range o.Add {
		if err := g.CheckName(name); err != nil {
			return &OptionError{Option: "Add", Err: err}
		}
	}
	for _, name := range o.Exclude {
		if err := g.CheckPattern(name); err != nil {
			return &OptionError{Option: "Exclude", Err: err}
		}
	}
	return nil
}

// Resolution is a profile's closure on one distro.
type Resolution struct {
	Distro *distro.Distro
	Arch   string
	Index  distro.Index
	Keys   distro.Keys // the keys the index was verified with
	Plan   *profiles.Plan
	Result *resolver.Result
	Cache  *fetch.Cache
	// App is the application layer's install, nil without one.
	App *AppResult
}

func (o *Options) Logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

func (o *Options) Cache() (*fetch.Cache, error) {
	dir := o.CacheDir
	if dir == "" {
		var err error
		if dir, err = fetch.DefaultDir(); err != nil {
			return nil, err
		}
	}
	return &fetch.Cache{Dir: dir, Offline: o.Offline, Log: o.Log, Timeout: o.Timeout}, nil
}

// arch is the first of o.Platforms (amd64 when none); call it after
// CheckArch.
func (o *Options) arch() string {
	if len(o.Platforms) == 0 {
		return "amd64"
	}
	return o.Platforms[0]
}

// archs are o.Platforms (amd64 when none), or a usage error naming one
// that is not an OCI architecture name, or a repeat.
func (o *Options) archs() ([]string, error) {
	for i, p := range o.Platforms {
		if !slices.Contains(Architectures, p) {
			return nil, &UsageError{&OptionError{Option: "Platforms", Value: strconv.Quote(p),
				Err: fmt.Errorf("not an architecture this tool builds for (want one of %s)", strings.Join(Architectures, ", "))}}
		}
		if slices.Contains(o.Platforms[:i], p) {
			return nil, &UsageError{&OptionError{Option: "Platforms", Value: strconv.Quote(p), Err: errors.New("named twice")}}
		}
	}
	if len(o.Platforms) == 0 {
		return []string{"amd64"}, nil
	}
	return slices.Clone(o.Platforms), nil
}

// OpenIndex opens a distro's index with these options, and returns it
// with the keys it was verified with (for the distro's Payload). The
// host's apt sources are read only for a distro that needs mirrors.
func (o *Options) OpenIndex(ctx context.Context, d *distro.Distro) (distro.Index, distro.Keys, *fetch.Cache, error) {
	return o.openIndex(ctx, d, false)
}

// openIndex is OpenIndex; deferred opens as distro.OpenDeferred.
func (o *Options) openIndex(ctx context.Context, d *distro.Distro, deferred bool) (distro.Index, distro.Keys, *fetch.Cache, error) {
	c, err := o.Cache()
	if err != nil {
		return nil, nil, nil, err
	}
	m := o.Mirrors
	var mirrErr error
	if d.NeedsMirrors() {
		root := o.HostRoot
		if root == "" {
			root = "/"
		}
		m, mirrErr = distro.ResolveMirrors(o.Mirrors, root)
	}
	if o.Refresh {
		fresh := *d
		fresh.RefreshAfter = -1
		d = &fresh
	}
	open := d.Open
	if deferred {
		open = d.OpenDeferred
	}
	ix, keys, err := open(ctx, c, o.arch(), m)
	if err != nil {
		if mirrErr != nil && (m.Archive == "" || m.Security == "") {
			err = fmt.Errorf("%w (host apt sources: %v)", err, mirrErr)
		}
		return nil, nil, nil, err
	}
	return ix, keys, c, nil
}

// Resolve computes the closure of a built-in profile.
//
// Without a distro named, it walks the built-in distros in order of
// preference and takes the first that packages the profile. A distro
// that was read and verified but lacks the profile is passed over; one
// whose index could not be read or verified stops the walk with an
// error, since it might have packaged the profile: whoever can block or
// corrupt one index must not be able to choose the distro an image is
// built from.
func Resolve(ctx context.Context, profile string, o Options) (_ *Resolution, err error) {
	defer func() { err = DiskFirst(err) }()
	return ResolveNamed(ctx, o.ProfileName(profile), o)
}

// ProfileName settles the profile's name: a profile file's own name
// (Options.Profile), else the name given. The public entry points (Gen,
// Resolve, Why) settle it once; everything below them takes it as given.
func (o *Options) ProfileName(name string) string {
	if o.Profile != nil {
		return o.Profile.Name
	}
	return name
}

// ResolveNamed is Resolve for a settled profile name.
func ResolveNamed(ctx context.Context, profile string, o Options) (*Resolution, error) {
	if err := CheckArch(o.Platforms); err != nil {
		return nil, err
	}
	o.Platforms = []string{o.arch()}
	if err := o.checkAddExclude(packages.AnyFormat); err != nil {
		return nil, &UsageError{err}
	}
	if err := o.AppInputs().check(); err != nil {
		return nil, &UsageError{err}
	}
	if o.Profile == nil {
		if _, _, err := profiles.Find(profile); err != nil {
			return nil, &UsageError{err}
		}
	}
	if o.Distro != "" {
		d, err := o.OpenDistro(o.Distro)
		if err != nil {
			return nil, err
		}
		if err := hasArch(d, o.arch()); err != nil {
			return nil, &UsageError{err}
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
			err = fmt.Errorf("%w (without Options.Distro, gen tries the built-in distros in turn: %s)", err, strings.Join(others, ", "))
		}
		return r, err
	}
	// No distro named: the most preferred built-in distro that packages it.
	var why []string
	for _, b := range distro.Builtins() {
		d := o.keyed(b)
		if err := hasArch(d, o.arch()); err != nil {
			// The definition says so: nothing to read.
			why = append(why, err.Error())
			continue
		}
		if err := o.declaredNotFor(profile, d); err != nil {
			// The profile says it is not for this distro: nothing to read.
			why = append(why, err.Error())
			continue
		}
		r, err := resolveOn(ctx, profile, d, o)
		var np *profiles.NotPackagedError
		var oe *openError
		switch {
		case err == nil:
			if b != distro.Default() {
				o.Logf("%s: using %s, the first built-in distro that packages it (%s)", profile, d.Name, strings.Join(why, "; "))
			}
			return r, nil
		case errors.As(err, &np):
			why = append(why, err.Error())
		case errors.As(err, &oe):
			var de *diskError
			if errors.As(DiskFirst(oe.err), &de) {
				return nil, de // a local failure, not the distro's
			}
			return nil, &unreadDistroError{Distro: d.Name, Profile: profile, Passed: why, Err: oe.err}
		default:
			return nil, err
		}
	}
	return nil, fmt.Errorf("%s is packaged by no built-in distro:\n  %s", profile, strings.Join(why, "\n  "))
}

// unreadDistroError is the error of a distro choice (no --distro) that
// met a built-in distro whose index could not be read or verified
// before one that packages the profile.
type unreadDistroError struct {
	Distro  string   // the distro that could not be read
	Profile string   // the profile asked for
	Passed  []string // why each distro before it was passed over
	Err     error    // why it could not be read
}

func (e *unreadDistroError) Error() string {
	msg := fmt.Sprintf("%v\n  %s could not be read, so whether it packages %s is unknown: without Options.Distro, gen takes the first built-in distro that packages the profile and never skips one it cannot read; restore access to %s, or choose a distro with Options.Distro",
		e.Err, e.Distro, e.Profile, e.Distro)
	for _, w := range e.Passed {
		msg += "\n  " + w
	}
	return msg
}

func (e *unreadDistroError) Unwrap() error { return e.Err }

// declaredNotFor reports, without reading any index, that the profile
// (or a profile it extends, up to the first template) says it is not for
// distro d: another package format, or a distros list without d.
func (o *Options) declaredNotFor(profile string, d *distro.Distro) error {
	q := o.Profile
	if q == nil {
		p, base, err := profiles.FindFor(profile, d.Format)
		if err != nil {
			return nil // the expansion says what is wrong
		}
		if p.Variant != "" {
			if p, _, err = profiles.FindFor(base, d.Format); err != nil {
				return nil
			}
		}
		q = p
	}
	for seen := 0; q != nil && q.Template == nil && q.Alias == "" && seen < 64; seen++ {
		if q.Format != "" && q.Format != d.Format {
			return &profiles.NotPackagedError{Profile: q.Name, Distro: d.Name, For: []string{q.Format + " distros"}}
		}
		if len(q.Distros) > 0 && !slices.Contains(q.Distros, d.Name) {
			return &profiles.NotPackagedError{Profile: q.Name, Distro: d.Name, For: q.Distros}
		}
		if q.Extends == "" {
			break
		}
		p, _, err := profiles.FindFor(q.Extends, d.Format)
		if err != nil {
			break
		}
		q = p
	}
	return nil
}

// UsageError is an error in how the command was called (an unknown
// profile, distro or architecture, a malformed output or user), found
// before anything is downloaded.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// diskError is an error of a write that found the disk full (or over a
// quota or size limit): its message leads with the cause and the path.
type diskError struct {
	Path *fs.PathError // the write that failed
	Err  error         // the whole error, for context
}

func (e *diskError) Error() string {
	ctx := strings.Replace(e.Err.Error(), e.Path.Error(), "…", 1)
	return fmt.Sprintf("%v: %s %s (%s)", e.Path.Err, e.Path.Op, e.Path.Path, ctx)
}

func (e *diskError) Unwrap() error { return e.Err }

// DiskFirst makes an error whose cause is a full disk lead with it.
func DiskFirst(err error) error {
	var de *diskError
	var pe *fs.PathError
	if err == nil || errors.As(err, &de) || !errors.As(err, &pe) {
		return err
	}
	if errors.Is(pe.Err, syscall.ENOSPC) || errors.Is(pe.Err, syscall.EDQUOT) || errors.Is(pe.Err, syscall.EFBIG) {
		return &diskError{Path: pe, Err: err}
	}
	return err
}

// CheckArch checks a value of --arch/--platform that must name one
// platform (resolve, why, profiles; gen takes several).
func CheckArch(platforms []string) error {
	o := Options{Platforms: platforms}
	a, err := o.archs()
	if err != nil {
		return err
	}
	if len(a) > 1 {
		return &UsageError{&OptionError{Option: "Platforms", Value: strconv.Quote(strings.Join(a, ",")), Err: fmt.Errorf("names %d platforms; this command takes one (gen builds an image index of several): run it once per platform", len(a))}}
	}
	return nil
}

// hasArch reports, from its definition alone, that distro d does not
// publish architecture arch (an OCI name).
func hasArch(d *distro.Distro, arch string) error {
	if slices.Contains(d.Architectures, arch) {
		return nil
	}
	var have []string
	for _, a := range d.Architectures {
		have = append(have, PlatformName(a))
	}
	return fmt.Errorf("%s does not publish %s (it has %s)", d.Name, PlatformName(arch), strings.Join(have, ", "))
}

// OpenDistro returns the OpenDistro --OpenDistro names (a built-in one or a OpenDistro
// file), with --keyring applied.
func (o *Options) OpenDistro(name string) (*distro.Distro, error) {
	d, err := distro.Find(name)
	if err != nil {
		if !distro.IsFile(name) {
			err = &UsageError{err} // an unknown built-in name
		}
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

// openError marks a distro whose index could not be opened, which stops
// the search over built-in distros.
type openError struct{ err error }

func (e *openError) Error() string { return e.err.Error() }
func (e *openError) Unwrap() error { return e.err }

func resolveOn(ctx context.Context, profile string, d *distro.Distro, o Options) (*Resolution, error) {
	r, err := resolveClosure(ctx, profile, d, o)
	if err != nil {
		return nil, err
	}
	return o.WithApp(ctx, profile, d, r)
}

// resolveClosure is resolveOn without the application layer.
func resolveClosure(ctx context.Context, profile string, d *distro.Distro, o Options) (*Resolution, error) {
	ix, keys, c, err := o.openIndex(ctx, d, o.keepResolution)
	if err != nil {
		return nil, &openError{err}
	}
	memoKey := ""
	if l, ok := ix.(distro.Loader); ok && !l.Loaded() {
		memoKey = o.resolutionKey(profile, d, keys, ix.Sources())
		if plan, res := loadResolution(c, memoKey, d.Grammar()); memoKey != "" && plan != nil {
			if plan.Note != "" {
				o.Logf("%s", plan.Note)
			}
			return &Resolution{Distro: d, Arch: o.arch(), Index: ix, Keys: keys, Plan: plan, Result: res, Cache: c}, nil
		}
		if err := l.Load(ctx); err != nil {
			return nil, &openError{err}
		}
	}
	return ResolveIn(profile, d, ix, keys, c, o, memoKey)
}

// ResolveIn resolves the profile in an opened index of distro d, and
// keeps the resolution under memoKey when it is set.
func ResolveIn(profile string, d *distro.Distro, ix distro.Index, keys distro.Keys, c *fetch.Cache, o Options, memoKey string) (*Resolution, error) {
	plan, err := o.expand(profile, ix, d)
	if err != nil {
		return nil, err
	}
	if plan.Note != "" {
		o.Logf("%s", plan.Note)
	}
	res, err := resolver.Resolve(ix, plan.Levels, resolver.Options{Prune: plan.Prune})
	if di, ok := ix.(interface{ Damaged() error }); ok {
		// A cached index file found damaged while read: the closure may
		// lack what it held.
		if derr := di.Damaged(); derr != nil {
			return nil, fmt.Errorf("%s on %s: %w", plan.Name, d.Name, derr)
		}
	}
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
	if memoKey != "" {
		storeResolution(c, memoKey, plan, res)
	}
	return &Resolution{Distro: d, Arch: o.arch(), Index: ix, Keys: keys, Plan: plan, Result: res, Cache: c}, nil
}
