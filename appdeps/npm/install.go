package npm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/package-url/packageurl-go"

	"github.com/distroless-dev/distroless/appdeps"
	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// DefaultAppDir is where node_modules goes when Options.AppDir is empty.
const DefaultAppDir = "/app"

// DefaultRegistry is the npm registry lockfiles' resolved URLs name; a
// configured registry replaces it (as npm's replace-registry-host does).
const DefaultRegistry = "https://registry.npmjs.org/"

// DefaultMaxTarball bounds one downloaded tarball.
const DefaultMaxTarball = 512 << 20

// Options say what to install and for what image.
type Options struct {
	// Lock is the package-lock.json's content; LockName names it in
	// messages (its file name).
	Lock     []byte
	LockName string
	// Registry, when set, is the base URL that replaces
	// https://registry.npmjs.org/ in the lockfile's resolved URLs (a
	// mirror); other hosts are fetched as the lockfile names them.
	Registry string
	// AppDir is the absolute directory node_modules goes in (default
	// DefaultAppDir).
	AppDir string
	// Platform is the image's: optional packages for another os, cpu or
	// libc are skipped.
	Platform Platform
	// Cache downloads and keeps the tarballs.
	Cache *fetch.Cache
	// MaxFileSize bounds one unpacked file (default
	// assemble.DefaultMaxFileSize), MaxTotalSize all of them together
	// (default assemble.DefaultMaxImageSize), MaxTarballSize one
	// download (default DefaultMaxTarball).
	MaxFileSize, MaxTotalSize, MaxTarballSize int64
	// Parallel is the number of downloads at once (default 8).
	Parallel int
}

// pkgInstall is one package to fetch and place.
type pkgInstall struct {
	n   *node
	url string
	in  *integrity
	u   *unpacked
}

// Install installs a package-lock.json as npm ci --ignore-scripts
// --omit=dev would under o.AppDir, and returns the files and the
// components. Every tarball is verified by its integrity before it is
// read or cached; nothing is written but the download cache.
func Install(ctx context.Context, o Options) (*appdeps.Set, error) {
	if o.LockName == "" {
		o.LockName = "package-lock.json"
	}
	fail := func(err error) (*appdeps.Set, error) { return nil, fmt.Errorf("npm: %s: %w", o.LockName, err) }
	if o.AppDir == "" {
		o.AppDir = DefaultAppDir
	}
	if !path.IsAbs(o.AppDir) {
		return fail(fmt.Errorf("app directory %q is not an absolute path", o.AppDir))
	}
	o.AppDir = path.Clean(o.AppDir)
	if o.AppDir == "/" {
		return fail(errors.New("the app directory cannot be /"))
	}
	if o.Platform.OS == "" {
		o.Platform.OS = "linux"
	}
	if o.Platform.CPU == "" {
		return fail(errors.New("no cpu given for the image"))
	}
	if o.Cache == nil {
		return fail(errors.New("no download cache"))
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = assemble.DefaultMaxFileSize
	}
	if o.MaxTotalSize <= 0 {
		o.MaxTotalSize = assemble.DefaultMaxImageSize
	}
	if o.MaxTarballSize <= 0 {
		o.MaxTarballSize = DefaultMaxTarball
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	var registry *url.URL
	if o.Registry != "" {
		r, err := url.Parse(o.Registry)
		if err != nil || (r.Scheme != "https" && r.Scheme != "http") || r.Host == "" {
			return fail(fmt.Errorf("registry %q is not an http(s) URL", o.Registry))
		}
		if !strings.HasSuffix(r.Path, "/") {
			r.Path += "/"
		}
		registry = r
	}

	lf, err := parseLock(o.Lock)
	if err != nil {
		return fail(err)
	}
	t, err := buildTree(lf)
	if err != nil {
		return fail(err)
	}
	if err := t.markInert(o.Platform); err != nil {
		return fail(err)
	}

	var todo []*pkgInstall
	var bundled []*node
	for _, n := range t.order {
		e := n.e
		if omitted(e) || n.inert {
			continue
		}
		if e.Link {
			return fail(fmt.Errorf("%s is a link to %q: linked and workspace packages are not installed, only registry tarballs", n.loc, e.Resolved))
		}
		if e.InBundle {
			bundled = append(bundled, n)
			continue
		}
		resolved := e.Resolved
		if resolved == "" && e.Version != "" {
			// npm's omit-lockfile-registry-resolved: a registry package
			// without its URL is fetched from the registry's usual place.
			if resolved, err = registryTarball(n, registry); err != nil {
				return fail(fmt.Errorf("%s: %w", n.loc, err))
			}
		}
		src, err := sourceURL(resolved, registry)
		if err != nil {
			return fail(fmt.Errorf("%s (%s@%s): %w", n.loc, n.name, e.Version, err))
		}
		if e.Integrity == "" {
			return fail(fmt.Errorf("%s (%s@%s): no integrity: the tarball cannot be verified", n.loc, n.name, e.Version))
		}
		in, err := parseIntegrity(e.Integrity)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", n.loc, err))
		}
		todo = append(todo, &pkgInstall{n: n, url: src, in: in})
	}

	b := newBudget(o.MaxTotalSize)
	if err := fetchAll(ctx, o, todo, b); err != nil {
		return fail(err)
	}
	return layout(o, t, todo, bundled)
}

