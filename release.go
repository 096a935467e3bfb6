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
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/releasefile"
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
	// Keychain authenticates to the registry; nil = the docker and podman
	// credentials (authn.DefaultKeychain).
	Keychain authn.Keychain
	Progress func(string)

	memo *assemble.LayerMemo // the layers compressed so far, shared across the matrix
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
	return resolveIn(profile, op.d, op.ix, op.keys, op.c, o)
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
			r, err := s.resolve(ctx, profile, pf, im.Distro, arch)
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

	o.memo = &assemble.LayerMemo{}
	ropts := o.remoteOptions(ctx)
	tool, err := toolDigest()
	if err != nil {
		return nil, err
	}
	var last *builtPlatforms
	for _, im := range ims {
		ri, b, err := o.releaseOne(ctx, im, set, f.LockPath(), tool, ropts, last, progress)
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
	imgs []v1.Image // one per platform, in the image's order
	plan []*genInput
	warn []string
}

// releaseOne makes one image of the matrix and brings its tags to it.
func (o *ReleaseOptions) releaseOne(ctx context.Context, im releasefile.Image, set *lockfile.Set, lockPath, tool string, ropts []remote.Option,
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

	// The digest the same inputs gave last time: when every tag holds
	// it, nothing is built or uploaded.
	inputs, err := releaseInputs(tool, im, pf, locks)
	if err != nil {
		return nil, nil, err
	}
	c, err := o.cache()
	if err != nil {
		return nil, nil, err
	}
	cacheKey := "release-digest:" + inputs
	if prev, err := c.Get(cacheKey); err == nil {
		stale, err := staleTags(ctx, im.Tags, string(prev), ropts)
		if err != nil {
			return nil, nil, err
		}
		if len(stale) == 0 {
			ri.Digest, ri.Status = string(prev), "unchanged"
			progress(fmt.Sprintf("%s: unchanged (%s)", im.Key(), ri.Digest))
			return ri, nil, nil
		}
	}

	art, digest, b, err := o.buildImage(ctx, releaseBuild{profile: profile, file: pf, distro: im.Distro, platforms: im.Platforms,
		user: im.User, debug: im.Debug, locks: locks, lockPath: lockPath, label: im.Key()}, last, progress)
	if err != nil {
		return nil, nil, err
	}
	ri.Built = true
	ri.Warnings = b.warn
	ri.Digest = digest
	stale, err := staleTags(ctx, im.Tags, digest, ropts)
	if err != nil {
		return nil, nil, err
	}
	ri.Pushed = stale
	switch {
	case len(stale) == 0:
		ri.Status = "unchanged"
	case o.DryRun:
		ri.Status = "would push"
	default:
		progress(fmt.Sprintf("%s: pushing %s", im.Key(), strings.Join(stale, ", ")))
		if err := o.push(ctx, art, stale); err != nil {
			return nil, nil, err
		}
		ri.Status = "pushed"
	}
	if err := c.Put(cacheKey, []byte(digest)); err != nil {
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
	lockPath  string           // for messages
	label     string           // for progress
}

// buildImage builds one image of the matrix from its locks: one image per
// platform (reusing last, the previous image's build, when only the user
// differs), as the user; it returns the image (one platform) or the index
// (several) to push, its digest, and the build for the next image.
func (o *ReleaseOptions) buildImage(ctx context.Context, rb releaseBuild, last *builtPlatforms, progress func(string)) (artifact, string, *builtPlatforms, error) {
	buildKey := rb.profile + " " + rb.distro + " " + strings.Join(rb.platforms, ",") + " " + fmt.Sprint(rb.debug)
	b := last
	if b == nil || b.key != buildKey {
		b = &builtPlatforms{key: buildKey}
		for i, arch := range rb.platforms {
			progress(fmt.Sprintf("%s: building for %s", rb.label, arch))
			g := GenOptions{Options: o.Options, Progress: progress, layerMemo: o.memo}
			g.Options.Profile, g.Options.Distro, g.Options.Arch = rb.file, rb.distro, arch
			g.Options.Add, g.Options.Exclude = nil, nil
			g.Lock = rb.lockPath + " (" + rb.locks[i].Key() + ")"
			in, err := lockPlan(rb.profile, rb.locks[i], g)
			if err != nil {
				return nil, "", nil, err
			}
			img, rep, _, err := in.build(ctx, g, imageUser{"65532:65532", "/home/nonroot", true}, progress)
			if err != nil {
				return nil, "", nil, fmt.Errorf("%s: %w", arch, err)
			}
			b.imgs = append(b.imgs, img)
			b.plan = append(b.plan, in)
			b.warn = append(b.warn, rep.Warnings...)
		}
	}
	u, err := userOf(rb.user)
	if err != nil {
		return nil, "", nil, err
	}
	var imgs []v1.Image
	for i, img := range b.imgs {
		vi, err := withUser(img, u, b.plan[i].plan.Config)
		if err != nil {
			return nil, "", nil, err
		}
		imgs = append(imgs, vi)
	}
	art, digest, err := artifactOf(imgs)
	if err != nil {
		return nil, "", nil, err
	}
	return art, digest, b, nil
}

// withUser returns img with the user and working directory that gen
// --user gives an image of a profile with config cfg: a build differs
// by user only in its config, so the image is the same as gen's.
func withUser(img v1.Image, u imageUser, cfg profiles.Config) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	user, workdir := u.with(cfg)
	if cf.Config.User == user && cf.Config.WorkingDir == workdir {
		return img, nil
	}
	cf = cf.DeepCopy()
	cf.Config.User, cf.Config.WorkingDir = user, workdir
	return mutate.ConfigFile(img, cf)
}

