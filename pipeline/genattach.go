package pipeline

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/publish"
	"github.com/distroless-dev/distroless/sbom"
)

// ArtifactOf is what gen writes of its images (one, or several making an
// index in their order): the image or the index, each image's SBOM (when
// an output can hold it or --sbom asks for it; attached as a referrer
// when an output can hold it) and provenance as referrers and, with a
// signing key, the signatures and attestations. The SBOMs are in the
// images' order (nil entries when none was made).
func (o GenOptions) ArtifactOf(imgs []*PlatformImage, outputs []string, sc *SupplyChain, sbomFormat sbom.Format) (publish.Artifact, []*genSBOM, attached, error) {
	progress := o.progress()
	var art publish.Artifact
	var built []BuiltImage
	boms := make([]*genSBOM, len(imgs))
	if wantSBOM(o.SBOM, o.attachOutputs(outputs)...) {
		// Each platform's SBOM, side by side.
		c, err := o.Cache()
		if err != nil {
			return art, nil, attached{}, err
		}
		errs := make([]error, len(imgs))
		var wg sync.WaitGroup
		for i, im := range imgs {
			progress("describing the packages for the SBOM of " + PlatformName(im.Arch))
			wg.Add(1)
			go func() {
				defer wg.Done()
				boms[i], errs[i] = makeSBOM(im, c, sbomFormat)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return art, nil, attached{}, err
		}
	}
	for i, im := range imgs {
		b := BuiltImage{Img: im.Image,
			Build: ProvenanceBuild(o, im.Distro, im.Arch, im.Plan, im.Levels, im.Indexes, im.Created, im.App)}
		if o.Provenance != nil {
			o.Provenance(&b.Build)
		}
		if boms[i] != nil {
			if wantSBOM("", o.attachOutputs(outputs)...) {
				art.Referrers = append(art.Referrers, boms[i].referrer)
				b.Docs = append(b.Docs, attest.Predicate{Type: sbomFormat.PredicateType(), JSON: boms[i].doc})
			}
		}
		built = append(built, b)
	}
	var err error
	if len(imgs) == 1 {
		art.Image = imgs[0].Image
	} else if art.Index, err = ImageIndex(imgs); err != nil {
		return art, nil, attached{}, err
	}
	if len(o.Settings.Annotations) > 0 && art.Index != nil {
		art.Index = mutate.Annotations(art.Index, o.Settings.Annotations).(v1.ImageIndex)
	}
	if len(o.attachOutputs(outputs)) == 0 {
		return art, boms, attached{}, nil // nowhere to attach anything
	}
	supply, err := sc.Attach(&art, SignOutput(outputs), built)
	if err != nil {
		return art, nil, attached{}, err
	}
	return art, boms, supply, nil
}

// attachOutputs are the outputs that hold attachments (SBOM and
// provenance referrers, signatures): the pushes, and with Attach the OCI
// layouts and oci-archives.
func (o GenOptions) attachOutputs(outputs []string) []string {
	var out []string
	for _, op := range outputs {
		switch {
		case strings.HasPrefix(op, "docker-archive:"):
		case strings.HasPrefix(op, "oci:"), strings.HasPrefix(op, "oci-archive:"):
			if o.Attach {
				out = append(out, op)
			}
		default:
			out = append(out, op)
		}
	}
	return out
}

// ImageIndex is the OCI image index of the platforms' images, in the
// order of Architectures (so that the same platforms, given in any
// order, make the same index).
func ImageIndex(imgs []*PlatformImage) (v1.ImageIndex, error) {
	var adds []mutate.IndexAddendum
	for _, im := range imgs {
		mt, err := im.Image.MediaType()
		if err != nil {
			return nil, err
		}
		p := im.Platform
		adds = append(adds, mutate.IndexAddendum{Add: im.Image, Descriptor: v1.Descriptor{MediaType: mt, Platform: &p}})
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	return mutate.AppendManifests(idx, adds...), nil
}

// sbomFilesOf is the SBOM files of --sbom FILE: FILE itself for one
// platform, and for several one per platform, FILE's name with the
// architecture before its extension (sbom.json → sbom.arm64.json).
func sbomFilesOf(file string, archs []string) []string {
	if file == "" {
		return nil
	}
	if len(archs) <= 1 {
		return []string{file}
	}
	dir, base := filepath.Split(file)
	stem, ext, ok := strings.Cut(base, ".")
	var files []string
	for _, a := range archs {
		n := stem + "." + a
		if ok {
			n += "." + ext
		}
		files = append(files, filepath.Join(dir, n))
	}
	return files
}
