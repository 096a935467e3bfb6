package publish

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Source is where an image and its attachments are read back: a
// registry or an OCI layout (verify reads what it checks through it).
type Source interface {
	Top() (v1.Image, v1.ImageIndex, v1.Hash, error)
	// tagged is the manifest at a tag of the image's repository (or
	// layout), nil when there is none.
	Tagged(tag string) (v1.Image, error)
	// referrers are the manifests whose subject is d.
	Referrers(d v1.Hash) ([]v1.Image, error)
}

type registrySource struct {
	ref   name.Reference
	ropts []remote.Option
}

func (s *registrySource) Top() (v1.Image, v1.ImageIndex, v1.Hash, error) {
	desc, err := remote.Get(s.ref, s.ropts...)
	if err != nil {
		return nil, nil, v1.Hash{}, fmt.Errorf("reading %s: %w", s.ref, err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		return nil, idx, desc.Digest, err
	}
	img, err := desc.Image()
	return img, nil, desc.Digest, err
}

func (s *registrySource) Tagged(tag string) (v1.Image, error) {
	ref := s.ref.Context().Tag(tag)
	desc, err := remote.Get(ref, s.ropts...)
	var te *transport.Error
	switch {
	case errors.As(err, &te) && te.StatusCode == http.StatusNotFound:
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	return desc.Image()
}

func (s *registrySource) Referrers(d v1.Hash) ([]v1.Image, error) {
	idx, err := remote.Referrers(s.ref.Context().Digest(d.String()), s.ropts...)
	if err != nil {
		return nil, fmt.Errorf("the referrers of %s@%s: %w", s.ref.Context(), d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []v1.Image
	for _, m := range im.Manifests {
		img, err := remote.Image(s.ref.Context().Digest(m.Digest.String()), s.ropts...)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

type layoutSource struct {
	path layout.Path
	tag  string
}

func (s *layoutSource) find(tag string) (*v1.Descriptor, error) {
	idx, err := s.path.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, m := range im.Manifests {
		if m.Annotations[RefNameAnnotation] == tag {
			return &m, nil
		}
	}
	return nil, nil
}

func (s *layoutSource) Top() (v1.Image, v1.ImageIndex, v1.Hash, error) {
	m, err := s.find(s.tag)
	if err != nil {
		return nil, nil, v1.Hash{}, err
	}
	if m == nil {
		return nil, nil, v1.Hash{}, fmt.Errorf("OCI layout %s has no tag %q", s.path, s.tag)
	}
	if m.MediaType.IsIndex() {
		idx, err := s.path.ImageIndex()
		if err != nil {
			return nil, nil, v1.Hash{}, err
		}
		ii, err := idx.ImageIndex(m.Digest)
		return nil, ii, m.Digest, err
	}
	img, err := s.path.Image(m.Digest)
	return img, nil, m.Digest, err
}

func (s *layoutSource) Tagged(tag string) (v1.Image, error) {
	m, err := s.find(tag)
	if err != nil || m == nil {
		return nil, err
	}
	return s.path.Image(m.Digest)
}

func (s *layoutSource) Referrers(d v1.Hash) ([]v1.Image, error) {
	idx, err := s.path.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []v1.Image
	for _, m := range im.Manifests {
		if !m.MediaType.IsImage() {
			continue
		}
		img, err := s.path.Image(m.Digest)
		if err != nil {
			return nil, err
		}
		mf, err := img.Manifest()
		if err != nil {
			return nil, err
		}
		if mf.Subject != nil && mf.Subject.Digest == d {
			out = append(out, img)
		}
	}
	return out, nil
}

// OpenLayout is the image tagged tag in the OCI layout dir.
func OpenLayout(dir, tag string) (Source, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: not an OCI layout: %w", dir, err)
	}
	return &layoutSource{path: p, tag: tag}, nil
}

// OpenRegistry is the image ref names, read with reg's settings.
func OpenRegistry(ctx context.Context, ref name.Reference, reg RegistryOptions) (Source, error) {
	ropts, err := reg.Remote(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &registrySource{ref: ref, ropts: ropts}, nil
}
