package distroless

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/pipeline"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/publish"
	"github.com/distroless-dev/distroless/releasefile"
	"github.com/distroless-dev/distroless/sbom"
)

// ReleaseOptions are the settings of a release: gen's, which every
// image of the matrix is built with (Parallel, the size limits,
// SBOMFormat, Signer, BuilderID, Argv, Registry and Progress; the
// release file gives each image's profile, distro, platforms, user,
// settings, CA certificates and lockfile, and its tags the outputs), and
// a release's own.
type ReleaseOptions struct {
	pipeline.GenOptions
	// DryRun builds (or, when the lockfile and the registry say nothing
	// changed, skips) every image and reports what would be pushed,
	// pushing nothing and writing no lockfile.
	DryRun bool
	// Date is {date} in tag templates; "" = today (UTC), as 20060102.
	Date string
	// Shard K of Shards (1-based; Shards 0: the whole matrix) builds and
	// pushes only its part of the matrix's platform images
	// (release_shard.go); Finish makes the images from the shards'. Both
	// build what the lockfile pins, resolving nothing.
	Shard, Shards int
	Finish        bool

	sc     *pipeline.SupplyChain
	format sbom.Format
	path   string // the release file

	caCerts []string // the release file's ca-certs, resolved
}

// ReleasedImage is one image of a release and what became of it.
type ReleasedImage struct {
	Name      string   `json:"name"`
	Profile   string   `json:"profile"` // the profile built (python3.13, python3.13-debug)
	Distro    string   `json:"distro"`
	Platforms []string `json:"platforms"`
	User      string   `json:"user"`
	Debug     bool     `json:"debug"`
	Variant   string   `json:"variant"`
	// Digest is the manifest's (one platform) or the index's (several).
	Digest string   `json:"digest"`
	Tags   []string `json:"tags"`
	// Status is "pushed" (some tag did not hold the digest and now does),
	// "unchanged" (every tag held it; nothing was uploaded) or, with
	// --dry-run, "would push".
	Status string `json:"status"`
	// Pushed are the tags that were (or would be) set.
	Pushed []string `json:"pushed,omitempty"`
	// Built says the image was assembled in this run (false: the registry
	// held the digest its inputs gave last time at every tag).
	Built    bool     `json:"built"`
	Warnings []string `json:"warnings,omitempty"`
}

// ReleaseResult is what a release did.
type ReleaseResult struct {
	File   string          `json:"file"`
	Lock   string          `json:"lock"`
	Locked []string        `json:"locked,omitempty"` // profiles resolved and added to the lockfile
	Images []ReleasedImage `json:"images"`
}

func init() {
	// A release file's platforms are gen's: every architecture it builds.
	releasefile.ParsePlatform = func(p string) (string, error) {
		if strings.Contains(p, ",") {
			return "", fmt.Errorf("%q: one platform per list item", p)
		}
		as, err := pipeline.ParseArchList(p)
		if err != nil {
			return "", err
		}
		if len(as) != 1 {
			return "", fmt.Errorf("%q: empty platform", p)
		}
		return as[0], nil
	}
}

// releaseUsage checks a release file and its matrix without touching the
// network: the images it would build, in order.
func releaseUsage(path, date string) (*releasefile.File, []releasefile.Image, error) {
	f, err := releasefile.Load(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, &pipeline.UsageError{Err: err}
		}
		return nil, nil, err
	}
	if date == "" {
		date = time.Now().UTC().Format("20060102")
	}
	ims, err := releasefile.Expand(f, releasefile.Env{Date: date, Distro: distroVars})
	if err != nil {
		return nil, nil, err
	}
	for _, im := range ims {
		if im.ProfileFile == "" {
			if _, _, err := profiles.Find(im.Profile); err != nil {
				return nil, nil, fmt.Errorf("release file %s: line %d: %w", path, im.Line, err)
			}
		}
	}
	return f, ims, nil
}

