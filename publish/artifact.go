package publish

import (
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Artifact is what WriteOutputs writes: one image or one image index,
// with the manifests that go with it.
type Artifact struct {
	// Image is a single-platform image and Index a multi-platform image
	// index; exactly one of the two is set.
	Image v1.Image
	Index v1.ImageIndex
	// Referrers are OCI 1.1 manifests whose subject is the artifact or one
	// of the index's images (an SBOM, a provenance statement). A layout
	// holds them untagged in its index.json, kept while their subject is;
	// a push sends each by digest after the artifact, and the registry
	// indexes it by its subject (or the client updates the referrers tag
	// schema's fallback tag where the registry has no referrers API). A
	// docker-archive holds the image alone.
	Referrers []v1.Image
	// Tagged are manifests stored under tags of their own beside the
	// artifact (cosign's sha256-HEX.sig and .att), replacing what those
	// tags held. A docker-archive holds none of them.
	Tagged map[string]v1.Image
	// detached says the attachments were left out (WriteOptions.Attach
	// unset): a layout write then drops those an earlier write left of the
	// same image.
	detached bool
}

// check reports an artifact that is not exactly one image or index.
func (a Artifact) check() error {
	if (a.Image == nil) == (a.Index == nil) {
		return errors.New("an artifact is one image or one image index")
	}
	for tag := range a.Tagged {
		if !tagRE.MatchString(tag) {
			return fmt.Errorf("tag %q of an attached manifest is not a valid tag", tag)
		}
	}
	return nil
}

// descriptor describes the artifact's top manifest.
func (a Artifact) descriptor() (v1.Descriptor, error) {
	if a.Index != nil {
		return describe(a.Index)
	}
	d, err := describe(a.Image)
	if err != nil {
		return d, err
	}
	if cf, err := a.Image.ConfigFile(); err == nil && cf.Architecture != "" {
		d.Platform = &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	}
	return d, nil
}

// manifest is what an image and an image index have in common.
type manifest interface {
	MediaType() (types.MediaType, error)
	RawManifest() ([]byte, error)
	Digest() (v1.Hash, error)
}

func describe(m manifest) (v1.Descriptor, error) {
	mt, err := m.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	raw, err := m.RawManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	d, err := m.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	desc := v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: d}
	var head struct {
		ArtifactType string         `json:"artifactType"`
		Config       *v1.Descriptor `json:"config"`
	}
	if json.Unmarshal(raw, &head) == nil {
		desc.ArtifactType = head.ArtifactType
		if desc.ArtifactType == "" && head.Config != nil && mt == types.OCIManifestSchema1 &&
			head.Config.MediaType != types.OCIConfigJSON {
			desc.ArtifactType = string(head.Config.MediaType)
		}
	}
	return desc, nil
}
