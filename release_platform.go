package distroless

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/pipeline"
	"github.com/distroless-dev/distroless/publish"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// platformRecord is what a shard leaves of a platform image for the
// finishing run.
type platformRecord struct {
	Version  string       `json:"version"`
	Digest   string       `json:"digest"`
	Platform v1.Platform  `json:"platform"`
	SBOM     string       `json:"sbom,omitempty"` // the SBOM referrer's digest
	Build    attest.Build `json:"build"`          // its provenance's, before the index is known
}

// platformTag is the tag of the platform record of arch of the image
// whose inputs are inputs.
func platformTag(inputs, arch string) string {
	h := sha256.Sum256([]byte(platformRecordVersion + "\x00" + inputs + "\x00" + arch))
	return PlatformTagPrefix + hex.EncodeToString(h[:])
}

// platformRecordImage is the manifest of a platform record.
func platformRecordImage(inputs string, rec platformRecord) (v1.Image, error) {
	return publish.RecordManifest(PlatformArtifactType, inputs, rec)
}

// getManifest is the manifest ref holds, nil when there is none.
func getManifest(ref name.Reference, ropts []remote.Option) (*remote.Descriptor, error) {
	desc, err := remote.Get(ref, ropts...)
	var te *transport.Error
	switch {
	case errors.As(err, &te) && te.StatusCode == http.StatusNotFound:
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("asking %s for %s: %w", ref.Context().RegistryStr(), ref, err)
	}
	return desc, nil
}

// readPlatformRecord reads the platform record of (inputs, arch) in repo,
// ok false when there is none that is one.
func readPlatformRecord(repo name.Repository, inputs, arch string, ropts []remote.Option) (rec platformRecord, ok bool, err error) {
	desc, err := getManifest(repo.Tag(platformTag(inputs, arch)), ropts)
	if err != nil || desc == nil {
		return rec, false, err
	}
	var m v1.Manifest
	if json.Unmarshal(desc.Manifest, &m) != nil || m.Config.MediaType != types.MediaType(PlatformArtifactType) ||
		m.Annotations[publish.RecordInputsAnnotation] != "sha256:"+inputs {
		return rec, false, nil
	}
	if json.Unmarshal([]byte(m.Annotations[publish.RecordAnnotation]), &rec) != nil || rec.Version != platformRecordVersion || rec.Platform.Architecture != pipeline.PlatformOf(arch).Architecture {
		return rec, false, nil
	}
	if _, err := v1.NewHash(rec.Digest); err != nil {
		return rec, false, nil
	}
	if rec.SBOM != "" {
		if _, err := v1.NewHash(rec.SBOM); err != nil {
			return rec, false, nil
		}
	}
	return rec, true, nil
}

// repositories are the repositories of tags, in order.
func repositories(tags []string) ([]name.Repository, error) {
	var repos []name.Repository
	seen := map[string]bool{}
	for _, t := range tags {
		ref, err := name.NewTag(t, name.StrictValidation)
		if err != nil {
			return nil, err
		}
		if r := ref.Context(); !seen[r.Name()] {
			seen[r.Name()] = true
			repos = append(repos, r)
		}
	}
	return repos, nil
}
