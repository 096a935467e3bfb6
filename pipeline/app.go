package pipeline

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/distroless-dev/distroless/appdeps"
	"github.com/distroless-dev/distroless/appdeps/python"
	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/resolver"
)

// The application layer: the dependencies of the application an image
// runs (Python wheels, npm packages), installed by the installers of
// appdeps for the image's own runtime, go into one layer above the
// profile's layers. The libraries their ELF files need that the image
// lacks are looked up in the distro's file index and their packages
// added in a level of their own (appLibsLevel) just below it
// (applibs.go).

// AppOptions name an image's application dependencies. Files are paths
// on the build host.
type AppOptions struct {
	// PythonRequirements is a requirements file pinned with hashes;
	// PythonWheels a directory of wheels; PythonIndex a PEP 503/691
	// simple index URL (see appdeps/python).
	PythonRequirements string
	PythonWheels       string
	PythonIndex        string
	// NpmLock is a package-lock.json (lockfileVersion 2 or 3);
	// NpmRegistry the base URL that replaces the npm registry's in its
	// resolved URLs; AppDir where node_modules goes (default /app; see
	// appdeps/npm).
	NpmLock, NpmRegistry, AppDir string
	// NoLibs leaves the libraries the application's ELF files need to
	// the ELF check: none is looked up or added.
	NoLibs bool
}

// AppResult is what the application layer holds: each installer's set,
// and the packages added for the libraries they need.
type AppResult struct {
	Sets []*appdeps.Set
	Libs []AppLib
	// LookupFailed says why the libraries could not be looked up (the
	// distro's file index refused); nothing was added for them.
	LookupFailed string
}

// AppLib is a library an application file needs that the image lacked,
// and the package added for it.
type AppLib struct {
	Set     string `json:"set"`     // the installer: python, npm
	File    string `json:"file"`    // the file's path in the image
	Needs   string `json:"needs"`   // the DT_NEEDED name
	Package string `json:"package"` // the package that ships it
}

// appLayer and AppLibsLevel are the names of the application's layer and
// of the level of the packages added for its libraries.
const (
	appLayer     = "app"
	AppLibsLevel = "app-libs"
)

// appTarget is what an installer knows of the image: its distro and
// architecture, the packages of its closure, the download cache.
type appTarget struct {
	Distro   *distro.Distro
	Arch     string
	Packages []*packages.Package
	Cache    *fetch.Cache
	Timeout  time.Duration
}

// appInstaller is one ecosystem's installer. Wanted says whether the
// options ask for it (its flags or profile fields are set); Install
// installs for the target and returns its Set: Name as messages and why
// show it ("python", "npm"), Files with absolute paths in the image
// (regular files with Data, directories, symlinks), Components with
// their purls and hashes (the lockfile, the SBOM and the provenance take
// them as they are), Warnings gen prints. The Files of every set go into
// one layer, appLayer; their ELF files' libraries are looked up
// (applibs.go) whatever the installer. An installer that checks its
// options before anything is fetched adds its case to AppOptions.check.
type appInstaller struct {
	Name    string
	Wanted  func(AppOptions) bool
	Install func(ctx context.Context, o AppOptions, t appTarget) (*appdeps.Set, error)
}

// appInstallers run in this order; each ecosystem registers its own
// (registerApp, from an init function of its file).
var appInstallers = []appInstaller{{Name: "python", Wanted: wantPython, Install: installPython}}

// registerApp adds an installer.
func registerApp(a appInstaller) { appInstallers = append(appInstallers, a) }

// AppInputs are the application options: the flags over the profile
// file's fields (whose paths are relative to its directory).
func (o *Options) AppInputs() AppOptions {
	a := o.App
	p := o.Profile
	if p == nil {
		return a
	}
	rel := func(f string) string {
		if f == "" || filepath.IsAbs(f) || p.Dir == "" {
			return f
		}
		return filepath.Join(p.Dir, f)
	}
	if a.PythonRequirements == "" && a.PythonWheels == "" && a.PythonIndex == "" {
		a.PythonRequirements, a.PythonWheels, a.PythonIndex = rel(p.PythonRequirements), rel(p.PythonWheels), p.PythonIndex
	}
	if a.NpmLock == "" && a.NpmRegistry == "" && a.AppDir == "" {
		a.NpmLock, a.NpmRegistry, a.AppDir = rel(p.NpmLock), p.NpmRegistry, p.AppDir
	}
	if p.AppLibs != nil && !*p.AppLibs {
		a.NoLibs = true
	}
	return a
}

// Wanted says whether any installer has something to install.
func (a AppOptions) Wanted() bool {
	return slices.ContainsFunc(appInstallers, func(i appInstaller) bool { return i.Wanted(a) })
}