// sourceURL checks a resolved URL (http or https only: file:, git,
// link: and other sources are refused) and moves it to the configured
// registry.
func sourceURL(resolved string, registry *url.URL) (string, error) {
	if resolved == "" {
		return "", errors.New("no resolved URL")
	}
	u, err := url.Parse(resolved)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("resolved %q is not a URL", resolved)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("resolved %q is a %s: source: only registry tarballs (http or https, with an integrity) are installed; file:, git, link: and workspace sources are not", resolved, u.Scheme)
	}
	if u.Host == "" || u.User != nil {
		return "", fmt.Errorf("resolved %q is not a plain http(s) URL", resolved)
	}
	if registry != nil && u.Host == "registry.npmjs.org" {
		r := *registry
		r.Path = registry.Path + strings.TrimPrefix(u.Path, "/")
		r.RawPath = ""
		r.RawQuery = u.RawQuery
		return r.String(), nil
	}
	return u.String(), nil
}

// registryTarball is where a registry keeps a package's tarball:
// <registry>/<name>/-/<unscoped name>-<version>.tgz.
func registryTarball(n *node, registry *url.URL) (string, error) {
	name := n.e.Name
	if name == "" {
		name = n.name
	}
	if err := checkName(name); err != nil {
		return "", err
	}
	v := n.e.Version
	if strings.Trim(v, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+-") != "" || strings.HasPrefix(v, ".") {
		return "", fmt.Errorf("no resolved URL, and version %q is not a registry version", v)
	}
	base := DefaultRegistry
	if registry != nil {
		base = registry.String()
	}
	_, short, ok := strings.Cut(name, "/")
	if !ok {
		short = name
	}
	return base + name + "/-/" + short + "-" + v + ".tgz", nil
}

// fetchAll gets every tarball (from the cache, or downloaded), verifies
// it by its integrity and unpacks it into memory; a tarball enters the
// cache only once it is verified and unpacked without error.
func fetchAll(ctx context.Context, o Options, todo []*pkgInstall, b *budget) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, o.Parallel)
	for _, p := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if err := fetchOne(ctx, o, p, b); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func fetchOne(ctx context.Context, o Options, p *pkgInstall, b *budget) error {
	what := fmt.Sprintf("%s@%s (%s)", p.n.name, p.n.e.Version, p.url)
	key := p.in.key()
	if data, err := o.Cache.Get(key); err == nil {
		if p.in.check(data) == nil {
			u, err := readTarball(data, what, o.MaxFileSize, b)
			if err != nil {
				return err
			}
			if err := p.matches(u); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			p.u = u
			return nil
		}
		o.Cache.Warn(fmt.Sprintf("cached tarball of %s does not match its integrity; downloading it again", what))
	}
	data, err := o.Cache.Download(ctx, p.url, o.MaxTarballSize)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := p.in.check(data); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	u, err := readTarball(data, what, o.MaxFileSize, b)
	if err != nil {
		return err
	}
	if err := p.matches(u); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	p.u = u
	if err := o.Cache.Put(key, data); err != nil {
		return fmt.Errorf("%s: cache: %w", what, err)
	}
	return nil
}

