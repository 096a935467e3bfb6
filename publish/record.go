package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The release record in the registry: beside each image a release pushes,
// in every repository its tags name, a small manifest under the tag
// RecordTagPrefix+INPUTS (INPUTS the hex digest of the image's inputs,
// releaseInputs) whose annotations hold the inputs digest and the record
// (the image's digest, its referrers, its signature tags). A release on a
// runner with an empty cache reads it instead of building: when every tag
// holds the digest and every attachment is there, the image is unchanged
// and no package is downloaded. The images themselves are gen's, byte for
// byte; the record is a manifest of its own (no layers, the empty
// config), so no image digest depends on it.
const (
	RecordTagPrefix = "distroless-release-"
	// RecordInputsAnnotation is the inputs digest (sha256:HEX) on the
	// record manifest, and the provenance parameter of the same name.
	RecordInputsAnnotation = "dev.distroless.release.inputs"
	// RecordAnnotation is the record, JSON.
	RecordAnnotation = "dev.distroless.release.record"
	// RecordArtifactType is the record manifest's config media type.
	RecordArtifactType = "application/vnd.distroless.release-record.v1+json"
)

// recordTag is the tag of the record of inputs (hex).
func recordTag(inputs string) string { return RecordTagPrefix + inputs }

// recordImage is the record manifest of rec, made of inputs.
func recordImage(inputs string, rec Record) (v1.Image, error) {
	return RecordManifest(RecordArtifactType, inputs, rec)
}

// RecordManifest is a record manifest of artifact type typ: no layers,
// the empty config, annotations holding the inputs digest (hex) and rec
// as JSON.
func RecordManifest(typ, inputs string, rec any) (v1.Image, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.MediaType(typ))
	return mutate.Annotations(img, map[string]string{
		RecordInputsAnnotation: "sha256:" + inputs,
		RecordAnnotation:       string(data),
	}).(v1.Image), nil
}

// WithRecord adds the record manifest of inputs to the artifact's tagged
// manifests (pushed into every repository of the image's tags beside the
// signatures) and its tag to rec's, so that a later release finds a
// repository without it incomplete.
func WithRecord(art *Artifact, rec *Record, inputs string) error {
	tag := recordTag(inputs)
	rec.Tagged = append(rec.Tagged, tag)
	sort.Strings(rec.Tagged)
	img, err := recordImage(inputs, *rec)
	if err != nil {
		return err
	}
	if art.Tagged == nil {
		art.Tagged = map[string]v1.Image{}
	}
	art.Tagged[tag] = img
	return nil
}

// ReadRecord reads the record of inputs from the repository of the
// first tag: ok is false when it has none (or one that is not a record
// of these inputs).
func ReadRecord(ctx context.Context, reg RegistryOptions, tags []string, inputs string) (rec Record, ok bool, err error) {
	if len(tags) == 0 {
		return rec, false, nil
	}
	t, err := name.NewTag(tags[0], name.StrictValidation)
	if err != nil {
		return rec, false, err
	}
	ref := t.Context().Tag(recordTag(inputs))
	ropts, err := reg.Remote(ctx, ref)
	if err != nil {
		return rec, false, err
	}
	desc, err := remote.Get(ref, ropts...)
	var te *transport.Error
	switch {
	case errors.As(err, &te) && te.StatusCode == http.StatusNotFound:
		return rec, false, nil
	case err != nil:
		return rec, false, fmt.Errorf("asking %s for %s: %w", ref.Context().RegistryStr(), ref, err)
	}
	rec, ok = parseRecord(desc.Manifest, inputs)
	return rec, ok, nil
}

// parseRecord reads a record manifest; ok is false unless it is the
// record of inputs, with a digest.
func parseRecord(manifest []byte, inputs string) (Record, bool) {
	var rec Record
	var m v1.Manifest
	if json.Unmarshal(manifest, &m) != nil || m.Config.MediaType != types.MediaType(RecordArtifactType) ||
		m.Annotations[RecordInputsAnnotation] != "sha256:"+inputs {
		return rec, false
	}
	if json.Unmarshal([]byte(m.Annotations[RecordAnnotation]), &rec) != nil {
		return rec, false
	}
	if _, err := v1.NewHash(rec.Digest); err != nil {
		return rec, false
	}
	for _, d := range rec.Referrers {
		if _, err := v1.NewHash(d); err != nil {
			return rec, false
		}
	}
	for _, tg := range rec.Tagged {
		if !tagRE.MatchString(tg) {
			return rec, false
		}
	}
	return rec, true
}

// recordHeld says whether held, the digest tag holds, is right for rec:
// a record tag must hold rec's record (another manifest there, a record
// of something else, is replaced); any other tag (a signature, which
// differs from run to run) counts by its presence.
func recordHeld(tag string, rec Record, held string) bool {
	inputs, ok := strings.CutPrefix(tag, RecordTagPrefix)
	if !ok {
		return true
	}
	img, err := recordImage(inputs, rec)
	if err != nil {
		return false
	}
	d, err := img.Digest()
	return err == nil && d.String() == held
}

// taggedHeld says the same of a tagged manifest m that a push would
// store under tag.
func taggedHeld(tag string, m v1.Image, held string) bool {
	if !strings.HasPrefix(tag, RecordTagPrefix) {
		return true
	}
	d, err := m.Digest()
	return err == nil && d.String() == held
}
