package sbom

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// emptyJSON is the OCI empty descriptor's content ("{}"), the config of
// an artifact manifest.
var emptyJSON = []byte("{}")

// Referrer is an OCI 1.1 artifact manifest carrying doc as its one layer:
// artifactType and the layer's media type are mediaType (the format's:
// application/spdx+json, application/vnd.cyclonedx+json), the config is
// the empty descriptor, and subject is the image it describes. It is
// annotated with the creation time (SOURCE_DATE_EPOCH), so the same
// document of the same image is the same manifest.
func Referrer(subject v1.Descriptor, mediaType string, doc []byte, created time.Time) (v1.Image, error) {
	layer := static.NewLayer(doc, types.MediaType(mediaType))
	ld, err := partial.Descriptor(layer)
	if err != nil {
		return nil, err
	}
	cfg := static.NewLayer(emptyJSON, types.OCIEmptyJSON)
	cd, err := partial.Descriptor(cfg)
	if err != nil {
		return nil, err
	}
	// Only what identifies the subject (no platform, annotations).
	subj := v1.Descriptor{MediaType: subject.MediaType, Size: subject.Size, Digest: subject.Digest}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  mediaType,
		Config:        *cd,
		Layers:        []v1.Descriptor{*ld},
		Subject:       &subj,
		Annotations:   map[string]string{"org.opencontainers.image.created": created.UTC().Format(time.RFC3339)},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(&artifact{raw: raw, layer: layer, layerDigest: ld.Digest})
}

// artifact is an artifact manifest with one layer and the empty config.
type artifact struct {
	raw         []byte
	layer       v1.Layer
	layerDigest v1.Hash
}

func (a *artifact) RawConfigFile() ([]byte, error)      { return emptyJSON, nil }
func (a *artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (a *artifact) RawManifest() ([]byte, error)        { return a.raw, nil }

func (a *artifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == a.layerDigest {
		return a.layer, nil
	}
	return nil, fmt.Errorf("artifact has no blob %s", h)
}