// addAppLibs adds the level of the packages added for the application's
// libraries, on top of the plan, when there are any.
func (o *Options) addAppLibs(plan *profiles.Plan) {
	if len(o.appLibs) == 0 {
		return
	}
	lv := resolver.Level{Name: AppLibsLevel}
	for _, n := range o.appLibs {
		lv.Roots = append(lv.Roots, resolver.Root{Name: n})
	}
	prof := &profiles.Profile{Name: AppLibsLevel}
	// The loader's cache, when a level below makes one, lists them too.
	if slices.ContainsFunc(plan.Chain, func(p *profiles.Profile) bool { return slices.Contains(p.Generate, "ld.so.cache") }) {
		prof.Generate = []string{"ld.so.cache"}
	}
	plan.Levels = append(plan.Levels, lv)
	plan.Chain = append(plan.Chain, prof)
}

// WithApp installs the application's dependencies for the resolution's
// image and, unless turned off, adds the packages of the libraries they
// need (resolving again with them).
func (o *Options) WithApp(ctx context.Context, profile string, d *distro.Distro, r *Resolution) (*Resolution, error) {
	app := o.AppInputs()
	if !app.Wanted() {
		return r, nil
	}
	var pkgs []*packages.Package
	for _, s := range r.Result.Packages {
		pkgs = append(pkgs, s.Pkg)
	}
	res, err := installApp(ctx, app, appTarget{Distro: d, Arch: r.Arch, Packages: pkgs, Cache: r.Cache, Timeout: o.Timeout})
	if err != nil {
		return nil, err
	}
	r.App = res
	if app.NoLibs {
		return r, nil
	}
	finder, _ := r.Index.(packages.FileFinder) // nil: the lookup fails if it is needed
	libs, err := findAppLibs(ctx, finder, d, r.Arch, pkgs, res.Sets)
	var fe *fileIndexError
	switch {
	case errors.As(err, &fe):
		// Nothing is added; the build's ELF check still refuses an image
		// that lacks one of them, and its error follows this warning.
		res.LookupFailed = fe.Error() // a warning of the image's report (appWarnings)
		return r, nil
	case err != nil:
		return nil, err
	}
	var names []string
	for _, l := range libs {
		if !slices.Contains(names, l.Package) {
			names = append(names, l.Package)
		}
	}
	slices.Sort(names)
	if len(names) > 0 {
		for _, l := range libs {
			o.Logf("%s: %s needs %s → %s (added in layer %s)", l.Set, filepath.Base(l.File), l.Needs, l.Package, AppLibsLevel)
		}
		o2 := *o
		o2.appLibs = names
		r2, err := resolveClosure(ctx, profile, d, o2)
		if err != nil {
			return nil, fmt.Errorf("the packages of the application's libraries (%s): %w", strings.Join(names, ", "), err)
		}
		r2.App = res
		r = r2
	}
	res.Libs = libs
	return r, nil
}

// installApp runs every wanted installer.
func installApp(ctx context.Context, app AppOptions, t appTarget) (*AppResult, error) {
	res := &AppResult{}
	for _, inst := range appInstallers {
		if !inst.Wanted(app) {
			continue
		}
		set, err := inst.Install(ctx, app, t)
		if err != nil {
			return nil, err
		}
		res.Sets = append(res.Sets, set)
	}
	return res, nil
}

// layer is the application layer of an image: every set's files.
func (a *AppResult) layer() assemble.Layer {
	l := assemble.Layer{Name: appLayer, PythonBytecode: true}
	for _, s := range a.Sets {
		l.Files = append(l.Files, s.Files...)
	}
	return l
}

// components are every set's components.
func (a *AppResult) components() []appdeps.Component {
	if a == nil {
		return nil
	}
	var out []appdeps.Component
	for _, s := range a.Sets {
		out = append(out, s.Components...)
	}
	return out
}

// lockApp are the lockfile's pins of the application's components.
func (a *AppResult) lockApp() []lockfile.App {
	var out []lockfile.App
	for _, c := range a.components() {
		out = append(out, lockfile.App{Type: c.Type, Name: c.Name, Version: c.Version, Hash: c.Hash, Source: c.Source})
	}
	return out
}

// checkLocked refuses components other than those the lockfile pins.
func (a *AppResult) checkLocked(lock string, pins []lockfile.App) error {
	got := a.lockApp()
	key := func(p lockfile.App) string { return p.Type + " " + p.Name + " " + p.Version + " " + p.Hash }
	want := map[string]bool{}
	for _, p := range pins {
		want[key(p)] = true
	}
	have := map[string]bool{}
	for _, p := range got {
		have[key(p)] = true
		if !want[key(p)] {
			return fmt.Errorf("lockfile %s does not pin %s %s %s (%s): the application's inputs changed; remove the lockfile to resolve again", lock, p.Type, p.Name, p.Version, p.Hash)
		}
	}
	for _, p := range pins {
		if !have[key(p)] {
			return fmt.Errorf("lockfile %s pins %s %s %s (%s), which the application's inputs no longer install; remove the lockfile to resolve again", lock, p.Type, p.Name, p.Version, p.Hash)
		}
	}
	return nil
}