// distroVars are what tag templates may say of a distro: {distro} is
// ID+VERSION_ID of its os-release (debian13), else ID-CODENAME
// (debian-sid), else its name with ":" as "-".
func distroVars(n string) (releasefile.DistroVars, error) {
	d, err := distro.Find(n)
	if err != nil {
		return releasefile.DistroVars{}, err
	}
	v := releasefile.DistroVars{ID: d.OSRelease["ID"], Version: d.OSRelease["VERSION_ID"], Codename: d.OSRelease["VERSION_CODENAME"]}
	switch {
	case v.ID != "" && v.Version != "":
		v.Tag = v.ID + v.Version
	case v.ID != "" && v.Codename != "":
		v.Tag = v.ID + "-" + v.Codename
	default:
		v.Tag = strings.NewReplacer(":", "-", "/", "-").Replace(strings.ToLower(d.Name))
	}
	return v, nil
}

// session is one process's state across the images of a release or a
// lock update: each distro's index is opened once per architecture.
type session struct {
	o       pipeline.Options
	indexes map[string]*openedIndex
}

type openedIndex struct {
	d    *distro.Distro
	ix   distro.Index
	keys distro.Keys
	c    *fetch.Cache
}

func newSession(o pipeline.Options) *session {
	return &session{o: o, indexes: map[string]*openedIndex{}}
}

// resolve resolves a profile (a built-in name, or pf read from a file)
// on a distro for an architecture, opening the distro's index the first
// time it is needed.
func (s *session) resolve(ctx context.Context, profile string, pf *profiles.Profile, distroName, arch string) (*pipeline.Resolution, error) {
	o := s.o
	o.Profile, o.Distro, o.Platforms = pf, distroName, platformsOf(arch)
	profile = o.ProfileName(profile)
	if distroName == "" {
		return pipeline.ResolveNamed(ctx, profile, o)
	}
	if err := pipeline.CheckArch(o.Platforms); err != nil {
		return nil, err
	}
	if pf == nil {
		if _, _, err := profiles.Find(profile); err != nil {
			return nil, &pipeline.UsageError{Err: err}
		}
	}
	d, err := o.OpenDistro(distroName)
	if err != nil {
		return nil, err
	}
	key := distroName + " " + arch
	op := s.indexes[key]
	if op == nil {
		ix, keys, c, err := o.OpenIndex(ctx, d)
		if err != nil {
			return nil, err
		}
		op = &openedIndex{d: d, ix: ix, keys: keys, c: c}
		s.indexes[key] = op
	}
	return pipeline.ResolveIn(profile, op.d, op.ix, op.keys, op.c, o, "")
}

// profileOf is an image's profile: its name and, for a profile file, the
// file read.
func profileOf(im releasefile.Image) (string, *profiles.Profile, error) {
	if im.ProfileFile == "" {
		return im.Profile, nil, nil
	}
	p, err := pipeline.LoadProfileFile(im.ProfileFile)
	if err != nil {
		return "", nil, fmt.Errorf("image %s (line %d): %w", im.Name, im.Line, err)
	}
	if (&pipeline.Options{Profile: p}).AppInputs().Wanted() {
		return "", nil, fmt.Errorf("image %s (line %d): profile %s names an application layer (python-*, npm-*, app-dir), which release does not take from a profile file yet; give them as keys of the image entry", im.Name, im.Line, im.ProfileFile)
	}
	return p.Name, p, nil
}

