package distroless

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/internal/imagediff"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/pipeline"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/publish"
)

// VerifyOptions are the settings of Verify.
type VerifyOptions struct {
	pipeline.Options
	// Key is a public key file (cosign.pub): the image's signature and
	// attestations must verify with it, and the provenance is the signed
	// one. "" checks no signature and reads the provenance referrer.
	Key string
	// Mirror replaces the mirror of every package URL the provenance
	// records (a snapshot mirror): the URL is Mirror/PATH, PATH the
	// package's path the provenance records.
	Mirror   string
	Registry publish.RegistryOptions
	Progress func(string)
}

// VerifyResult is what Verify found.
type VerifyResult struct {
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	// Signed says the signatures and attestations verified with the key.
	Signed    bool               `json:"signed"`
	Platforms []VerifiedPlatform `json:"platforms"`
	// OK: every platform image rebuilt to its digest.
	OK bool `json:"ok"`
}

// VerifiedPlatform is one platform image and its rebuild.
type VerifiedPlatform struct {
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
	Rebuilt  string `json:"rebuilt"`
	Match    bool   `json:"match"`
	// Differences, when the digests differ: layer by layer (then file by
	// file), then the config's fields, then the manifest's.
	Differences []string `json:"differences,omitempty"`
}

// Verify reads an image (a registry reference, or oci:DIR:TAG) and the
// provenance of each of its platform images (with a key: the signed one,
// after the signatures verify), rebuilds each from what the provenance
// records (the pinned packages and index files, the profile, the distro,
// the user) and compares: a platform image that rebuilds to another
// digest gets its differences.
func Verify(ctx context.Context, ref string, o VerifyOptions) (*VerifyResult, error) {
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	var src publish.Source
	if rest, ok := strings.CutPrefix(ref, "oci:"); ok {
		dir, tag := rest, "latest"
		if i := strings.LastIndex(rest, ":"); i > 0 {
			dir, tag = rest[:i], rest[i+1:]
		}
		var err error
		if src, err = publish.OpenLayout(dir, tag); err != nil {
			return nil, err
		}
	} else {
		r, err := name.ParseReference(ref)
		if err != nil {
			return nil, &pipeline.UsageError{Err: fmt.Errorf("%q: not an image reference (REGISTRY/REPOSITORY:TAG, …@sha256:…, or oci:DIR:TAG): %w", ref, err)}
		}
		if o.Registry.Timeout == 0 {
			o.Registry.Timeout = o.Timeout
		}
		if src, err = publish.OpenRegistry(ctx, r, o.Registry); err != nil {
			return nil, err
		}
	}
	var ver *attest.Verifier
	if o.Key != "" {
		var err error
		if ver, err = attest.LoadPublicKey(o.Key); err != nil {
			return nil, err
		}
	}
	img, idx, top, err := src.Top()
	if err != nil {
		return nil, err
	}
	res := &VerifyResult{Ref: ref, Digest: top.String(), OK: true, Signed: ver != nil}
	type platformImage struct {
		img      v1.Image
		digest   v1.Hash
		platform string
	}
	var imgs []platformImage
	if idx != nil {
		if ver != nil {
			if err := verifySigned(src, ver, top); err != nil {
				return nil, fmt.Errorf("%s: %w", ref, err)
			}
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		for _, m := range im.Manifests {
			pi, err := idx.Image(m.Digest)
			if err != nil {
				return nil, err
			}
			p := ""
			if m.Platform != nil {
				p = m.Platform.String()
			}
			imgs = append(imgs, platformImage{pi, m.Digest, p})
		}
	} else {
		imgs = append(imgs, platformImage{img, top, ""})
	}
	for _, pi := range imgs {
		vp := VerifiedPlatform{Platform: pi.platform, Digest: pi.digest.String()}
		st, note, err := provenanceOf(src, ver, pi.digest)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", ref, pi.digest, err)
		}
		in, err := rebuildInputs(st, o.Mirror)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", ref, pi.digest, err)
		}
		if vp.Platform == "" {
			vp.Platform = pipeline.PlatformName(in.lock.Arch)
		}
		progress(fmt.Sprintf("rebuilding %s for %s from its provenance", in.profile, vp.Platform))
		rebuilt, err := o.rebuild(ctx, in, pi.img, progress)
		if err != nil {
			return nil, fmt.Errorf("rebuilding %s (%s) from its provenance: %w", ref, vp.Platform, err)
		}
		d, err := rebuilt.Digest()
		if err != nil {
			return nil, err
		}
		vp.Rebuilt = d.String()
		vp.Match = d == pi.digest && note == ""
		if note != "" {
			vp.Differences = append(vp.Differences, note)
		}
		if d != pi.digest {
			diffs, err := imagediff.Images(pi.img, rebuilt)
			if err != nil {
				return nil, fmt.Errorf("comparing %s with its rebuild: %w", vp.Platform, err)
			}
			vp.Differences = append(vp.Differences, diffs...)
		}
		if !vp.Match {
			res.OK = false
		}
		res.Platforms = append(res.Platforms, vp)
	}
	return res, nil
}

