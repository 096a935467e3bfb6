package publish

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Record is what a pushed artifact leaves in a registry, by which a
// later run tells whether a tag still holds it: the image's (or index's)
// digest, the referrers by digest (SBOMs and provenance, which the same
// inputs make byte for byte) and the tags of cosign's signatures and
// attestations (signatures differ from run to run, so only their
// presence counts).
type Record struct {
	Digest    string   `json:"digest"`
	Referrers []string `json:"referrers,omitempty"`
	Tagged    []string `json:"tagged,omitempty"`
}

// RecordOf is the record of an artifact whose manifest digest is digest.
func RecordOf(art Artifact, digest string) (Record, error) {
	r := Record{Digest: digest}
	for _, ref := range art.Referrers {
		d, err := ref.Digest()
		if err != nil {
			return r, err
		}
		r.Referrers = append(r.Referrers, d.String())
	}
	for t := range art.Tagged {
		r.Tagged = append(r.Tagged, t)
	}
	sort.Strings(r.Tagged)
	return r, nil
}

// StaleTags are the tags (REGISTRY/REPO:TAG) that do not hold the
// record's digest (missing ones included), or whose repository lacks one
// of its referrers or signature tags, asked of the registry with HEAD
// requests only.
func StaleTags(ctx context.Context, reg RegistryOptions, tags []string, rec Record) ([]string, error) {
	var stale []string
	complete := map[string]bool{} // by repository: every attachment is there
	for _, t := range tags {
		ref, err := name.NewTag(t, name.StrictValidation)
		if err != nil {
			return nil, err
		}
		ropts, err := reg.Remote(ctx, ref)
		if err != nil {
			return nil, err
		}
		held, err := headDigest(ref, ropts)
		if err != nil {
			return nil, err
		}
		if held != rec.Digest {
			stale = append(stale, t)
			continue
		}
		repo := ref.Context()
		ok, seen := complete[repo.Name()]
		if !seen {
			ok = true
			for _, d := range rec.Referrers {
				if held, err := headDigest(repo.Digest(d), ropts); err != nil {
					return nil, err
				} else if held == "" {
					ok = false
					break
				}
			}
			for _, tg := range rec.Tagged {
				if !ok {
					break
				}
				if held, err := headDigest(repo.Tag(tg), ropts); err != nil {
					return nil, err
				} else if held == "" || !recordHeld(tg, rec, held) {
					ok = false
				}
			}
			complete[repo.Name()] = ok
		}
		if !ok {
			stale = append(stale, t)
		}
	}
	return stale, nil
}

// headDigest is the digest ref holds, "" when the registry has none.
func headDigest(ref name.Reference, ropts []remote.Option) (string, error) {
	desc, err := remote.Head(ref, ropts...)
	var te *transport.Error
	switch {
	case errors.As(err, &te) && te.StatusCode == http.StatusNotFound:
		return "", nil
	case err != nil:
		return "", fmt.Errorf("asking %s for %s: %w", ref.Context().RegistryStr(), ref, err)
	}
	return desc.Digest.String(), nil
}

// PushMissing sends the artifact to the tags (REGISTRY/REPO:TAG) through
// WriteOutputs' registry output (blobs a repository has are not sent,
// those another repository of the registry has are mounted), one
// repository at a time, each with only the attachments it lacks: a
// referrer (SBOM, provenance) is stored once by digest, and a signature
// or attestation tag that exists signs the same digest already (a tag
// moved back to an image stores one manifest).
func PushMissing(ctx context.Context, art Artifact, tags []string, opts WriteOptions) error {
	reg := opts.registry()
	var repos []name.Repository
	byRepo := map[string][]string{}
	for _, t := range tags {
		ref, err := name.NewTag(t, name.StrictValidation)
		if err != nil {
			return err
		}
		r := ref.Context()
		if byRepo[r.Name()] == nil {
			repos = append(repos, r)
		}
		byRepo[r.Name()] = append(byRepo[r.Name()], t)
	}
	for _, repo := range repos {
		ropts, err := reg.Remote(ctx, repo.Tag("latest"))
		if err != nil {
			return err
		}
		a := art
		a.Referrers, a.Tagged = nil, nil
		for _, r := range art.Referrers {
			d, err := r.Digest()
			if err != nil {
				return err
			}
			held, err := headDigest(repo.Digest(d.String()), ropts)
			if err != nil {
				return err
			}
			if held == "" {
				a.Referrers = append(a.Referrers, r)
			}
		}
		for tag, m := range art.Tagged {
			held, err := headDigest(repo.Tag(tag), ropts)
			if err != nil {
				return err
			}
			if held == "" || !taggedHeld(tag, m, held) {
				if a.Tagged == nil {
					a.Tagged = map[string]v1.Image{}
				}
				a.Tagged[tag] = m
			}
		}
		if _, err := WriteOutputs(ctx, a, byRepo[repo.Name()], opts); err != nil {
			return err
		}
	}
	return nil
}

// HeadDigest is the digest ref holds, "" when the registry has none.
func HeadDigest(ref name.Reference, ropts []remote.Option) (string, error) {
	return headDigest(ref, ropts)
}
