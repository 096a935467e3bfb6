package deb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// Suite is one suite of a Debian-format archive.
type Suite struct {
	// Mirror is the archive's base URL, the directory holding dists/ and
	// pool/ (no trailing slash needed).
	Mirror string
	// Name is the suite's directory under dists/, e.g. bookworm,
	// bookworm-updates, bookworm-security.
	Name string
	// Components to load; empty means main.
	Components []string
}

// Spec describes a Debian-format distro to open.
type Spec struct {
	Name   string // for messages
	Suites []Suite
	// Keyring holds the keys the suites' InRelease files must be signed
	// with.
	Keyring openpgp.EntityList
	// Arch is the target architecture (amd64, arm64, …); packages of that
	// architecture and of "all" are loaded.
	Arch string
	// Now is the time Valid-Until and key expiry are checked against;
	// zero means time.Now().
	Now time.Time
	// IgnoreValidUntil accepts InRelease files whose Valid-Until has
	// passed (e.g. to rebuild from a snapshot).
	IgnoreValidUntil bool
	// RefreshAfter is how old a cached, still valid InRelease may be
	// before an online Open downloads it again: zero means one hour,
	// negative means always. Offline opens always use the cached copy.
	RefreshAfter time.Duration
	// Defer makes Open stop once the InRelease files are verified: the
	// Packages files they name (Sources lists them) are loaded by Load,
	// or by the first use of the index. A caller that already knows what
	// it wants of these exact files (a resolution kept under their
	// digests) then never reads them.
	Defer bool
}

// Index is the merged package universe of a Spec's suites for one
// architecture. It implements packages.Index and is safe for concurrent
// use. The Packages it returns are shared: callers must not modify them.
type Index struct {
	name    string
	arch    string
	files   []*pkgFile
	sources []packages.IndexFile

	mu       sync.Mutex
	parsed   map[stanzaKey]*debPkg
	failed   map[stanzaKey]bool
	best     map[string]*debPkg
	byPkg    map[*packages.Package]*debPkg
	problems []error
	damaged  error // lazy.go

	namesOnce sync.Once
	names     []string

	// pending are the Packages files a deferred Open has yet to load
	// (Load), from cache.
	loadMu  sync.Mutex
	pending []*fileJob
	cache   *fetch.Cache

	// contents are the Contents-ARCH files the suites' InRelease files
	// list (FindFiles, contents.go); fetched from contentsCache.
	contents      []contentsFile
	contentsCache *fetch.Cache
}

type stanzaKey struct{ file, stanza int32 }

// pkgFile is one loaded Packages file.
type pkgFile struct {
	origin string // suite name
	mirror string
	url    string // of the uncompressed Packages file, for messages
	data   []byte
	sc     *sidecar
	// lazy: data was not hashed as a whole when opened; each stanza is
	// checked against the sidecar's digest before it is parsed (lazy.go).
	lazy  bool
	blob  string // the cached file, named when found damaged
	evict func() // removes it
}

var _ packages.Index = (*Index)(nil)

const inReleaseKeyPrefix = "deb/InRelease/"
const sidecarKeyPrefix = "deb/packages-index/v2/"

