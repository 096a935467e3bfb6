package distroless

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/pipeline"
	"github.com/distroless-dev/distroless/publish"
	"github.com/distroless-dev/distroless/releasefile"
)

// Sharding a release over the jobs of a CI engine: the matrix's platform
// images are split into N shards, balanced by the size of the packages
// the lockfile pins; each shard (ReleaseOptions.Shard) builds and pushes
// its platform images, by digest, into every repository of their image's
// tags, each with its SBOM and a platform record (the tag
// PlatformTagPrefix+HEX beside it: the image's digest, its platform, its
// SBOM's digest and what its provenance will say); a single-platform
// image is released whole by its shard. The finishing run
// (ReleaseOptions.Finish) reads the platform records, and makes and
// pushes each multi-platform image's index with every attachment
// (provenance, signatures, the release record) and its tags, as a
// single-process release would: the registry ends in the same state,
// the platform records aside.
const (
	PlatformTagPrefix     = "distroless-platform-"
	PlatformArtifactType  = "application/vnd.distroless.platform-record.v1+json"
	platformRecordVersion = "distroless-platform-1"
)

// releaseShard builds and pushes shard o.Shard of o.Shards.
func (o *ReleaseOptions) releaseShard(ctx context.Context, res *ReleaseResult, ims []releasefile.Image, set *lockfile.Set, lockPath, tool string, progress func(string)) (*ReleaseResult, error) {
	units, err := shardUnits(ims, set)
	if err != nil {
		return res, err
	}
	mine := map[[2]string]bool{} // (image index, arch)
	for _, u := range assignShards(units, o.Shards)[o.Shard-1] {
		for _, i := range u.images {
			mine[[2]string{fmt.Sprint(i), u.arch}] = true
		}
	}
	var last *builtPlatforms
	for i, im := range ims {
		for _, arch := range im.Platforms {
			if !mine[[2]string{fmt.Sprint(i), arch}] {
				continue
			}
			var ri *ReleasedImage
			var b *builtPlatforms
			var err error
			if len(im.Platforms) == 1 {
				ri, b, err = o.releaseOne(ctx, im, set, lockPath, tool, last, progress)
			} else {
				ri, b, err = o.releasePlatform(ctx, im, arch, set, lockPath, tool, last, progress)
			}
			if err != nil {
				return res, fmt.Errorf("%s %s: %w", im.Key(), pipeline.PlatformName(arch), err)
			}
			if b != nil {
				last = b
			}
			res.Images = append(res.Images, *ri)
		}
	}
	return res, nil
}

// releasedImage is what the report says of im before anything is done.
func releasedImage(im releasefile.Image, set *lockfile.Set) (*ReleasedImage, []*lockfile.Lock, error) {
	profile, _, err := profileOf(im)
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
	return ri, locks, nil
}

