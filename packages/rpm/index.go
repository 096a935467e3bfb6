package rpm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/decompress"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// Repo is one RPM repository.
type Repo struct {
	// Name identifies it in messages and as the Origin of its packages
	// (baseos, appstream, updates…).
	Name string
	// URL is its base URL, the directory holding repodata/.
	URL string
}

// Spec describes an RPM-format distro to open: the union of its
// repositories for one architecture.
type Spec struct {
	Name  string // for messages
	Repos []Repo
	// Keyring holds the keys that sign the repositories' repomd.xml (or,
	// with UnsignedMetadata, their packages).
	Keyring openpgp.EntityList
	// UnsignedMetadata says the repositories publish no repomd.xml.asc:
	// repomd.xml is then accepted as the server sends it, so every URL
	// must be https, and the packages' own signatures must be checked
	// (Payload.Keyring). Without it, repomd.xml.asc must verify with
	// Keyring.
	UnsignedMetadata bool
	// Arch is the target architecture in rpm's spelling (x86_64,
	// aarch64, …); packages of that architecture and noarch are loaded.
	Arch string
	// Now is the time key expiry is checked against; zero means now.
	Now time.Time
	// RefreshAfter is how old a cached repomd.xml may be before an
	// online Open downloads it again: zero means one hour, negative
	// means always. Offline opens always use the cached copy.
	RefreshAfter time.Duration
}

// Arch maps an OCI architecture name (amd64, arm64, …) to rpm's.
func Arch(oci string) (string, error) {
	switch oci {
	case "amd64":
		return "x86_64", nil
	case "arm64":
		return "aarch64", nil
	case "ppc64le", "s390x", "riscv64":
		return oci, nil
	case "386":
		return "i686", nil
	}
	return "", fmt.Errorf("no rpm architecture for %q", oci)
}

// Cache keys (see packages/fetch): repomd.xml and its signature by URL,
// sidecars by the digest of the primary file they index, module lists
// by the digest of the modules file.
const (
	repomdKeyPrefix    = "rpm/repomd/"
	repomdAscKeyPrefix = "rpm/repomd.asc/"
	sidecarKeyPrefix   = "rpm/primary-index/v1/"
	modulesKeyPrefix   = "rpm/modular-nevras/v1/"
)

// Index is the merged package universe of a Spec's repositories for one
// architecture. It implements packages.Index and is safe for concurrent
// use. The Packages it returns are shared: callers must not modify them.
type Index struct {
	name    string
	arch    string
	repos   []*repoFiles
	sources []packages.IndexFile
	hidden  map[string]bool // NEVRAs of module streams, which are not enabled

	cache *fetch.Cache
	ctx   context.Context // for filelists fetched on demand

	mu       sync.Mutex
	parsed   map[pkgKey]*rpmPkg
	failed   map[pkgKey]bool
	versions map[string][]*rpmPkg
	problems []error

	namesOnce sync.Once
	names     []string
}

type pkgKey struct{ repo, pkg int32 }

// repoFiles is one loaded repository.
type repoFiles struct {
	repo Repo
	md   *repomd
	data []byte // primary.xml, decompressed
	sc   *sidecar
	url  string // of primary, for messages

	flOnce sync.Once
	fl     []byte // filelists.xml, decompressed, once needed
	flErr  error
}

var _ packages.Index = (*Index)(nil)