// matches checks that a tarball is the package the lockfile names: its
// package.json's name (the lockfile's name for an alias, else the
// folder's) and version (as semver.clean reads it: no "v" or "=", no
// spaces). An integrity that names another package's tarball would
// otherwise install it under this one's name.
func (p *pkgInstall) matches(u *unpacked) error {
	name := p.n.e.Name
	if name == "" {
		name = p.n.name
	}
	clean := func(v string) string { return strings.TrimLeft(strings.TrimSpace(v), "=v") }
	if u.pkg.Name != name || clean(u.pkg.Version) != clean(p.n.e.Version) {
		return fmt.Errorf("the tarball holds %s@%s, not %s@%s", u.pkg.Name, u.pkg.Version, name, p.n.e.Version)
	}
	return nil
}

// layout places the unpacked packages at their lockfile paths under the
// app directory, links their bins (node_modules/.bin, relative, the
// first package in npm's order winning a name, targets made executable)
// and lists the components.
func layout(o Options, t *tree, todo []*pkgInstall, bundled []*node) (*appdeps.Set, error) {
	set := &appdeps.Set{Name: "npm"}
	files := map[string]*assemble.File{}
	dirs := map[string]bool{}
	var addDir func(p string)
	addDir = func(p string) {
		if dirs[p] || p == "/" {
			return
		}
		dirs[p] = true
		addDir(path.Dir(p))
	}
	addDir(o.AppDir)
	byLoc := map[string]*pkgInstall{}
	var scripts []string
	for _, p := range todo {
		byLoc[p.n.loc] = p
		base := path.Join(o.AppDir, p.n.loc)
		addDir(base)
		for _, m := range p.u.files {
			fp := path.Join(base, m.rel)
			if _, ok := files[fp]; ok {
				return nil, fmt.Errorf("%s: %s is also a file of another package", p.n.loc, fp)
			}
			addDir(path.Dir(fp))
			files[fp] = &assemble.File{Path: fp, Mode: m.mode, Data: m.data}
		}
		if s := p.u.pkg.installScripts(); len(s) > 0 || p.n.e.HasInstallScript {
			if len(s) == 0 {
				s = []string{"hasInstallScript in the lockfile"}
			}
			scripts = append(scripts, fmt.Sprintf("%s@%s (%s)", p.n.name, p.n.e.Version, strings.Join(s, "; ")))
		}
	}
	// Files below a bundled dependency come with its parent's tarball.
	for _, n := range bundled {
		if n.e.HasInstallScript {
			scripts = append(scripts, fmt.Sprintf("%s@%s (bundled; hasInstallScript in the lockfile)", n.name, n.e.Version))
		}
	}
	for f := range files {
		if dirs[f] {
			return nil, fmt.Errorf("%s is a file of one package and a directory of another", f)
		}
	}

	// Bins, in npm's order: shallow packages first, then by path.
	links := map[string]bool{}
	installed := append([]*node{}, bundled...)
	for _, p := range todo {
		installed = append(installed, p.n)
	}
	sort.Slice(installed, func(i, j int) bool {
		a, b := installed[i], installed[j]
		if a.depth != b.depth {
			return a.depth < b.depth
		}
		return a.loc < b.loc
	})
	for _, n := range installed {
		// npm links the bins the lockfile lists (arborist's node.package
		// is the lockfile's entry), not the unpacked package.json's.
		bm := bins(n.e.Bin, n.name)
		names := make([]string, 0, len(bm))
		for k := range bm {
			names = append(names, k)
		}
		sort.Strings(names)
		nm := path.Dir(n.loc)
		if strings.HasPrefix(n.name, "@") {
			nm = path.Dir(nm)
		}
		binDir := path.Join(o.AppDir, nm, ".bin")
		for _, name := range names {
			target := path.Join(o.AppDir, n.loc, bm[name])
			to := path.Join(binDir, name)
			f, ok := files[target]
			if !ok || links[to] {
				continue // npm skips a bin its package lacks, and never links one name twice
			}
			if _, clash := files[to]; clash || dirs[to] {
				return nil, fmt.Errorf("%s: bin %q: %s is a package file", n.loc, name, to)
			}
			links[to] = true
			addDir(binDir)
			rel := relPath(binDir, target)
			files[to] = &assemble.File{Path: to, Mode: fs.ModeSymlink | 0o777, Link: rel}
			f.Mode = 0o755
			f.Data = fixHashbang(f.Data)
		}
	}

	for d := range dirs {
		set.Files = append(set.Files, assemble.File{Path: d, Mode: fs.ModeDir | 0o755})
	}
	for _, f := range files {
		set.Files = append(set.Files, *f)
	}
	sort.Slice(set.Files, func(i, j int) bool { return set.Files[i].Path < set.Files[j].Path })

	seen := map[string]bool{}
	for _, n := range installed {
		c := appdeps.Component{Type: "npm", Name: n.e.Name, Version: n.e.Version}
		if c.Name == "" {
			c.Name = n.name
		}
		if p := byLoc[n.loc]; p != nil {
			if p.u.pkg.Name != "" {
				c.Name = p.u.pkg.Name
			}
			if p.u.pkg.Version != "" {
				c.Version = p.u.pkg.Version
			}
			c.License = p.u.pkg.license()
			c.Hash = p.in.raw
			c.Source = p.url
		} else {
			c.License = licenseOf(n.e.License)
			c.Source = "bundled"
		}
		if c.License != "" && !packages.ValidLicenseExpression(c.License) && strings.ContainsAny(c.License, "\n\r\t") {
			c.License = strings.Join(strings.Fields(c.License), " ")
		}
		c.PURL = purl(c.Name, c.Version)
		k := c.Name + "@" + c.Version + " " + c.Hash
		if seen[k] {
			continue
		}
		seen[k] = true
		set.Components = append(set.Components, c)
	}
	sort.Slice(set.Components, func(i, j int) bool {
		a, b := set.Components[i], set.Components[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Version < b.Version
	})
	if len(scripts) > 0 {
		sort.Strings(scripts)
		set.Warnings = append(set.Warnings, fmt.Sprintf("install scripts not run (the layout is npm ci --ignore-scripts's); the packages that declare them may need what those scripts make: %s", strings.Join(scripts, ", ")))
	}
	return set, nil
}

// purl is a package's package URL: pkg:npm/%40scope/name@version.
func purl(name, version string) string {
	ns, n := "", name
	if i := strings.Index(name, "/"); i > 0 && strings.HasPrefix(name, "@") {
		ns, n = name[:i], name[i+1:]
	}
	return packageurl.NewPackageURL("npm", ns, n, version, nil, "").ToString()
}

// relPath is target relative to dir (both absolute and clean).
func relPath(dir, target string) string {
	d := strings.Split(strings.TrimPrefix(dir, "/"), "/")
	t := strings.Split(strings.TrimPrefix(target, "/"), "/")
	i := 0
	for i < len(d) && i < len(t) && d[i] == t[i] {
		i++
	}
	var parts []string
	for range d[i:] {
		parts = append(parts, "..")
	}
	return strings.Join(append(parts, t[i:]...), "/")
}

// fixHashbang is bin-links' dos2unix of a bin's first line: a "#!" line
// ending in CRLF loses the CR.
func fixHashbang(data []byte) []byte {
	if len(data) < 2 || data[0] != '#' || data[1] != '!' {
		return data
	}
	i := strings.IndexByte(string(data), '\n')
	if i < 1 || data[i-1] != '\r' {
		return data
	}
	out := make([]byte, 0, len(data)-1)
	out = append(out, data[:i-1]...)
	return append(out, data[i:]...)
}