// Release builds every image of a release file in one process (one
// download cache, each distro's index opened once, the user variants of
// a build sharing it), pushes each to all its tags, and reports every
// reference and digest. The lockfile the release file names pins every
// image's packages: images it lacks are resolved and added (the file is
// written, temp file and rename, before anything is pushed); `lock
// update` moves it on. An image whose digest every tag already holds is
// not pushed again.
func Release(ctx context.Context, path string, o ReleaseOptions) (_ *ReleaseResult, err error) {
	defer func() { err = pipeline.DiskFirst(err) }()
	f, ims, err := releaseUsage(path, o.Date)
	if err != nil {
		return nil, err
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	o.path = path
	if o.Registry.Timeout == 0 {
		o.Registry.Timeout = o.Timeout
	}
	o.caCerts = f.CACertPaths()
	if err := (pipeline.GenOptions{CACerts: o.caCerts}).CheckCustom(); err != nil {
		return nil, err
	}
	if o.format = o.SBOMFormat; o.format == "" {
		o.format = sbom.SPDX
	}
	if o.sc, err = pipeline.OpenSupplyChain(pipeline.GenOptions{Signer: o.Signer}, nil); err != nil {
		return nil, err
	}
	if err := o.CheckSizes(); err != nil {
		return nil, err
	}
	if !o.DryRun {
		// Registries that refuse the pushes fail now, not after builds;
		// a profile file that cannot be read first.
		var tags []string
		for _, im := range ims {
			if _, _, err := profileOf(im); err != nil {
				return nil, err
			}
			tags = append(tags, im.Tags...)
		}
		w := pipeline.WriteOptions("")
		w.Registry = o.Registry
		if err := publish.CheckPush(ctx, tags, w); err != nil {
			return nil, err
		}
	}
	res := &ReleaseResult{File: path, Lock: f.LockPath()}
	set, err := lockfile.ReadSet(f.LockPath())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		set = &lockfile.Set{}
	case err != nil:
		return nil, err
	}
	set.Single = false

	// Every image's packages: from the lockfile, else resolved now.
	if err := checkReleaseApps(ims); err != nil {
		return nil, err
	}
	s := newSession(o.Options)
	for _, im := range ims {
		profile, pf, err := profileOf(im)
		if err != nil {
			return nil, err
		}
		for _, arch := range im.Platforms {
			key := lockfile.SetKey(profile, im.Distro, arch)
			if set.Find(key) != nil {
				continue
			}
			if o.Shards > 0 || o.Finish {
				return nil, fmt.Errorf("%s: lockfile %s has no entry for %s on %s (%s); shards and the finishing run build what it pins: update the release's lockfile (lock update of %s) and commit it",
					im.Key(), f.LockPath(), profile, im.Distro, arch, path)
			}
			progress(fmt.Sprintf("resolving %s on %s (%s)", profile, im.Distro, arch))
			r, err := s.resolveApp(ctx, profile, pf, im.Distro, arch, releaseApp(o.Options.App, im.App))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", im.Key(), err)
			}
			l := r.Lock()
			l.Requested = profile
			set.Put(l)
			res.Locked = append(res.Locked, key)
		}
	}
	if len(res.Locked) > 0 && !o.DryRun {
		if err := lockfile.WriteSet(f.LockPath(), set); err != nil {
			return nil, err
		}
		o.Logf("wrote lockfile %s (%d images added)", f.LockPath(), len(res.Locked))
	}

	if o.Registry.BlobMemory == "" {
		if c, err := o.Cache(); err == nil {
			o.Registry.BlobMemory = filepath.Join(c.Dir, "registry", "blobs.json")
		}
	}
	tool, err := toolDigest()
	if err != nil {
		return nil, err
	}
	switch {
	case o.Shards > 0:
		return o.releaseShard(ctx, res, ims, set, f.LockPath(), tool, progress)
	case o.Finish:
		return o.releaseFinish(ctx, res, ims, set, tool, progress)
	}
	var last *builtPlatforms
	for _, im := range ims {
		ri, b, err := o.releaseOne(ctx, im, set, f.LockPath(), tool, last, progress)
		if err != nil {
			return res, fmt.Errorf("%s: %w", im.Key(), err)
		}
		if b != nil {
			last = b
		}
		res.Images = append(res.Images, *ri)
	}
	return res, nil
}

// releaseRecord is what the cache keeps of an image a release pushed, by
// the digest of its inputs.
type releaseRecord = publish.Record

