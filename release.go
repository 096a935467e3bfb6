package distroless

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/releasefile"
	"github.com/distroless-dev/distroless/sbom"
)

// ReleaseOptions are the settings of a release beyond those of resolve.
type ReleaseOptions struct {
	Options
	// DryRun builds (or, when the lockfile and the registry say nothing
	// changed, skips) every image and reports what would be pushed,
	// pushing nothing and writing no lockfile.
	DryRun bool
	// Date is {date} in tag templates; "" = today (UTC), as 20060102.
	Date string
	// Registry is the registry settings (TLS, insecure registries,
	// credentials, the blob memory for cross-repository mounts) of the
	// HEAD requests and pushes, as gen's.
	Registry assemble.RegistryOptions
	Progress func(string)
	// SBOMFormat is the format of the SBOM attached to each platform
	// image: spdx (default) or cyclonedx.
	SBOMFormat string
	// SignKey signs every image and its attestations in cosign's format
	// (as gen --sign-key); BuilderID and Argv are what the provenance
	// says of the builder and the invocation.
	SignKey   string
	BuilderID string
	Argv      []string
	// Parallel is the downloads at once (0 = 8); MaxImageSize and
	// MaxFileSize bound each image's files as gen's flags do.
	Parallel                  int
	MaxImageSize, MaxFileSize string

	sc     *supplyChain
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
		as, err := ParseArchList(p)
		if err != nil {
			return "", err
		}
		if len(as) != 1 {
			return "", fmt.Errorf("%q: empty platform", p)
		}
		return as[0], nil
	}
}