// artifact is an image or a multi-platform index.
type artifact interface {
	Digest() (v1.Hash, error)
	MediaType() (types.MediaType, error)
	RawManifest() ([]byte, error)
}

// artifactOf is the image of one platform, or the OCI index of several
// (in the release file's order, each with its platform).
func artifactOf(imgs []v1.Image) (artifact, string, error) {
	var art artifact
	if len(imgs) == 1 {
		art = imgs[0]
	} else {
		idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
		var adds []mutate.IndexAddendum
		for _, img := range imgs {
			cf, err := img.ConfigFile()
			if err != nil {
				return nil, "", err
			}
			adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}}})
		}
		art = mutate.AppendManifests(idx, adds...)
	}
	d, err := art.Digest()
	if err != nil {
		return nil, "", err
	}
	return art, d.String(), nil
}

// releaseInputs is a digest of everything an image is made of: the tool
// (its executable), the pinned packages of each platform, the profile
// file or name, the distro (its file's content for a distro file), the
// user, the debug variant and SOURCE_DATE_EPOCH.
func releaseInputs(tool string, im releasefile.Image, pf *profiles.Profile, locks []*lockfile.Lock) (string, error) {
	h := sha256.New()
	put := func(parts ...string) {
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s;", len(p), p)
		}
	}
	put("distroless-release-1", tool, Version, im.Profile, im.User, fmt.Sprint(im.Debug), os.Getenv("SOURCE_DATE_EPOCH"), im.Distro)
	put(im.Platforms...)
	if pf != nil {
		data, err := os.ReadFile(im.ProfileFile)
		if err != nil {
			return "", err
		}
		put(string(data))
	}
	if distro.IsFile(im.Distro) {
		data, err := os.ReadFile(im.Distro)
		if err != nil {
			return "", err
		}
		put(string(data))
	}
	for _, l := range locks {
		data, err := json.Marshal(l.Packages)
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

// remoteOptions are the registry client's settings.
func (o *ReleaseOptions) remoteOptions(ctx context.Context) []remote.Option {
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc), remote.WithUserAgent("distroless/" + Version)}
}

// staleTags are the tags that do not hold digest (missing ones included),
// asked of the registry with HEAD requests only.
func staleTags(ctx context.Context, tags []string, digest string, ropts []remote.Option) ([]string, error) {
	var stale []string
	for _, t := range tags {
		ref, err := name.NewTag(t, name.StrictValidation)
		if err != nil {
			return nil, err
		}
		desc, err := remote.Head(ref, ropts...)
		var te *transport.Error
		switch {
		case errors.As(err, &te) && te.StatusCode == http.StatusNotFound:
			stale = append(stale, t)
		case err != nil:
			return nil, fmt.Errorf("asking %s for %s: %w", ref.RegistryStr(), t, err)
		case desc.Digest.String() != digest:
			stale = append(stale, t)
		}
	}
	return stale, nil
}

// push sends the artifact to the tags through gen's registry output
// (assemble.WriteArtifact), with whatever it attaches (referrers, tagged
// manifests); blobs the registry has are not uploaded again.
func (o *ReleaseOptions) push(ctx context.Context, art artifact, tags []string) error {
	a := assemble.Artifact{}
	switch x := art.(type) {
	case v1.ImageIndex:
		a.Index = x
	case v1.Image:
		a.Image = x
	default:
		return fmt.Errorf("cannot push a %T", art)
	}
	_, err := assemble.WriteArtifact(ctx, a, tags, assemble.WriteOptions{Keychain: o.Keychain})
	return err
}