// releaseOne makes one image of the matrix and brings its tags to it.
func (o *ReleaseOptions) releaseOne(ctx context.Context, im releasefile.Image, set *lockfile.Set, lockPath, tool string,
	last *builtPlatforms, progress func(string)) (*ReleasedImage, *builtPlatforms, error) {
	profile, pf, err := profileOf(im)
	if err != nil {
		return nil, nil, err
	}
	ri, locks, err := releasedImage(im, set)
	if err != nil {
		return nil, nil, err
	}

	// What the same inputs gave last time: when every tag holds it, with
	// its attachments, nothing is built or uploaded.
	inputs, err := o.releaseInputs(tool, im, pf, locks)
	if err != nil {
		return nil, nil, err
	}
	c, err := o.Cache()
	if err != nil {
		return nil, nil, err
	}
	cacheKey := "release-image:" + inputs
	var prev releaseRecord
	found := false
	if data, err := c.Get(cacheKey); err == nil {
		found = json.Unmarshal(data, &prev) == nil && prev.Digest != ""
	}
	cached := found
	if !found {
		// An empty cache (a fresh runner): the record the last release
		// left in the registry.
		if prev, found, err = publish.ReadRecord(ctx, o.Registry, im.Tags, inputs); err != nil {
			return nil, nil, err
		}
	}
	if found {
		stale, err := o.staleTags(ctx, im.Tags, prev)
		if err != nil {
			return nil, nil, err
		}
		if len(stale) == 0 {
			ri.Digest, ri.Status = prev.Digest, "unchanged"
			progress(fmt.Sprintf("%s: unchanged (%s)", im.Key(), ri.Digest))
			if !cached {
				o.remember(c, cacheKey, prev)
			}
			return ri, nil, nil
		}
	}

	art, digest, b, err := o.buildImage(ctx, releaseBuild{profile: profile, file: pf, distro: im.Distro, platforms: im.Platforms,
		user: im.User, debug: im.Debug, locks: locks, lockPath: lockPath, label: im.Key(), tags: im.Tags,
		settings: pipeline.Settings(im.Settings), inputs: inputs, app: im.App}, last, progress)
	if err != nil {
		return nil, nil, err
	}
	ri.Built = true
	for _, pi := range b.imgs {
		for _, w := range pi.Report.Warnings {
			if len(b.imgs) > 1 {
				w = pipeline.PlatformName(pi.Arch) + ": " + w
			}
			ri.Warnings = append(ri.Warnings, w)
		}
	}
	ri.Digest = digest
	rec, err := publish.RecordOf(art, digest)
	if err != nil {
		return nil, nil, err
	}
	if err := publish.WithRecord(&art, &rec, inputs); err != nil {
		return nil, nil, err
	}
	stale, err := o.staleTags(ctx, im.Tags, rec)
	if err != nil {
		return nil, nil, err
	}
	ri.Pushed = stale
	switch {
	case len(stale) == 0:
		ri.Status = "unchanged"
	case o.DryRun:
		ri.Status = "would push"
		return ri, b, nil // nothing recorded: nothing was pushed
	default:
		progress(fmt.Sprintf("%s: pushing %s", im.Key(), strings.Join(stale, ", ")))
		if err := o.push(ctx, art, stale, ri.Profile); err != nil {
			return nil, nil, err
		}
		ri.Status = "pushed"
	}
	o.remember(c, cacheKey, rec)
	return ri, b, nil
}

// staleTags are the tags that do not hold the record (publish.StaleTags).
func (o *ReleaseOptions) staleTags(ctx context.Context, tags []string, rec releaseRecord) ([]string, error) {
	return publish.StaleTags(ctx, o.Registry, tags, rec)
}

// push sends the artifact to the tags, each repository only the
// attachments it lacks (publish.PushMissing).
func (o *ReleaseOptions) push(ctx context.Context, art publish.Artifact, tags []string, profile string) error {
	w := pipeline.WriteOptions(profile)
	w.Registry = o.Registry
	return publish.PushMissing(ctx, art, tags, w)
}

// remember keeps rec in the cache under key (a failure is a warning: the
// registry has the record too).
func (o *ReleaseOptions) remember(c interface{ Put(string, []byte) error }, key string, rec releaseRecord) {
	data, err := json.Marshal(rec)
	if err == nil {
		err = c.Put(key, data)
	}
	if err != nil {
		o.Logf("warning: %v", err)
	}
}

// platformsOf is the one platform arch names, none for "".
func platformsOf(arch string) []string {
	if arch == "" {
		return nil
	}
	return []string{arch}
}