// check refuses what cannot work, before anything is fetched.
func (a AppOptions) check() error {
	switch {
	case a.PythonWheels != "" && a.PythonIndex != "":
		return fmt.Errorf("AppOptions.PythonWheels and AppOptions.PythonIndex: give one source of wheels, not both")
	case a.PythonIndex != "" && a.PythonRequirements == "":
		return fmt.Errorf("AppOptions.PythonIndex needs AppOptions.PythonRequirements naming what to install")
	case a.PythonRequirements != "" && a.PythonWheels == "" && a.PythonIndex == "":
		return fmt.Errorf("AppOptions.PythonRequirements needs a source: AppOptions.PythonWheels DIR or AppOptions.PythonIndex URL")
	}
	for _, f := range []struct{ flag, path string }{{"AppOptions.PythonRequirements", a.PythonRequirements}, {"AppOptions.PythonWheels", a.PythonWheels}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("%s: %w", f.flag, err)
		}
	}
	return checkNpm(a)
}

// wantPython says whether Python wheels are asked for.
func wantPython(a AppOptions) bool {
	return a.PythonRequirements != "" || a.PythonWheels != "" || a.PythonIndex != ""
}

var (
	pyPackage   = regexp.MustCompile(`^(?:lib)?python3\.(\d+)(?:-minimal|-stdlib)?$`)
	glibcVerRe  = regexp.MustCompile(`^(?:\d+:)?(2\.\d+)`)
	pyVersionRe = regexp.MustCompile(`^(?:\d+:)?3\.(\d+)`)
)

// pythonTarget is the image's interpreter, as its packages say.
func pythonTarget(t appTarget) (python.Target, error) {
	pt := python.Target{Arch: t.Arch, Prefix: "/usr/local"}
	minor := ""
	for _, p := range t.Packages {
		if m := pyPackage.FindStringSubmatch(p.Name); m != nil && (minor == "" || len(m[1]) > len(minor) || len(m[1]) == len(minor) && m[1] > minor) {
			minor = m[1]
		}
	}
	if minor == "" {
		for _, p := range t.Packages {
			if p.Name == "python3" || p.Name == "python3-libs" {
				if m := pyVersionRe.FindStringSubmatch(p.Version); m != nil {
					minor = m[1]
				}
			}
		}
	}
	for _, p := range t.Packages {
		if p.Name == "libc6" || p.Name == "glibc" {
			if m := glibcVerRe.FindStringSubmatch(p.Version); m != nil {
				pt.Glibc = m[1]
			}
		}
	}
	if minor == "" {
		return pt, fmt.Errorf("the image has no python 3 (Python wheels need a python profile, e.g. python3)")
	}
	pt.Python = "3." + minor
	pt.Interpreter = "/usr/bin/python3." + minor
	// Debian's site.py reads /usr/local/lib/python3.X/dist-packages,
	// Fedora's and RHEL's /usr/local/lib/python3.X/site-packages.
	pt.Site = "/usr/local/lib/python" + pt.Python + "/site-packages"
	if t.Distro.Format == "deb" {
		pt.Site = "/usr/local/lib/python" + pt.Python + "/dist-packages"
	}
	return pt, nil
}

// installPython installs the Python wheels.
func installPython(ctx context.Context, a AppOptions, t appTarget) (*appdeps.Set, error) {
	pt, err := pythonTarget(t)
	if err != nil {
		return nil, err
	}
	set, err := python.Install(ctx, python.Options{Requirements: a.PythonRequirements, Wheels: a.PythonWheels, Index: a.PythonIndex,
		Cache: t.Cache, Timeout: t.Timeout}, pt)
	if err != nil {
		return nil, fmt.Errorf("python: %w", err)
	}
	return set, nil
}

// lockedApp installs the application layer of a build from a lockfile:
// the same inputs must install exactly the components it pins (the
// libraries' packages are pinned with the others, in appLibsLevel).
func (in *Input) lockedApp(o GenOptions, l *lockfile.Lock) error {
	app := o.AppInputs()
	if !app.Wanted() {
		if len(l.App) > 0 {
			return fmt.Errorf("lockfile %s pins an application layer (%d packages), but no application inputs are given", o.Lock, len(l.App))
		}
		return nil
	}
	var pkgs []*packages.Package
	for _, lv := range in.levels {
		pkgs = append(pkgs, lv...)
	}
	res, err := installApp(context.Background(), app, appTarget{Distro: in.distro, Arch: in.arch, Packages: pkgs, Cache: in.cache, Timeout: o.Timeout})
	if err != nil {
		return err
	}
	if err := res.checkLocked(o.Lock, l.App); err != nil {
		return err
	}
	in.app = res
	return nil
}

// appDependencies are the provenance's dependencies of the application
// layer: each package by purl, with its digest.
func appDependencies(a *AppResult) []attest.Dependency {
	var out []attest.Dependency
	for _, c := range a.components() {
		d := attest.Dependency{Name: c.Source, URI: c.PURL}
		if h, ok := strings.CutPrefix(c.Hash, "sha256:"); ok {
			d.SHA256 = h
		} else if alg, b64, ok := strings.Cut(c.Hash, "-"); ok {
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				continue
			}
			d.Digest = map[string]string{alg: hex.EncodeToString(raw)}
		}
		out = append(out, d)
	}
	return out
}