// verifySigned checks the signature of manifest d.
func verifySigned(src publish.Source, ver *attest.Verifier, d v1.Hash) error {
	tag := attest.FallbackTag(d, attest.SignatureSuffix)
	sig, err := src.Tagged(tag)
	if err != nil {
		return err
	}
	if sig == nil {
		return fmt.Errorf("no signature (tag %s): the image is not signed", tag)
	}
	if err := ver.VerifySignature(sig, d); err != nil {
		return fmt.Errorf("signature (tag %s): %w", tag, err)
	}
	return nil
}

// provenanceStatement is what verify reads of an SLSA provenance
// statement.
type provenanceStatement struct {
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate struct {
		BuildDefinition struct {
			ExternalParameters   map[string]any `json:"externalParameters"`
			InternalParameters   map[string]any `json:"internalParameters"`
			ResolvedDependencies []struct {
				Name        string            `json:"name"`
				URI         string            `json:"uri"`
				Digest      map[string]string `json:"digest"`
				Annotations map[string]any    `json:"annotations"`
			} `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
	} `json:"predicate"`
}

// names says whether the statement is about manifest d.
func (st *provenanceStatement) names(d v1.Hash) bool {
	for _, s := range st.Subject {
		if s.Digest[d.Algorithm] == d.Hex {
			return true
		}
	}
	return false
}

// provenanceOf is the provenance of the image with manifest digest d:
// with a key, the statement of its verified attestations (after its
// signature verifies); else the provenance referrer.
func provenanceOf(src publish.Source, ver *attest.Verifier, d v1.Hash) (_ *provenanceStatement, note string, _ error) {
	var candidates [][]byte
	if ver != nil {
		if err := verifySigned(src, ver, d); err != nil {
			return nil, "", err
		}
		tag := attest.FallbackTag(d, attest.AttestationSuffix)
		att, err := src.Tagged(tag)
		if err != nil {
			return nil, "", err
		}
		if att == nil {
			return nil, "", fmt.Errorf("no attestations (tag %s)", tag)
		}
		if candidates, err = ver.VerifyAttestations(att); err != nil {
			return nil, "", fmt.Errorf("attestations (tag %s): %w", tag, err)
		}
	} else {
		refs, err := src.Referrers(d)
		if err != nil {
			return nil, "", err
		}
		for _, r := range refs {
			m, err := r.Manifest()
			if err != nil {
				return nil, "", err
			}
			if m.Annotations[attest.PredicateAnnotation] != attest.SLSAProvenanceV1 {
				continue
			}
			data, err := singleLayer(r)
			if err != nil {
				return nil, "", err
			}
			candidates = append(candidates, data)
		}
	}
	var other *provenanceStatement
	for _, c := range candidates {
		var st provenanceStatement
		if json.Unmarshal(c, &st) != nil || st.PredicateType != attest.SLSAProvenanceV1 {
			continue
		}
		if st.names(d) {
			return &st, "", nil
		}
		if other == nil {
			other = &st
		}
	}
	if other != nil && ver == nil {
		// A provenance attached to this image that is about another:
		// rebuilt all the same, to say how the image differs from what
		// it claims to be.
		var names []string
		for _, s := range other.Subject {
			for alg, hex := range s.Digest {
				names = append(names, alg+":"+hex)
			}
		}
		return other, fmt.Sprintf("the provenance attached to this image is about %s, not %s", strings.Join(names, ", "), d), nil
	}
	return nil, "", errors.New("no SLSA provenance of this image found")
}

// rebuildInput is what the provenance says an image is made of.
type rebuildInput struct {
	profile string
	lock    *lockfile.Lock
	user    string
	gen     pipeline.GenOptions // KeepDocs, AllowMissingLibs
	epoch   string              // SOURCE_DATE_EPOCH, "" for none
}

// rebuildInputs reads a provenance statement into a lockfile of one
// platform and gen's settings.
func rebuildInputs(st *provenanceStatement, mirror string) (*rebuildInput, error) {
	bd := st.Predicate.BuildDefinition
	str := func(k string) string { s, _ := bd.ExternalParameters[k].(string); return s }
	in := &rebuildInput{profile: str("resolvedProfile"), user: str("user")}
	in.gen.KeepDocs, _ = bd.ExternalParameters["keepDocs"].(bool)
	in.gen.AllowMissingLibs, _ = bd.ExternalParameters["allowMissingLibs"].(bool)
	in.epoch, _ = bd.InternalParameters["sourceDateEpoch"].(string)
	var err error
	if in.gen.Settings, err = pipeline.SettingsOfProvenance(bd.ExternalParameters["settings"]); err != nil {
		return nil, err
	}
	for _, k := range []string{"add", "exclude"} {
		if l, _ := bd.ExternalParameters[k].([]any); len(l) > 0 {
			return nil, fmt.Errorf("the provenance records --%s %v: verify rebuilds from a closure it can pin, not one changed by hand", k, l)
		}
	}
	dist, arch := str("distro"), str("arch")
	if in.profile == "" || dist == "" || arch == "" {
		return nil, errors.New("the provenance names no profile, distro or architecture")
	}
	if _, _, err := profiles.Find(in.profile); err != nil {
		return nil, fmt.Errorf("the provenance names profile %s, which is not built in (verify rebuilds built-in profiles): %w", in.profile, err)
	}
	if distro.IsFile(dist) {
		return nil, fmt.Errorf("the image was built on distro file %s; verify rebuilds on built-in distros", dist)
	}
	in.lock = &lockfile.Lock{Version: lockfile.Version, Profile: in.profile, Requested: str("profile"), Distro: dist, Arch: arch}
	for _, dep := range bd.ResolvedDependencies {
		kind, _ := dep.Annotations["kind"].(string)
		sum := dep.Digest["sha256"]
		switch kind {
		case "app":
			return nil, fmt.Errorf("the image has an application layer (%s is one of its packages); verify does not rebuild application layers yet", dep.Name)
		case "index":
			in.lock.Indexes = append(in.lock.Indexes, lockfile.Index{URL: dep.URI, SHA256: sum})
		case "package":
			layer, _ := dep.Annotations["layer"].(string)
			path, _ := dep.Annotations["path"].(string)
			sizeText, _ := dep.Annotations["size"].(string)
			size, _ := strconv.ParseInt(sizeText, 10, 64)
			i := strings.LastIndex(dep.Name, "_")
			j := -1
			if i > 0 {
				j = strings.LastIndex(dep.Name[:i], "_")
			}
			if j <= 0 || layer == "" || size <= 0 {
				return nil, fmt.Errorf("the provenance records package %q without its layer or size (made by an older distroless?): it cannot be rebuilt", dep.Name)
			}
			url := dep.URI
			if mirror != "" {
				if path == "" || strings.HasPrefix(path, "/") || strings.Contains(path, "..") {
					return nil, fmt.Errorf("the provenance records no usable path of package %s for --mirror", dep.Name)
				}
				url = strings.TrimRight(mirror, "/") + "/" + path
			}
			in.lock.Packages = append(in.lock.Packages, lockfile.Package{Name: dep.Name[:j], Version: dep.Name[j+1 : i], Arch: dep.Name[i+1:],
				Layer: layer, SHA256: sum, Size: size, Path: path, URL: url})
		}
	}
	if len(in.lock.Packages) == 0 {
		return nil, errors.New("the provenance records no package")
	}
	// The lockfile's order: by layer as the profile has them, then name.
	sort.SliceStable(in.lock.Packages, func(a, b int) bool { return in.lock.Packages[a].Name < in.lock.Packages[b].Name })
	return in, nil
}

// rebuild builds the platform image the inputs describe, as gen --lock
// builds it (the layers compressed as the published image's are).
func (o *VerifyOptions) rebuild(ctx context.Context, in *rebuildInput, published v1.Image, progress func(string)) (v1.Image, error) {
	g := in.gen
	if in.epoch != "" {
		// The image's dates come from it, as at the build.
		n, err := strconv.ParseInt(in.epoch, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("the provenance's sourceDateEpoch %q: %w", in.epoch, err)
		}
		t := time.Unix(n, 0).UTC()
		g.SourceDate = &t
	}
	g.Options = o.Options
	g.Options.Distro, g.Options.Platforms, g.Options.Profile = "", []string{in.lock.Arch}, nil
	g.Options.Add, g.Options.Exclude = nil, nil
	u, err := pipeline.ParseUser(in.user)
	if err != nil {
		return nil, err
	}
	g.Progress, g.User, g.Lock = progress, u, "(the provenance)"
	if ls, err := published.Layers(); err == nil && len(ls) > 0 {
		if mt, err := ls[0].MediaType(); err == nil && strings.Contains(string(mt), "zstd") {
			g.Compression = assemble.Zstd
		}
	}
	gi, err := pipeline.LockPlan(in.profile, in.lock, g)
	if err != nil {
		return nil, err
	}
	imgs, err := pipeline.BuildImages(ctx, []*pipeline.Input{gi}, g, u)
	if err != nil {
		return nil, err
	}
	return imgs[0].Image, nil
}