// ReleaseUsage checks a release file and its matrix without touching the
// network: the images it would build, in order.
func ReleaseUsage(path, date string) (*releasefile.File, []releasefile.Image, error) {
	f, err := releasefile.Load(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, &UsageError{err}
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
	o       Options
	indexes map[string]*openedIndex
}

type openedIndex struct {
	d    *distro.Distro
	ix   distro.Index
	keys distro.Keys
	c    *fetch.Cache
}

func newSession(o Options) *session { return &session{o: o, indexes: map[string]*openedIndex{}} }

// resolve resolves a profile (a built-in name, or pf read from a file)
// on a distro for an architecture, opening the distro's index the first
// time it is needed.
func (s *session) resolve(ctx context.Context, profile string, pf *profiles.Profile, distroName, arch string) (*Resolution, error) {
	o := s.o
	o.Profile, o.Distro, o.Arch = pf, distroName, arch
	profile = o.profileName(profile)
	if distroName == "" {
		return resolve(ctx, profile, o)
	}
	if err := checkArch(arch); err != nil {
		return nil, err
	}
	if pf == nil {
		if _, _, err := profiles.Find(profile); err != nil {
			return nil, &UsageError{err}
		}
	}
	d, err := o.distro(distroName)
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
	return resolveIn(profile, op.d, op.ix, op.keys, op.c, o, "")
}

// profileOf is an image's profile: its name and, for a profile file, the
// file read.
func profileOf(im releasefile.Image) (string, *profiles.Profile, error) {
	if im.ProfileFile == "" {
		return im.Profile, nil, nil
	}
	p, err := LoadProfileFile(im.ProfileFile)
	if err != nil {
		return "", nil, fmt.Errorf("image %s (line %d): %w", im.Name, im.Line, err)
	}
	if (&Options{Profile: p}).appOptions().wanted() {
		return "", nil, fmt.Errorf("image %s (line %d): profile %s names an application layer (python-*, npm-*, app-dir), which release does not take from a profile file yet; build it with gen (npm inputs: as keys of the image entry)", im.Name, im.Line, im.ProfileFile)
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
	defer func() { err = diskFirst(err) }()
	f, ims, err := ReleaseUsage(path, o.Date)
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
	if err := (GenOptions{CACerts: o.caCerts}).checkCustom(); err != nil {
		return nil, err
	}
	if o.format, err = sbom.ParseFormat(o.SBOMFormat); err != nil {
		return nil, &UsageError{err}
	}
	if o.sc, err = openSupplyChain(GenOptions{SignKey: o.SignKey}, nil); err != nil {
		return nil, err
	}
	if _, _, err := (GenOptions{MaxImageSize: o.MaxImageSize, MaxFileSize: o.MaxFileSize}).sizeLimits(); err != nil {
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
		w := writeOptions("")
		w.Registry = o.Registry
		if err := assemble.CheckPush(ctx, tags, w); err != nil {
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
		o.log("wrote lockfile %s (%d images added)", f.LockPath(), len(res.Locked))
	}

	if o.Registry.BlobMemory == "" {
		if c, err := o.cache(); err == nil {
			o.Registry.BlobMemory = filepath.Join(c.Dir, "registry", "blobs.json")
		}
	}
	tool, err := toolDigest()
	if err != nil {
		return nil, err
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

// builtPlatforms is the last build, kept for the next image that differs
// only in its user (the matrix lists the users of a build one after the
// other).
type builtPlatforms struct {
	key  string
	imgs []*PlatformImage // one per platform, in the image's order
}

// releaseRecord is what the cache keeps of an image a release pushed, by
// the digest of its inputs: the image's (or index's) digest, and what is
// attached beside it, the referrers by digest (SBOMs and provenance,
// which the same inputs make byte for byte) and the tags of cosign's
// signatures and attestations (signatures differ from run to run, so
// only their presence counts).
type releaseRecord struct {
	Digest    string   `json:"digest"`
	Referrers []string `json:"referrers,omitempty"`
	Tagged    []string `json:"tagged,omitempty"`
}

// recordOf is the record of an artifact.
func recordOf(art assemble.Artifact, digest string) (releaseRecord, error) {
	r := releaseRecord{Digest: digest}
	for _, ref := range art.Referrers {
		d, err := ref.Digest()
		if err != nil {
			return r, err
		}
		r.Referrers = append(r.Referrers, d.String())
	}
	for t := range art.Tagged {
		r.Tagged = append(r.Tagged, t)
	}
	sort.Strings(r.Tagged)
	return r, nil
}

// releaseOne makes one image of the matrix and brings its tags to it.
func (o *ReleaseOptions) releaseOne(ctx context.Context, im releasefile.Image, set *lockfile.Set, lockPath, tool string,
	last *builtPlatforms, progress func(string)) (*ReleasedImage, *builtPlatforms, error) {
	profile, pf, err := profileOf(im)
	if err != nil {
		return nil, nil, err
	}
	ri := &ReleasedImage{Name: im.Name, Profile: profile, Distro: im.Distro, Platforms: im.Platforms, User: im.User, Debug: im.Debug,
		Variant: im.Variant, Tags: im.Tags}
	var locks []*lockfile.Lock
	for _, arch := range im.Platforms {
		l := set.Find(lockfile.SetKey(profile, im.Distro, arch))
		if l == nil {
			return nil, nil, fmt.Errorf("lockfile has no entry for %s on %s (%s)", profile, im.Distro, arch)
		}
		locks = append(locks, l)
		ri.Profile = l.Profile
	}
	if im.Debug && !strings.HasSuffix(ri.Profile, "-debug") {
		ri.Profile += "-debug"
	}

	// What the same inputs gave last time: when every tag holds it, with
	// its attachments, nothing is built or uploaded.
	inputs, err := o.releaseInputs(tool, im, pf, locks)
	if err != nil {
		return nil, nil, err
	}
	c, err := o.cache()
	if err != nil {
		return nil, nil, err
	}
	cacheKey := "release-image:" + inputs
	if data, err := c.Get(cacheKey); err == nil {
		var prev releaseRecord
		if json.Unmarshal(data, &prev) == nil && prev.Digest != "" {
			stale, err := o.staleTags(ctx, im.Tags, prev)
			if err != nil {
				return nil, nil, err
			}
			if len(stale) == 0 {
				ri.Digest, ri.Status = prev.Digest, "unchanged"
				progress(fmt.Sprintf("%s: unchanged (%s)", im.Key(), ri.Digest))
				return ri, nil, nil
			}
		}
	}

	art, digest, b, err := o.buildImage(ctx, releaseBuild{profile: profile, file: pf, distro: im.Distro, platforms: im.Platforms,
		user: im.User, debug: im.Debug, locks: locks, lockPath: lockPath, label: im.Key(), tags: im.Tags,
		settings: Settings(im.Settings), app: im.App}, last, progress)
	if err != nil {
		return nil, nil, err
	}
	ri.Built = true
	for _, pi := range b.imgs {
		for _, w := range pi.Report.Warnings {
			if len(b.imgs) > 1 {
				w = PlatformName(pi.Arch) + ": " + w
			}
			ri.Warnings = append(ri.Warnings, w)
		}
	}
	ri.Digest = digest
	rec, err := recordOf(art, digest)
	if err != nil {
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
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, nil, err
	}
	if err := c.Put(cacheKey, data); err != nil {
		o.log("warning: %v", err)
	}
	return ri, b, nil
}

// releaseBuild is one image of a release matrix to build.
type releaseBuild struct {
	profile   string            // a built-in profile (PROFILE-debug for debug) or the file's name
	file      *profiles.Profile // the profile file's profile, or nil
	distro    string
	platforms []string // OCI architectures, in the index's order
	user      string   // nonroot, root or a UID
	debug     bool
	locks     []*lockfile.Lock // the packages of each platform
	lockPath  string           // the release's lockfile
	label     string           // for progress
	tags      []string         // where it goes (the signatures name the first's repository)
	settings  Settings         // the release file's image settings
	app       releasefile.App  // the image's application inputs (releaseapp.go)
}

// genOptions are the gen settings of an image of the matrix.
func (o *ReleaseOptions) genOptions(rb releaseBuild, progress func(string)) GenOptions {
	g := GenOptions{Options: o.Options, Progress: progress, User: rb.user, Parallel: o.Parallel,
		MaxImageSize: o.MaxImageSize, MaxFileSize: o.MaxFileSize, BuilderID: o.BuilderID, Argv: o.Argv, Registry: o.Registry,
		SBOMFormat: o.SBOMFormat, SignKey: o.SignKey, Lock: rb.lockPath, CACerts: o.caCerts, Settings: rb.settings}
	g.Options.Profile, g.Options.Distro, g.Options.Arch = rb.file, rb.distro, ""
	g.Options.Add, g.Options.Exclude = nil, nil
	g.Options.App = releaseApp(o.Options.App, rb.app)
	release, lockPath := o.path, rb.lockPath
	g.provenance = func(b *attest.Build) {
		// The release file and its lockfile by name: the packages the
		// lockfile pins for this image are in the provenance already, and
		// the lockfile's other entries are not this image's inputs.
		b.Parameters["release"] = release
		b.Parameters["lockfile"] = lockPath
		b.Inputs = slices.DeleteFunc(b.Inputs, func(d attest.Dependency) bool { return d.Name == "lockfile" })
	}
	return g
}

// variants are the images a user's variant is made from: the shared
// build's, or none for a user with an account (built on its own).
func (b *builtPlatforms) variants(u imageUser) []*PlatformImage {
	if b == nil || u.account != nil {
		return nil
	}
	return b.imgs
}

// buildImage builds one image of the matrix from its locks: one image per
// platform, fetched and built as gen builds them (reusing last, the
// previous image's build, when only the user differs), as the user; it
// returns the artifact to push, the image (one platform) or the index
// (several) with each image's SBOM and provenance and, with a signing
// key, the signatures, its digest, and the build for the next image.
func (o *ReleaseOptions) buildImage(ctx context.Context, rb releaseBuild, last *builtPlatforms, progress func(string)) (assemble.Artifact, string, *builtPlatforms, error) {
	var art assemble.Artifact
	g := o.genOptions(rb, progress)
	settings, err := json.Marshal(rb.settings)
	if err != nil {
		return art, "", nil, err
	}
	buildKey := rb.profile + " " + rb.distro + " " + strings.Join(rb.platforms, ",") + " " + fmt.Sprint(rb.debug) + " " + string(settings)
	u, err := userOf(rb.user)
	if err != nil {
		return art, "", nil, err
	}
	build := func(as imageUser) ([]*PlatformImage, error) {
		var ins []*genInput
		for i, arch := range rb.platforms {
			lg := g
			lg.Options.Arch = arch
			lg.Lock = rb.lockPath + " (" + rb.locks[i].Key() + ")"
			in, err := lockPlan(rb.profile, rb.locks[i], lg)
			if err != nil {
				return nil, err
			}
			ins = append(ins, in)
		}
		progress(fmt.Sprintf("%s: building for %s", rb.label, strings.Join(rb.platforms, ", ")))
		return buildImages(ctx, ins, g, as)
	}
	b := last
	var imgs []*PlatformImage
	if u.account != nil {
		// A UID the image has no user for gets one in its top layer (as
		// gen --user N): a build of its own, not a config variant.
		if imgs, err = build(u); err != nil {
			return art, "", nil, err
		}
		b = &builtPlatforms{key: buildKey + " as " + rb.user, imgs: imgs} // shared with no other variant
	} else if b == nil || b.key != buildKey {
		nonroot, err := build(imageUser{user: "65532:65532", workdir: "/home/nonroot", flag: true})
		if err != nil {
			return art, "", nil, err
		}
		b = &builtPlatforms{key: buildKey, imgs: nonroot}
	}
	// The user's variant of each image: the build differs by user only
	// in its config; SBOM and provenance are of this image.
	for _, pi := range b.variants(u) {
		vi, err := withUser(pi.Image, u, pi.Plan.Config, rb.settings)
		if err != nil {
			return art, "", nil, err
		}
		d, err := vi.Digest()
		if err != nil {
			return art, "", nil, err
		}
		cp := *pi
		cp.Image, cp.Digest = vi, d.String()
		imgs = append(imgs, &cp)
	}
	art, _, _, err = g.artifactOf(imgs, rb.tags, o.sc, o.format)
	if err != nil {
		return art, "", nil, err
	}
	var h v1.Hash
	if art.Index != nil {
		h, err = art.Index.Digest()
	} else {
		h, err = art.Image.Digest()
	}
	if err != nil {
		return art, "", nil, err
	}
	return art, h.String(), b, nil
}

// withUser returns img with the user and working directory that gen
// --user gives an image of a profile with config cfg and settings s: a
// build differs by user only in its config, so the image is the same as
// gen's.
func withUser(img v1.Image, u imageUser, cfg profiles.Config, s Settings) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	user, workdir := u.withSettings(cfg, s)
	if cf.Config.User == user && cf.Config.WorkingDir == workdir {
		return img, nil
	}
	cf = cf.DeepCopy()
	cf.Config.User, cf.Config.WorkingDir = user, workdir
	return mutate.ConfigFile(img, cf)
}

// releaseInputs is a digest of everything an image is made of: the tool
// (its executable), the pinned packages of each platform, the profile
// file or name, the distro (its file's content for a distro file), the
// files its src: entries copy), the distro (its file's content for a distro
// file), the user, the debug variant, SOURCE_DATE_EPOCH and the ca-certs'
// contents; and what the
// attachments say: the SBOM format, the signing key, the builder id, the
// invocation, the release file's and lockfile's names and the signed
// index files of each platform.
func (o *ReleaseOptions) releaseInputs(tool string, im releasefile.Image, pf *profiles.Profile, locks []*lockfile.Lock) (string, error) {
	h := sha256.New()
	put := func(parts ...string) {
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s;", len(p), p)
		}
	}
	put("distroless-release-2", tool, Version, im.Profile, im.User, fmt.Sprint(im.Debug), os.Getenv("SOURCE_DATE_EPOCH"), im.Distro)
	put(im.Platforms...)
	settings, err := json.Marshal(im.Settings)
	if err != nil {
		return "", err
	}
	put(string(settings))
	app, err := releaseAppInputs(im.App, pf)
	if err != nil {
		return "", err
	}
	put(app...)
	put(o.SBOMFormat, o.BuilderID, o.path, o.SignKey, o.Keyring)
	put(o.Argv...)
	for _, f := range append([]string{o.SignKey, o.Keyring}, o.caCerts...) {
		if f != "" {
			data, err := os.ReadFile(f)
			if err != nil {
				return "", err
			}
			put(string(data))
		}
	}
	if pf != nil {
		data, err := os.ReadFile(im.ProfileFile)
		if err != nil {
			return "", err
		}
		put(string(data))
		// And the files its src: entries copy from the host.
		_, maxFile, err := GenOptions{MaxFileSize: o.MaxFileSize}.sizeLimits()
		if err != nil {
			return "", err
		}
		if maxFile == 0 {
			maxFile = assemble.DefaultMaxFileSize
		}
		hf, err := hostFilesDigest(pf, maxFile)
		if err != nil {
			return "", err
		}
		put(hf)
	}
	if distro.IsFile(im.Distro) {
		data, err := os.ReadFile(im.Distro)
		if err != nil {
			return "", err
		}
		put(string(data))
	}
	for _, l := range locks {
		data, err := json.Marshal([]any{l.Packages, l.Indexes})
		if err != nil {
			return "", err
		}
		put(l.Profile, l.Distro, l.Arch, string(data))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// toolDigest is the SHA-256 of the running executable: images made by
// another build of the tool may differ.
func toolDigest() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the executable (to tell whether an image is current): %w", err)
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// staleTags are the tags that do not hold the record's digest (missing
// ones included), or whose repository lacks one of its referrers or
// signature tags, asked of the registry with HEAD requests only.
func (o *ReleaseOptions) staleTags(ctx context.Context, tags []string, rec releaseRecord) ([]string, error) {
	var stale []string
	complete := map[string]bool{} // by repository: every attachment is there
	for _, t := range tags {
		ref, err := name.NewTag(t, name.StrictValidation)
		if err != nil {
			return nil, err
		}
		ropts, err := o.Registry.Remote(ctx, ref)
		if err != nil {
			return nil, err
		}
		held, err := headDigest(ref, ropts)
		if err != nil {
			return nil, err
		}
		if held != rec.Digest {
			stale = append(stale, t)
			continue
		}
		repo := ref.Context()
		ok, seen := complete[repo.Name()]
		if !seen {
			ok = true
			for _, d := range rec.Referrers {
				if held, err := headDigest(repo.Digest(d), ropts); err != nil {
					return nil, err
				} else if held == "" {
					ok = false
					break
				}
			}
			for _, tg := range rec.Tagged {
				if !ok {
					break
				}
				if held, err := headDigest(repo.Tag(tg), ropts); err != nil {
					return nil, err
				} else if held == "" {
					ok = false
				}
			}
			complete[repo.Name()] = ok
		}
		if !ok {
			stale = append(stale, t)
		}
	}
	return stale, nil
}

// headDigest is the digest ref holds, "" when the registry has none.
func headDigest(ref name.Reference, ropts []remote.Option) (string, error) {
	desc, err := remote.Head(ref, ropts...)
	var te *transport.Error
	switch {
	case errors.As(err, &te) && te.StatusCode == http.StatusNotFound:
		return "", nil
	case err != nil:
		return "", fmt.Errorf("asking %s for %s: %w", ref.Context().RegistryStr(), ref, err)
	}
	return desc.Digest.String(), nil
}

// push sends the artifact to the tags through gen's registry output
// (assemble.WriteOutputs: blobs a repository has are not sent, those
// another repository of the registry has are mounted), one repository
// at a time, each with only the attachments it lacks: a referrer (SBOM,
// provenance) is stored once by digest, and a signature or attestation
// tag that exists signs the same digest already (a tag moved back to an
// image stores one manifest).
func (o *ReleaseOptions) push(ctx context.Context, art assemble.Artifact, tags []string, profile string) error {
	w := writeOptions(profile)
	w.Registry = o.Registry
	var repos []name.Repository
	byRepo := map[string][]string{}
	for _, t := range tags {
		ref, err := name.NewTag(t, name.StrictValidation)
		if err != nil {
			return err
		}
		r := ref.Context()
		if byRepo[r.Name()] == nil {
			repos = append(repos, r)
		}
		byRepo[r.Name()] = append(byRepo[r.Name()], t)
	}
	for _, repo := range repos {
		ropts, err := o.Registry.Remote(ctx, repo.Tag("latest"))
		if err != nil {
			return err
		}
		a := art
		a.Referrers, a.Tagged = nil, nil
		for _, r := range art.Referrers {
			d, err := r.Digest()
			if err != nil {
				return err
			}
			held, err := headDigest(repo.Digest(d.String()), ropts)
			if err != nil {
				return err
			}
			if held == "" {
				a.Referrers = append(a.Referrers, r)
			}
		}
		for tag, m := range art.Tagged {
			held, err := headDigest(repo.Tag(tag), ropts)
			if err != nil {
				return err
			}
			if held == "" {
				if a.Tagged == nil {
					a.Tagged = map[string]v1.Image{}
				}
				a.Tagged[tag] = m
			}
		}
		if _, err := assemble.WriteOutputs(ctx, a, byRepo[repo.Name()], w); err != nil {
			return err
		}
	}
	return nil
}