// Open fetches (or, offline or while fresh, reads from the cache) each
// repository's repomd.xml, verifies it against s.Keyring through
// repomd.xml.asc (unless s.UnsignedMetadata), then loads its primary
// metadata verified against the checksums repomd.xml gives, and the
// module metadata when there is some. Any verification failure is an
// error naming the file, and nothing of that repository is used.
func Open(ctx context.Context, c *fetch.Cache, s Spec) (*Index, error) {
	switch {
	case c == nil:
		return nil, errors.New("rpm.Open: no cache")
	case s.Arch == "":
		return nil, fmt.Errorf("%s: no architecture", s.Name)
	case len(s.Repos) == 0:
		return nil, fmt.Errorf("%s: no repositories", s.Name)
	case len(s.Keyring) == 0:
		return nil, fmt.Errorf("%s: empty keyring", s.Name)
	}
	now := s.Now
	if now.IsZero() {
		now = time.Now()
	}
	for i, r := range s.Repos {
		if r.URL == "" || !(strings.HasPrefix(r.URL, "https://") || strings.HasPrefix(r.URL, "http://") || strings.HasPrefix(r.URL, "file://")) {
			return nil, fmt.Errorf("%s: repository %d (%s): bad URL %q", s.Name, i, r.Name, r.URL)
		}
		if s.UnsignedMetadata && !strings.HasPrefix(r.URL, "https://") {
			return nil, fmt.Errorf("%s: repository %s: %s is not https, and its metadata is not signed", s.Name, r.Name, r.URL)
		}
	}
	ix := &Index{
		name: s.Name, arch: s.Arch, cache: c, ctx: context.WithoutCancel(ctx),
		parsed: map[pkgKey]*rpmPkg{}, failed: map[pkgKey]bool{}, versions: map[string][]*rpmPkg{},
		hidden: map[string]bool{},
	}
	repos := make([]*repoFiles, len(s.Repos))
	unmaps := make([]func(), len(s.Repos))
	hidden := make([][]string, len(s.Repos))
	errs := make([]error, len(s.Repos))
	var wg sync.WaitGroup
	for i, r := range s.Repos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			repos[i], unmaps[i], hidden[i], errs[i] = loadRepo(ctx, c, s, r, now)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, u := range unmaps {
			if u != nil {
				u()
			}
		}
		return nil, err
	}
	ix.repos = repos
	for i, rf := range repos {
		ix.sources = append(ix.sources, packages.IndexFile{URL: rf.md.URL, SHA256: rf.md.SHA256})
		e := rf.md.Data["primary"]
		ix.sources = append(ix.sources, packages.IndexFile{URL: rf.url, SHA256: e.SHA256})
		for _, n := range hidden[i] {
			ix.hidden[n] = true
		}
	}
	runtime.AddCleanup(ix, func(us []func()) {
		for _, u := range us {
			u()
		}
	}, unmaps)
	return ix, nil
}

func baseURL(r Repo) string { return strings.TrimRight(r.URL, "/") }

// loadRepo loads one repository: its verified repomd.xml, its primary
// file with its sidecar, and the NEVRAs its module metadata lists.
func loadRepo(ctx context.Context, c *fetch.Cache, s Spec, r Repo, now time.Time) (*repoFiles, func(), []string, error) {
	md, err := loadRepomd(ctx, c, s, r, now)
	if err != nil {
		return nil, nil, nil, err
	}
	e, err := md.need("primary")
	if err != nil {
		return nil, nil, nil, err
	}
	rf := &repoFiles{repo: r, md: md, url: baseURL(r) + "/" + e.Href}
	blob, err := metadataBlob(ctx, c, r, e)
	if err != nil {
		return nil, nil, nil, err
	}
	data, unmap, err := fetch.MapFile(blob)
	if err != nil {
		return nil, nil, nil, err
	}
	if e.OpenSize >= 0 && int64(len(data)) != e.OpenSize {
		unmap()
		return nil, nil, nil, fmt.Errorf("%s: decompressed size %d, repomd.xml says %d", rf.url, len(data), e.OpenSize)
	}
	sideKey := sidecarKeyPrefix + e.OpenSHA256
	var sc *sidecar
	if side, err := c.Get(sideKey); err == nil {
		sc, _ = parseSidecar(side, e.OpenSHA256, int64(len(data)))
	}
	if sc == nil {
		side, err := indexPrimary(data, e.OpenSHA256)
		if err != nil {
			unmap()
			return nil, nil, nil, fmt.Errorf("%s: %w", rf.url, err)
		}
		if sc, err = parseSidecar(side, e.OpenSHA256, int64(len(data))); err != nil {
			unmap()
			return nil, nil, nil, fmt.Errorf("%s: %w", rf.url, err)
		}
		_ = c.Put(sideKey, side) // a cache that cannot be written still works
	}
	rf.data, rf.sc = data, sc
	var hidden []string
	if _, ok := md.Data["modules"]; ok {
		if hidden, err = modularNEVRAs(ctx, c, r, md); err != nil {
			unmap()
			return nil, nil, nil, err
		}
	}
	return rf, unmap, hidden, nil
}