// Open fetches (or, offline or while fresh, reads from the cache) each
// suite's InRelease, verifies its signature against s.Keyring and its
// Valid-Until, then loads the Packages file of every component for s.Arch,
// verified against the InRelease checksums. Any verification failure is
// an error naming the file.
func Open(ctx context.Context, c *fetch.Cache, s Spec) (*Index, error) {
	switch {
	case c == nil:
		return nil, errors.New("deb.Open: no cache")
	case s.Arch == "":
		return nil, fmt.Errorf("%s: no architecture", s.Name)
	case len(s.Suites) == 0:
		return nil, fmt.Errorf("%s: no suites", s.Name)
	case len(s.Keyring) == 0:
		return nil, fmt.Errorf("%s: empty keyring", s.Name)
	}
	now := s.Now
	if now.IsZero() {
		now = time.Now()
	}

	rels := make([]*release, len(s.Suites))
	errs := make([]error, len(s.Suites))
	var wg sync.WaitGroup
	for i, su := range s.Suites {
		if su.Mirror == "" || su.Name == "" || strings.Contains(su.Name, "..") {
			return nil, fmt.Errorf("%s: suite %d: bad mirror %q or name %q", s.Name, i, su.Mirror, su.Name)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rels[i], errs[i] = loadRelease(ctx, c, s, su, now)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	ix := &Index{
		name:   s.Name,
		arch:   s.Arch,
		parsed: map[stanzaKey]*debPkg{},
		failed: map[stanzaKey]bool{},
		best:   map[string]*debPkg{},
		byPkg:  map[*packages.Package]*debPkg{},
	}
	var jobs []*fileJob
	for i, su := range s.Suites {
		rel := rels[i]
		ix.sources = append(ix.sources, packages.IndexFile{URL: rel.URL, SHA256: rel.SHA256})
		comps := su.Components
		if len(comps) == 0 {
			comps = []string{"main"}
		}
		for _, comp := range comps {
			j, err := planFile(su, rel, comp+"/binary-"+s.Arch+"/Packages")
			if err != nil {
				return nil, err
			}
			jobs = append(jobs, j)
			all := comp + "/binary-all/Packages"
			// As apt: binary-all is a separate index only when the suite
			// lists "all" among its Architectures and does not say its
			// binary-<arch> indexes already hold the "all" packages.
			if _, listed := rel.Files[all]; listed && s.Arch != "all" &&
				slices.Contains(strings.Fields(rel.Fields["Architectures"]), "all") &&
				strings.TrimSpace(rel.Fields["No-Support-for-Architecture-all"]) != "Packages" {
				j, err := planFile(su, rel, all)
				if err != nil {
					return nil, err
				}
				jobs = append(jobs, j)
			}
		}
	}
	for _, j := range jobs {
		ix.sources = append(ix.sources, packages.IndexFile{URL: j.fetchURL, SHA256: j.fetched.SHA256})
	}
	ix.contents, ix.contentsCache = planContents(s, rels), c
	if s.Defer {
		ix.pending, ix.cache = jobs, c
		return ix, nil
	}
	if err := ix.load(ctx, c, jobs); err != nil {
		return nil, err
	}
	return ix, nil
}

// Loaded reports whether the index's Packages files are loaded (always,
// but after an Open with Spec.Defer and before Load or a use).
func (ix *Index) Loaded() bool {
	ix.loadMu.Lock()
	defer ix.loadMu.Unlock()
	return ix.pending == nil
}

// Load loads the Packages files of an index opened with Spec.Defer,
// verified as Open verifies them; it does nothing for a loaded index.
// An index that could not be loaded stays unloaded: Load may be called
// again.
func (ix *Index) Load(ctx context.Context) error {
	ix.loadMu.Lock()
	defer ix.loadMu.Unlock()
	if ix.pending == nil {
		return nil
	}
	if err := ix.load(ctx, ix.cache, ix.pending); err != nil {
		return err
	}
	ix.pending, ix.cache = nil, nil
	return nil
}

// ensure loads a deferred index on its first use; a failure is one of
// its Problems, and the index is then empty.
func (ix *Index) ensure() {
	if !ix.Loaded() {
		if err := ix.Load(context.Background()); err != nil {
			ix.mu.Lock()
			ix.problems = append(ix.problems, err)
			ix.mu.Unlock()
		}
	}
}

// load loads the Packages files jobs name.
func (ix *Index) load(ctx context.Context, c *fetch.Cache, jobs []*fileJob) error {
	var wg sync.WaitGroup
	files := make([]*pkgFile, len(jobs))
	unmaps := make([]func(), len(jobs))
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			files[i], unmaps[i], errs[i] = loadPackagesFile(ctx, c, j)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, u := range unmaps {
			if u != nil {
				u()
			}
		}
		return err
	}
	ix.files = files
	runtime.AddCleanup(ix, func(us []func()) {
		for _, u := range us {
			u()
		}
	}, unmaps)
	return nil
}

func loadRelease(ctx context.Context, c *fetch.Cache, s Spec, su Suite, now time.Time) (*release, error) {
	url := strings.TrimRight(su.Mirror, "/") + "/dists/" + su.Name + "/InRelease"
	key := inReleaseKeyPrefix + url
	refresh := s.RefreshAfter
	if refresh == 0 {
		refresh = time.Hour
	}
	verify := func(raw []byte) (*release, error) {
		rel, err := verifyInRelease(url, raw, s.Keyring, now, s.IgnoreValidUntil)
		if err != nil {
			return nil, err
		}
		// Refuse a validly signed InRelease of another suite (a replay).
		suite, code := strings.TrimSpace(rel.Fields["Suite"]), strings.TrimSpace(rel.Fields["Codename"])
		if (suite != "" || code != "") && su.Name != suite && su.Name != code {
			return nil, fmt.Errorf("%s: is for suite %q (codename %q), not %q", url, suite, code, su.Name)
		}
		return rel, nil
	}
	if c.Offline {
		raw, err := c.Get(key)
		if err != nil {
			return nil, fmt.Errorf("offline: %s is not in the cache %s (open %s once online first)", url, c.Dir, s.Name)
		}
		return verify(raw)
	}
	if refresh > 0 {
		if raw, at, err := c.GetTime(key); err == nil && time.Since(at) < refresh && time.Since(at) >= 0 {
			if rel, err := verify(raw); err == nil {
				return rel, nil
			}
		}
	}
	raw, err := c.Download(ctx, url, maxInRelease)
	if err != nil {
		return nil, err
	}
	rel, err := verify(raw)
	if err != nil {
		return nil, err
	}
	if err := c.Put(key, raw); err != nil {
		return nil, err
	}
	return rel, nil
}

// fileJob is one Packages file to load.
type fileJob struct {
	suite    Suite
	unpacked releaseEntry // the uncompressed Packages file
	url      string       // of the uncompressed file
	fetched  releaseEntry // the variant downloaded
	kind     string       // its compression: gz, xz or ""
	fetchURL string
	byHash   string // acquire-by-hash URL, when the suite offers it
}

func planFile(su Suite, rel *release, p string) (*fileJob, error) {
	base := strings.TrimRight(su.Mirror, "/") + "/dists/" + su.Name + "/"
	unpacked, ok := rel.Files[p]
	if !ok {
		return nil, fmt.Errorf("%s lists no %s (no such component or architecture in %s?)", rel.URL, p, su.Name)
	}
	j := &fileJob{suite: su, unpacked: unpacked, url: base + p}
	for _, kind := range []string{"gz", "xz", ""} {
		name := p
		if kind != "" {
			name += "." + kind
		}
		if e, ok := rel.Files[name]; ok {
			j.fetched, j.kind, j.fetchURL = e, kind, base+name
			if rel.AcquireByHash {
				j.byHash = base + path.Dir(p) + "/by-hash/SHA256/" + e.SHA256
			}
			break
		}
	}
	return j, nil
}

func loadPackagesFile(ctx context.Context, c *fetch.Cache, j *fileJob) (*pkgFile, func(), error) {
	pf := &pkgFile{origin: j.suite.Name, mirror: strings.TrimRight(j.suite.Mirror, "/"), url: j.url}
	sideKey := sidecarKeyPrefix + j.unpacked.SHA256
	if release, ok := openLazy(c, j, pf, sideKey); ok {
		return pf, release, nil
	}

	if p, ok := c.Blob(j.unpacked.SHA256); ok {
		data, unmap, err := fetch.MapFile(p)
		if err == nil && int64(len(data)) == j.unpacked.Size {
			if side, unmapSide, err := c.MapNamed(sideKey); err == nil {
				if sc, err := parseSidecar(side, j.unpacked.SHA256, j.unpacked.Size); err == nil {
					pf.data, pf.sc = data, sc
					return pf, func() { unmap(); unmapSide() }, nil
				}
				unmapSide()
			}
			side, err := buildSidecar(data, j.unpacked.SHA256)
			if err == nil {
				var sc *sidecar
				if sc, err = parseSidecar(side, j.unpacked.SHA256, j.unpacked.Size); err == nil {
					_ = c.Put(sideKey, side) // a cache that cannot be written still works
					pf.data, pf.sc = data, sc
					return pf, unmap, nil
				}
			}
		}
		if err == nil {
			unmap()
			// A damaged blob: fetch it again when we can.
			if !c.Offline {
				os.Remove(p)
			}
		}
	}

	var compressed string
	var err error
	if j.byHash != "" {
		compressed, err = c.Fetch(ctx, j.byHash, j.fetched.Size, j.fetched.SHA256)
	}
	if j.byHash == "" || (err != nil && !c.Offline) {
		compressed, err = c.Fetch(ctx, j.fetchURL, j.fetched.Size, j.fetched.SHA256)
	}
	if err != nil {
		return nil, nil, err
	}
	var blob string
	var side []byte
	if j.kind == "" {
		// Fetched uncompressed: the blob is the file itself.
		data, rerr := os.ReadFile(compressed)
		if rerr != nil {
			return nil, nil, rerr
		}
		blob = compressed
		if side, err = buildSidecar(data, j.unpacked.SHA256); err != nil {
			return nil, nil, fmt.Errorf("%s: %v", j.url, err)
		}
	} else {
		blob, side, err = indexPackages(c, compressed, j.kind, j.unpacked, j.fetchURL)
		if err != nil {
			return nil, nil, err
		}
	}
	sc, err := parseSidecar(side, j.unpacked.SHA256, j.unpacked.Size)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", j.url, err)
	}
	_ = c.Put(sideKey, side)
	data, unmap, err := fetch.MapFile(blob)
	if err != nil {
		return nil, nil, err
	}
	if int64(len(data)) != j.unpacked.Size {
		unmap()
		return nil, nil, fmt.Errorf("%s: cached copy changed size", j.url)
	}
	pf.data, pf.sc = data, sc
	return pf, unmap, nil
}

// Sources lists the files the index was built from: each suite's InRelease
// and the Packages files (as downloaded), with their SHA-256 digests.
func (ix *Index) Sources() []packages.IndexFile { return slices.Clone(ix.sources) }

// Problems returns the errors met so far while parsing stanzas: a stanza
// that does not parse is left out of the index and reported here.
func (ix *Index) Problems() []error {
	ix.ensure()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return slices.Clone(ix.problems)
}