// releasePlatform builds the platform image arch of a multi-platform
// image and pushes it by digest, with its SBOM and its platform record,
// into every repository of the image's tags, unless the records say it
// is there.
func (o *ReleaseOptions) releasePlatform(ctx context.Context, im releasefile.Image, arch string, set *lockfile.Set, lockPath, tool string,
	last *builtPlatforms, progress func(string)) (*ReleasedImage, *builtPlatforms, error) {
	_, pf, err := profileOf(im)
	if err != nil {
		return nil, nil, err
	}
	ri, locks, err := releasedImage(im, set)
	if err != nil {
		return nil, nil, err
	}
	ri.Platforms, ri.Tags = []string{arch}, nil
	ai := 0
	for i, a := range im.Platforms {
		if a == arch {
			ai = i
		}
	}
	inputs, err := o.releaseInputs(tool, im, pf, locks)
	if err != nil {
		return nil, nil, err
	}
	repos, err := repositories(im.Tags)
	if err != nil {
		return nil, nil, err
	}
	label := im.Key() + " " + pipeline.PlatformName(arch)

	// Every repository holds the record, the image and its SBOM: nothing
	// to do.
	there := true
	var held platformRecord
	for _, repo := range repos {
		ropts, err := o.Registry.Remote(ctx, repo.Tag("latest"))
		if err != nil {
			return nil, nil, err
		}
		rec, ok, err := readPlatformRecord(repo, inputs, arch, ropts)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			for _, d := range []string{rec.Digest, rec.SBOM} {
				if d == "" {
					continue
				}
				if h, err := publish.HeadDigest(repo.Digest(d), ropts); err != nil {
					return nil, nil, err
				} else if h == "" {
					ok = false
				}
			}
		}
		if !ok {
			there = false
			break
		}
		held = rec
	}
	if there {
		ri.Digest, ri.Status = held.Digest, "unchanged"
		progress(fmt.Sprintf("%s: unchanged (%s)", label, ri.Digest))
		return ri, nil, nil
	}

	profile, _, _ := profileOf(im)
	rb := releaseBuild{profile: profile, file: pf, distro: im.Distro, platforms: []string{arch},
		user: im.User, debug: im.Debug, locks: []*lockfile.Lock{locks[ai]}, lockPath: lockPath, label: label, tags: im.Tags,
		settings: pipeline.Settings(im.Settings), inputs: inputs}
	art, digest, b, err := o.buildImage(ctx, rb, last, progress)
	if err != nil {
		return nil, nil, err
	}
	ri.Built, ri.Digest = true, digest
	for _, w := range b.imgs[0].Report.Warnings {
		ri.Warnings = append(ri.Warnings, w)
	}
	// What its provenance will say once the index is known: as artifactOf
	// makes it, of the build (the variants differ by config only).
	u, err := pipeline.ParseUser(rb.user)
	if err != nil {
		return nil, nil, err
	}
	g := o.genOptions(rb, u, progress)
	pi := b.imgs[0]
	rec := platformRecord{Version: platformRecordVersion, Digest: digest, Platform: pi.Platform,
		Build: pipeline.ProvenanceBuild(g, pi.Distro, pi.Arch, pi.Plan, pi.Levels, pi.Indexes, pi.Created, pi.App)}
	if g.Provenance != nil {
		g.Provenance(&rec.Build)
	}
	var sbomRef v1.Image
	for _, r := range art.Referrers {
		m, err := r.Manifest()
		if err != nil {
			return nil, nil, err
		}
		raw, err := r.RawManifest()
		if err != nil {
			return nil, nil, err
		}
		var at struct {
			ArtifactType string `json:"artifactType"`
		}
		json.Unmarshal(raw, &at)
		if at.ArtifactType != attest.InTotoMediaType && m.Config.MediaType != types.MediaType(attest.InTotoMediaType) {
			sbomRef = r
			d, err := r.Digest()
			if err != nil {
				return nil, nil, err
			}
			rec.SBOM = d.String()
		}
	}
	recImg, err := platformRecordImage(inputs, rec)
	if err != nil {
		return nil, nil, err
	}
	if o.DryRun {
		ri.Status = "would push"
		return ri, b, nil
	}
	progress(fmt.Sprintf("%s: pushing %s", label, digest))
	for _, repo := range repos {
		ropts, err := o.Registry.Remote(ctx, repo.Tag("latest"))
		if err != nil {
			return nil, nil, err
		}
		if err := remote.Write(repo.Digest(digest), art.Image, ropts...); err != nil {
			return nil, nil, fmt.Errorf("pushing %s@%s: %w", repo, digest, err)
		}
		if sbomRef != nil {
			if h, err := publish.HeadDigest(repo.Digest(rec.SBOM), ropts); err != nil {
				return nil, nil, err
			} else if h == "" {
				if err := remote.Write(repo.Digest(rec.SBOM), sbomRef, ropts...); err != nil {
					return nil, nil, fmt.Errorf("pushing %s@%s (SBOM): %w", repo, rec.SBOM, err)
				}
			}
		}
		if err := remote.Write(repo.Tag(platformTag(inputs, arch)), recImg, ropts...); err != nil {
			return nil, nil, fmt.Errorf("pushing %s's platform record: %w", repo, err)
		}
	}
	ri.Status = "pushed"
	return ri, b, nil
}

// MissingPlatformsError is a finishing run's refusal: platform images no
// shard has pushed.
type MissingPlatformsError struct{ Missing []string }

func (e *MissingPlatformsError) Error() string {
	return fmt.Sprintf("not finishing: %d platform images are not in the registry (has every shard run?): %s", len(e.Missing), strings.Join(e.Missing, "; "))
}

// finishPlan is what a finishing run found of one image.
type finishPlan struct {
	im        releasefile.Image
	ri        *ReleasedImage
	inputs    string
	unchanged bool
	records   []platformRecord // per platform, for an image to make
}

// releaseFinish makes every image of the matrix from the shards' platform
// images: it checks first that every platform image is there (else it
// refuses, naming each missing one, and pushes nothing), then pushes
// each image that is not complete in the registry.
func (o *ReleaseOptions) releaseFinish(ctx context.Context, res *ReleaseResult, ims []releasefile.Image, set *lockfile.Set, tool string, progress func(string)) (*ReleaseResult, error) {
	var plans []*finishPlan
	var missing []string
	for _, im := range ims {
		_, pf, err := profileOf(im)
		if err != nil {
			return res, err
		}
		ri, locks, err := releasedImage(im, set)
		if err != nil {
			return res, fmt.Errorf("%s: %w", im.Key(), err)
		}
		inputs, err := o.releaseInputs(tool, im, pf, locks)
		if err != nil {
			return res, err
		}
		p := &finishPlan{im: im, ri: ri, inputs: inputs}
		plans = append(plans, p)
		if rec, found, err := publish.ReadRecord(ctx, o.Registry, im.Tags, inputs); err != nil {
			return res, err
		} else if found {
			stale, err := o.staleTags(ctx, im.Tags, rec)
			if err != nil {
				return res, err
			}
			if len(stale) == 0 {
				p.unchanged, ri.Digest, ri.Status = true, rec.Digest, "unchanged"
				continue
			}
		}
		if len(im.Platforms) == 1 {
			// Released whole by its shard.
			missing = append(missing, im.Key()+" "+pipeline.PlatformName(im.Platforms[0]))
			continue
		}
		repos, err := repositories(im.Tags)
		if err != nil {
			return res, err
		}
		ropts, err := o.Registry.Remote(ctx, repos[0].Tag("latest"))
		if err != nil {
			return res, err
		}
		for _, arch := range im.Platforms {
			rec, ok, err := readPlatformRecord(repos[0], inputs, arch, ropts)
			if err != nil {
				return res, err
			}
			if !ok {
				missing = append(missing, im.Key()+" "+pipeline.PlatformName(arch))
				continue
			}
			p.records = append(p.records, rec)
		}
	}
	if len(missing) > 0 {
		return res, &MissingPlatformsError{Missing: missing}
	}
	for _, p := range plans {
		if !p.unchanged {
			progress(fmt.Sprintf("%s: finishing", p.im.Key()))
			if err := o.finishOne(ctx, p); err != nil {
				return res, fmt.Errorf("%s: %w", p.im.Key(), err)
			}
		} else {
			progress(fmt.Sprintf("%s: unchanged (%s)", p.im.Key(), p.ri.Digest))
		}
		res.Images = append(res.Images, *p.ri)
	}
	return res, nil
}

