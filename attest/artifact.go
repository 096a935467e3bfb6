package attest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// emptyConfig is the OCI empty descriptor's content: an artifact
// manifest's config when the artifact has none.
var emptyConfig = []byte("{}")

// Referrer returns an OCI 1.1 artifact manifest holding data (of media
// type mediaType) as its one layer, with artifactType mediaType, the
// empty config, and subject as its subject: an SBOM or a statement
// attached beside an image. Annotations go on the manifest (e.g.
// org.opencontainers.image.created, for tools that list referrers). The
// manifest's bytes depend only on its arguments.
func Referrer(subject v1.Descriptor, mediaType string, data []byte, annotations map[string]string) (v1.Image, error) {
	return referrer(subject, mediaType, data, annotations, true)
}

// ReferrerBareConfig is Referrer with the empty config's descriptor
// carrying no inline data (only its media type, digest and size), the
// form of the SBOM referrers: the same arguments make the same manifest.
func ReferrerBareConfig(subject v1.Descriptor, mediaType string, data []byte, annotations map[string]string) (v1.Image, error) {
	return referrer(subject, mediaType, data, annotations, false)
}

func referrer(subject v1.Descriptor, mediaType string, data []byte, annotations map[string]string, inlineConfig bool) (v1.Image, error) {
	if subject.Digest.Algorithm == "" || subject.MediaType == "" || subject.Size <= 0 {
		return nil, fmt.Errorf("referrer of %s: the subject needs a media type, a digest and a size", mediaType)
	}
	layerDigest, size, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	cfgDigest, cfgSize, err := v1.SHA256(bytes.NewReader(emptyConfig))
	if err != nil {
		return nil, err
	}
	sub := v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  mediaType,
		Config:        v1.Descriptor{MediaType: types.OCIEmptyJSON, Digest: cfgDigest, Size: cfgSize},
		Layers:        []v1.Descriptor{{MediaType: types.MediaType(mediaType), Digest: layerDigest, Size: size}},
		Subject:       &sub,
	}
	if inlineConfig {
		m.Config.Data = emptyConfig
	}
	if len(annotations) > 0 {
		m.Annotations = maps.Clone(annotations)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(&artifact{raw: raw, data: data, layer: m.Layers[0]})
}

// artifact is a manifest with one blob and the empty config.
type artifact struct {
	raw   []byte
	data  []byte
	layer v1.Descriptor
}

func (a *artifact) RawConfigFile() ([]byte, error)      { return emptyConfig, nil }
func (a *artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (a *artifact) RawManifest() ([]byte, error)        { return a.raw, nil }

func (a *artifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h != a.layer.Digest {
		return nil, fmt.Errorf("artifact has no blob %s", h)
	}
	return &blob{a.layer, a.data}, nil
}

// blob is an artifact's content, stored as it is (not compressed).
type blob struct {
	d    v1.Descriptor
	data []byte
}

func (b *blob) Digest() (v1.Hash, error)            { return b.d.Digest, nil }
func (b *blob) Size() (int64, error)                { return b.d.Size, nil }
func (b *blob) MediaType() (types.MediaType, error) { return b.d.MediaType, nil }
func (b *blob) Compressed() (io.ReadCloser, error)  { return io.NopCloser(bytes.NewReader(b.data)), nil }

// Subject is the descriptor of img's manifest, as a referrer's subject.
func Subject(img v1.Image) (v1.Descriptor, error) {
	d, err := partial.Descriptor(img)
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}, nil
}

// FallbackTag is the tag of the referrers tag schema index of the
// manifest with digest d ("sha256-HEX"), and of cosign's signature
// ("sha256-HEX.sig") and attestations ("sha256-HEX.att") with suffix.
func FallbackTag(d v1.Hash, suffix string) string {
	return d.Algorithm + "-" + d.Hex + suffix
}
