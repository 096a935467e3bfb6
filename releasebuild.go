package distroless

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/pipeline"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/publish"
	"github.com/distroless-dev/distroless/releasefile"
)

// builtPlatforms is the last build, kept for the next image that differs
// only in its user (the matrix lists the users of a build one after the
// other).
type builtPlatforms struct {
	key  string
	imgs []*pipeline.PlatformImage // one per platform, in the image's order
}

// releaseBuild is one image of a release matrix to build.
type releaseBuild struct {
	profile   string            // a built-in profile (PROFILE-debug for debug) or the file's name
	file      *profiles.Profile // the profile file's profile, or nil
	distro    string
	platforms []string // OCI architectures, in the index's order
	user      string   // nonroot, root or a UID
	debug     bool
	locks     []*lockfile.Lock  // the packages of each platform
	lockPath  string            // the release's lockfile
	label     string            // for progress
	tags      []string          // where it goes (the signatures name the first's repository)
	settings  pipeline.Settings // the release file's image settings
	inputs    string            // releaseInputs, recorded in the provenance
	app       releasefile.App   // the image's application inputs (releaseapp.go)
}

// genOptions are the gen settings of an image of the matrix.
func (o *ReleaseOptions) genOptions(rb releaseBuild, u pipeline.User, progress func(string)) pipeline.GenOptions {
	g := o.GenOptions
	g.Progress, g.User, g.Lock, g.CACerts, g.Settings = progress, u, rb.lockPath, o.caCerts, rb.settings
	g.Output, g.Outputs, g.SBOM, g.AddFiles = publish.Output{}, nil, "", nil // the tags are the outputs
	g.SBOMFormat = o.format
	g.Options.Profile, g.Options.Distro, g.Options.Platforms = rb.file, rb.distro, nil
	g.Options.Add, g.Options.Exclude = nil, nil
	g.Options.App = releaseApp(o.Options.App, rb.app)
	release, lockPath := o.path, rb.lockPath
	g.Provenance = func(b *attest.Build) {
		// The release file and its lockfile by name: the packages the
		// lockfile pins for this image are in the provenance already, and
		// the lockfile's other entries are not this image's inputs.
		b.Parameters["release"] = release
		b.Parameters["lockfile"] = lockPath
		b.Inputs = slices.DeleteFunc(b.Inputs, func(d attest.Dependency) bool { return d.Name == "lockfile" })
		if rb.inputs != "" {
			b.Parameters["releaseInputs"] = "sha256:" + rb.inputs
		}
	}
	return g
}

// variants are the images a user's variant is made from: the shared
// build's, or none for a user with an account (built on its own).
func (b *builtPlatforms) variants(u pipeline.User) []*pipeline.PlatformImage {
	if b == nil || u.Account != nil {
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
func (o *ReleaseOptions) buildImage(ctx context.Context, rb releaseBuild, last *builtPlatforms, progress func(string)) (publish.Artifact, string, *builtPlatforms, error) {
	var art publish.Artifact
	u, err := pipeline.ParseUser(rb.user)
	if err != nil {
		return art, "", nil, err
	}
	g := o.genOptions(rb, u, progress)
	settings, err := json.Marshal(rb.settings)
	if err != nil {
		return art, "", nil, err
	}
	buildKey := rb.profile + " " + rb.distro + " " + strings.Join(rb.platforms, ",") + " " + fmt.Sprint(rb.debug) + " " + string(settings)
	buildAs := func(as pipeline.User) ([]*pipeline.PlatformImage, error) {
		var ins []*pipeline.Input
		for i, arch := range rb.platforms {
			lg := g
			lg.Options.Platforms = []string{arch}
			lg.Lock = rb.lockPath + " (" + rb.locks[i].Key() + ")"
			in, err := pipeline.LockPlan(rb.profile, rb.locks[i], lg)
			if err != nil {
				return nil, err
			}
			ins = append(ins, in)
		}
		progress(fmt.Sprintf("%s: building for %s", rb.label, strings.Join(rb.platforms, ", ")))
		return pipeline.BuildImages(ctx, ins, g, as)
	}
	b := last
	var imgs []*pipeline.PlatformImage
	if u.Account != nil {
		// A UID the image has no user for gets one in its top layer (as
		// gen --user N): a build of its own, not a config variant.
		if imgs, err = buildAs(u); err != nil {
			return art, "", nil, err
		}
		b = &builtPlatforms{key: buildKey + " as " + rb.user, imgs: imgs} // shared with no other variant
	} else if b == nil || b.key != buildKey {
		nonroot, err := buildAs(pipeline.Nonroot())
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
	art, _, _, err = g.ArtifactOf(imgs, rb.tags, o.sc, o.format)
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
func withUser(img v1.Image, u pipeline.User, cfg profiles.Config, s pipeline.Settings) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	user, workdir := u.WithSettings(cfg, s)
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
// attachments say: the SBOM format, the signing key (its KeyID), the builder id, the
// invocation, the release file's and lockfile's names and the signed
// index files of each platform.
func (o *ReleaseOptions) releaseInputs(tool string, im releasefile.Image, pf *profiles.Profile, locks []*lockfile.Lock) (string, error) {
	h := sha256.New()
	put := func(parts ...string) {
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s;", len(p), p)
		}
	}
	put("distroless-release-2", tool, pipeline.Version, im.Profile, im.User, fmt.Sprint(im.Debug), o.sourceDateEpoch(), im.Distro)
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
	signer := ""
	if o.Signer != nil {
		if signer, err = o.Signer.KeyID(); err != nil {
			return "", err
		}
	}
	put(string(o.format), o.BuilderID, o.path, signer, o.Keyring)
	put(o.Argv...)
	for _, f := range append([]string{o.Keyring}, o.caCerts...) {
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
		maxFile := o.MaxFileSize
		if maxFile == 0 {
			maxFile = assemble.DefaultMaxFileSize
		}
		hf, err := pipeline.HostFilesDigest(pf, maxFile)
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

// sourceDateEpoch is SourceDate as SOURCE_DATE_EPOCH spells it, "" when
// unset.
func (o *ReleaseOptions) sourceDateEpoch() string {
	if o.SourceDate == nil {
		return ""
	}
	return strconv.FormatInt(o.SourceDate.Unix(), 10)
}