// loadRepomd returns a repository's verified repomd.xml.
func loadRepomd(ctx context.Context, c *fetch.Cache, s Spec, r Repo, now time.Time) (*repomd, error) {
	url := baseURL(r) + "/repodata/repomd.xml"
	key, ascKey := repomdKeyPrefix+url, repomdAscKeyPrefix+url
	refresh := s.RefreshAfter
	if refresh == 0 {
		refresh = time.Hour
	}
	verify := func(raw, asc []byte) (*repomd, error) {
		if !s.UnsignedMetadata {
			if err := verifyRepomd(url, raw, asc, s.Keyring, now); err != nil {
				return nil, err
			}
		}
		return parseRepomd(url, raw)
	}
	cached := func() ([]byte, []byte, time.Time, error) {
		raw, at, err := c.GetTime(key)
		if err != nil {
			return nil, nil, at, err
		}
		var asc []byte
		if !s.UnsignedMetadata {
			if asc, err = c.Get(ascKey); err != nil {
				return nil, nil, at, err
			}
		}
		return raw, asc, at, nil
	}
	if c.Offline {
		raw, asc, _, err := cached()
		if err != nil {
			return nil, fmt.Errorf("offline: %s is not in the cache %s (open %s once online first)", url, c.Dir, s.Name)
		}
		return verify(raw, asc)
	}
	if refresh > 0 {
		if raw, asc, at, err := cached(); err == nil && time.Since(at) < refresh && time.Since(at) >= 0 {
			if md, err := verify(raw, asc); err == nil {
				return md, nil
			}
		}
	}
	raw, err := c.Download(ctx, url, maxRepomd)
	if err != nil {
		return nil, err
	}
	var asc []byte
	if !s.UnsignedMetadata {
		if asc, err = c.Download(ctx, url+".asc", maxRepomd); err != nil {
			return nil, fmt.Errorf("%w (the distro definition says its repomd.xml is signed)", err)
		}
	}
	md, err := verify(raw, asc)
	if err != nil {
		return nil, err
	}
	if asc != nil {
		if err := c.Put(ascKey, asc); err != nil {
			return nil, err
		}
	}
	if err := c.Put(key, raw); err != nil {
		return nil, err
	}
	return md, nil
}