// finishOne makes and pushes a multi-platform image from its platform
// records: the index, each platform's SBOM (pushed by its shard) and
// provenance as referrers, the signatures, the record, as artifactOf and
// releaseOne make them.
func (o *ReleaseOptions) finishOne(ctx context.Context, p *finishPlan) error {
	repos, err := repositories(p.im.Tags)
	if err != nil {
		return err
	}
	ropts, err := o.Registry.Remote(ctx, repos[0].Tag("latest"))
	if err != nil {
		return err
	}
	var art publish.Artifact
	var imgs []*pipeline.PlatformImage
	var built []pipeline.BuiltImage
	for i, rec := range p.records {
		img, err := remote.Image(repos[0].Digest(rec.Digest), ropts...)
		if err != nil {
			return fmt.Errorf("%s: %w", pipeline.PlatformName(p.im.Platforms[i]), err)
		}
		// Only its image methods: a remote image's descriptor carries the
		// manifest's annotations, which an index of built images does not.
		img = struct{ v1.Image }{img}
		imgs = append(imgs, &pipeline.PlatformImage{Arch: p.im.Platforms[i], Platform: rec.Platform, Image: img, Digest: rec.Digest})
		b := pipeline.BuiltImage{Img: img, Build: rec.Build}
		if rec.SBOM != "" {
			ref, err := remote.Image(repos[0].Digest(rec.SBOM), ropts...)
			if err != nil {
				return fmt.Errorf("%s's SBOM: %w", pipeline.PlatformName(p.im.Platforms[i]), err)
			}
			doc, err := singleLayer(ref)
			if err != nil {
				return fmt.Errorf("%s's SBOM: %w", pipeline.PlatformName(p.im.Platforms[i]), err)
			}
			art.Referrers = append(art.Referrers, ref)
			b.Docs = append(b.Docs, attest.Predicate{Type: o.format.PredicateType(), JSON: doc})
		}
		built = append(built, b)
	}
	if art.Index, err = pipeline.ImageIndex(imgs); err != nil {
		return err
	}
	if len(p.im.Settings.Annotations) > 0 {
		art.Index = mutate.Annotations(art.Index, p.im.Settings.Annotations).(v1.ImageIndex)
	}
	if _, err := o.sc.Attach(&art, pipeline.SignOutput(p.im.Tags), built); err != nil {
		return err
	}
	h, err := art.Index.Digest()
	if err != nil {
		return err
	}
	digest := h.String()
	p.ri.Digest = digest
	rec, err := publish.RecordOf(art, digest)
	if err != nil {
		return err
	}
	if err := publish.WithRecord(&art, &rec, p.inputs); err != nil {
		return err
	}
	stale, err := o.staleTags(ctx, p.im.Tags, rec)
	if err != nil {
		return err
	}
	p.ri.Pushed = stale
	switch {
	case len(stale) == 0:
		p.ri.Status = "unchanged"
	case o.DryRun:
		p.ri.Status = "would push"
		return nil
	default:
		if err := o.push(ctx, art, stale, p.ri.Profile); err != nil {
			return err
		}
		p.ri.Status = "pushed"
	}
	if c, err := o.Cache(); err == nil {
		o.remember(c, "release-image:"+p.inputs, rec)
	}
	return nil
}

// singleLayer is the content of an artifact's one layer (an SBOM
// referrer's document), bounded.
func singleLayer(img v1.Image) ([]byte, error) {
	ls, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(ls) != 1 {
		return nil, fmt.Errorf("%d layers, want 1", len(ls))
	}
	rc, err := ls[0].Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	const limit = 256 << 20
	var buf bytes.Buffer
	if n, err := io.Copy(&buf, io.LimitReader(rc, limit+1)); err != nil {
		return nil, err
	} else if n > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return buf.Bytes(), nil
}