// metadataBlob returns the cache path of a metadata file, decompressed,
// downloading it first when needed. Both the download and the
// decompressed bytes are checked against repomd.xml's checksums.
func metadataBlob(ctx context.Context, c *fetch.Cache, r Repo, e *repoData) (string, error) {
	if p, ok := c.Blob(e.OpenSHA256); ok {
		return p, nil
	}
	url := baseURL(r) + "/" + e.Href
	compressed, err := c.Fetch(ctx, url, e.Size, e.SHA256)
	if err != nil {
		return "", err
	}
	if e.Compression == "" {
		return compressed, nil
	}
	f, err := os.Open(compressed)
	if err != nil {
		return "", err
	}
	defer f.Close()
	p, err := c.WriteBlob(e.OpenSHA256, func(w io.Writer) error {
		format, err := metadataFormat(e.Compression)
		if err != nil {
			return err
		}
		rd, err := decompress.Open(f, format)
		if err != nil {
			return err
		}
		defer rd.Close()
		_, err = io.Copy(w, rd)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("%s: decompressing: %w", url, err)
	}
	return p, nil
}

// indexPrimary scans primary.xml and builds its sidecar.
func indexPrimary(data []byte, digest string) ([]byte, error) {
	var pkgs []sidecarPkg
	err := scanPrimary(data, func(off, end int64, x *xmlPackage) error {
		sp := sidecarPkg{off: off, end: end, name: strings.TrimSpace(x.Name), arch: strings.TrimSpace(x.Arch)}
		for _, e := range x.Format.Provides {
			if n := strings.TrimSpace(e.Name); n != "" {
				sp.provides = append(sp.provides, n)
			}
		}
		for _, f := range x.Format.Files {
			if p := strings.TrimSpace(f.Path); strings.HasPrefix(p, "/") {
				sp.files = append(sp.files, p)
			}
		}
		pkgs = append(pkgs, sp)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("primary metadata does not parse: %w", err)
	}
	return buildSidecar(digest, int64(len(data)), pkgs)
}

// Sources lists the files the index was built from: each repository's
// repomd.xml and primary file (as downloaded), with their SHA-256.
func (ix *Index) Sources() []packages.IndexFile { return slices.Clone(ix.sources) }

// Problems returns the errors met so far: packages whose metadata does
// not convert (left out of the index) and file lists that could not be
// loaded.
func (ix *Index) Problems() []error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return slices.Clone(ix.problems)
}

func (ix *Index) archOK(a string) bool { return a == ix.arch || a == "noarch" }

// get parses package i of repository ri, caching the result; nil when it
// does not convert or belongs to a module stream. ix.mu is held.
func (ix *Index) get(ri, i int) *rpmPkg {
	k := pkgKey{int32(ri), int32(i)}
	if p, ok := ix.parsed[k]; ok {
		return p
	}
	if ix.failed[k] {
		return nil
	}
	rf := ix.repos[ri]
	off, end := rf.sc.pkgRange(i)
	p, err := parsePackage(rf.data[off:end], baseURL(rf.repo), rf.repo.Name)
	if err != nil {
		ix.failed[k] = true
		ix.problems = append(ix.problems, fmt.Errorf("%s: %w", rf.url, err))
		return nil
	}
	if ix.hidden[p.nevra] {
		ix.failed[k] = true
		return nil
	}
	ix.parsed[k] = p
	return p
}

// versionsOf returns the packages called name of the target
// architecture or noarch, newest first (the target architecture before
// noarch at equal versions; the first repository's copy of a NEVRA
// several carry). ix.mu is held.
func (ix *Index) versionsOf(name string) []*rpmPkg {
	if v, ok := ix.versions[name]; ok {
		return v
	}
	var out []*rpmPkg
	seen := map[string]bool{}
	for ri, rf := range ix.repos {
		for _, i := range rf.sc.named(name) {
			if !ix.archOK(rf.sc.arch(i)) {
				continue
			}
			p := ix.get(ri, i)
			if p == nil || seen[p.nevra] {
				continue
			}
			seen[p.nevra] = true
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if c := compareEVR(out[a].evr, out[b].evr); c != 0 {
			return c > 0
		}
		return out[a].pkg.Arch != "noarch" && out[b].pkg.Arch == "noarch"
	})
	ix.versions[name] = out
	return out
}

// Lookup returns the package called name that the index would install
// (its newest version), or nil: packages.Lookup's answer, without
// gathering providers (it implements packages.Looker).
func (ix *Index) Lookup(name string) *packages.Package {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if v := ix.versionsOf(name); len(v) > 0 {
		return v[0].pkg
	}
	return nil
}

// Satisfiers returns the packages that satisfy a, with rpm's semantics:
// first the packages called a.Name whose version meets the relation,
// newest first; then the packages that provide a.Name (for a path, that
// own the file: primary lists some files, filelists is read for the
// others) with a Provides that meets the relation (an unversioned
// Provides meets every relation, as in rpm). Providers come grouped by
// name, the group with the smallest installed size first (so the minimal
// variant, e.g. glibc-minimal-langpack, is preferred), each newest
// first. a.Arch is not used.
func (ix *Index) Satisfiers(a packages.Atom) []*packages.Package {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	reqFlags, ok := senseOf(a.Op)
	if !ok {
		return nil
	}
	var want EVR
	if a.Op != "" {
		var err error
		if want, err = ParseEVR(a.Version); err != nil {
			return nil
		}
	}
	var out []*packages.Package
	for _, p := range ix.versionsOf(a.Name) {
		if overlaps(senseEqual, p.evr, reqFlags, want) {
			out = append(out, p.pkg)
		}
	}
	// Providers, by name.
	type group struct {
		name string
		size int64
		pkgs []*rpmPkg
	}
	groups := map[string]*group{}
	consider := func(p *rpmPkg, ok bool) {
		if !ok || p.pkg.Name == a.Name {
			return
		}
		g := groups[p.pkg.Name]
		if g == nil {
			g = &group{name: p.pkg.Name, size: -1}
			groups[p.pkg.Name] = g
		}
		if !slices.Contains(g.pkgs, p) {
			g.pkgs = append(g.pkgs, p)
		}
	}
	isPath := strings.HasPrefix(a.Name, "/")
	for ri, rf := range ix.repos {
		for _, i := range rf.sc.providers(a.Name) {
			if !ix.archOK(rf.sc.arch(i)) {
				continue
			}
			p := ix.get(ri, i)
			consider(p, p != nil && p.providesRel(a.Name, reqFlags, want))
		}
		if isPath {
			for _, i := range rf.sc.fileOwners(a.Name) {
				if !ix.archOK(rf.sc.arch(i)) {
					continue
				}
				p := ix.get(ri, i)
				consider(p, p != nil)
			}
		}
	}
	if isPath && len(out) == 0 && len(groups) == 0 {
		// Not in primary's file lists: read filelists.
		for ri := range ix.repos {
			for _, p := range ix.filelistOwners(ri, a.Name) {
				consider(p, true)
			}
		}
	}
	var gs []*group
	for _, g := range groups {
		// Only the versions the index would consider for that name (a
		// provider hidden by a module stream is not one).
		vs := ix.versionsOf(g.name)
		g.pkgs = slices.DeleteFunc(g.pkgs, func(p *rpmPkg) bool { return !slices.Contains(vs, p) })
		if len(g.pkgs) == 0 {
			continue
		}
		sort.SliceStable(g.pkgs, func(x, y int) bool { return slices.Index(vs, g.pkgs[x]) < slices.Index(vs, g.pkgs[y]) })
		g.size = g.pkgs[0].pkg.InstalledSize
		gs = append(gs, g)
	}
	sort.Slice(gs, func(x, y int) bool {
		if gs[x].size != gs[y].size {
			return gs[x].size < gs[y].size
		}
		return gs[x].name < gs[y].name
	})
	for _, g := range gs {
		for _, p := range g.pkgs {
			out = append(out, p.pkg)
		}
	}
	return out
}

// providesRel reports whether one of p's Provides of name overlaps the
// requirement (rf, want).
func (p *rpmPkg) providesRel(name string, rf int, want EVR) bool {
	for _, pr := range p.provides {
		if pr.name == name && overlaps(pr.flags, pr.evr, rf, want) {
			return true
		}
	}
	return false
}

// Names returns every real package name of the target architecture or
// noarch, sorted.
func (ix *Index) Names() []string {
	ix.namesOnce.Do(func() {
		var names []string
		for _, rf := range ix.repos {
			for i := 0; i < rf.sc.n; i++ {
				j := rf.sc.sortedName(i)
				if ix.archOK(rf.sc.arch(j)) {
					if n := rf.sc.name(j); CheckName(n) == nil && (len(names) == 0 || names[len(names)-1] != n) {
						names = append(names, n)
					}
				}
			}
		}
		slices.Sort(names)
		ix.names = slices.Compact(names)
	})
	return slices.Clone(ix.names)
}
