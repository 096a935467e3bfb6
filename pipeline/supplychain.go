package pipeline

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/publish"
)

// SupplyChain is what gen attaches beside an image: its provenance, and
// with a signing key its signatures.
type SupplyChain struct {
	signer *attest.Signer // nil: unsigned
}

// OpenSupplyChain checks the supply-chain settings before anything is
// fetched: the outputs can hold signatures.
func OpenSupplyChain(o GenOptions, outputs []string) (*SupplyChain, error) {
	sc := &SupplyChain{}
	if o.Signer == nil {
		return sc, nil
	}
	for _, output := range outputs {
		if strings.HasPrefix(output, "docker-archive:") {
			return nil, &UsageError{&OptionError{Option: "Signer", Err: fmt.Errorf("%s: a docker-archive holds the image alone, no signatures; write oci:DIR[:TAG] or push to a registry", output)}}
		}
	}
	sc.signer = o.Signer
	return sc, nil
}

// BuiltImage is one image gen built (one platform's), what its
// provenance says of its build, and the documents attested beside it (its
// SBOM, as predicate type attest.SPDXDocument or attest.CycloneDXBOM).
type BuiltImage struct {
	Img   v1.Image
	Build attest.Build // Subject, Digest and Index are filled in by attach
	Docs  []attest.Predicate
}

// attached is what attach added to an artifact, by digest.
type attached struct {
	// Provenance is each image's provenance referrer, by image digest.
	Provenance map[string]string
	// Signature and Attestations are the .sig and .att manifests, by
	// the digest they sign (the artifact's, and each image's of an index).
	Signature, Attestations map[string]string
}

// Attach adds to art, one image or an index of the images given (in any
// order), the SLSA provenance of each image as a referrer of that image
// and, with a signing key, the signatures and signed attestations (the
// provenance and the documents of each image) under cosign's tags:
// sha256-HEX.sig and .att of every image, and of the index, whose
// attestations are all of its images' (each statement names the index
// as a subject beside its image). A docker-archive output gets nothing:
// it holds the image alone.
func (sc *SupplyChain) Attach(art *publish.Artifact, output string, images []BuiltImage) (attached, error) {
	res := attached{Provenance: map[string]string{}, Signature: map[string]string{}, Attestations: map[string]string{}}
	if strings.HasPrefix(output, "docker-archive:") {
		return res, nil
	}
	var index string
	if art.Index != nil {
		d, err := art.Index.Digest()
		if err != nil {
			return res, err
		}
		index = d.String()
	}
	var all [][]byte // every statement, for the index
	sign := func(subject v1.Hash, identity string, statements [][]byte) error {
		sig, err := sc.signer.Sign(identity, subject)
		if err != nil {
			return err
		}
		att, err := sc.signer.Attest(statements...)
		if err != nil {
			return err
		}
		if art.Tagged == nil {
			art.Tagged = map[string]v1.Image{}
		}
		for suffix, x := range map[string]struct {
			img v1.Image
			to  map[string]string
		}{attest.SignatureSuffix: {sig, res.Signature}, attest.AttestationSuffix: {att, res.Attestations}} {
			art.Tagged[attest.FallbackTag(subject, suffix)] = x.img
			d, err := x.img.Digest()
			if err != nil {
				return err
			}
			x.to[subject.String()] = d.String()
		}
		return nil
	}
	for _, im := range images {
		subject, err := attest.Subject(im.Img)
		if err != nil {
			return res, err
		}
		b := im.Build
		b.Subject, b.Digest, b.Index = imageName(b), subject.Digest.String(), index
		digests := []string{b.Digest}
		if index != "" {
			digests = append(digests, index)
		}
		prov, err := attest.Provenance(b)
		if err != nil {
			return res, err
		}
		created := time.Unix(0, 0)
		if !b.Created.IsZero() {
			created = b.Created
		}
		ref, err := attest.Referrer(subject, attest.InTotoMediaType, prov, map[string]string{
			"org.opencontainers.image.created": created.UTC().Format(time.RFC3339),
			attest.PredicateAnnotation:         attest.SLSAProvenanceV1,
		})
		if err != nil {
			return res, err
		}
		d, err := ref.Digest()
		if err != nil {
			return res, err
		}
		res.Provenance[b.Digest] = d.String()
		art.Referrers = append(art.Referrers, ref)
		if sc.signer == nil {
			continue
		}
		statements := [][]byte{prov}
		for _, doc := range im.Docs {
			st, err := attest.Statement(b.Subject, doc.Type, doc.JSON, digests...)
			if err != nil {
				return res, err
			}
			statements = append(statements, st)
		}
		all = append(all, statements...)
		if err := sign(subject.Digest, signIdentity(output, b.Subject), statements); err != nil {
			return res, err
		}
	}
	if sc.signer != nil && index != "" && len(all) > 0 {
		h, err := v1.NewHash(index)
		if err != nil {
			return res, err
		}
		if err := sign(h, signIdentity(output, imageName(images[0].Build)), all); err != nil {
			return res, err
		}
	}
	return res, nil
}

// imageName is the name statements give the image: its default name
// (distroless/PROFILE), the same whatever the output.
func imageName(b attest.Build) string {
	if p, ok := b.Parameters["resolvedProfile"].(string); ok && p != "" {
		return strings.TrimSuffix(WriteOptions(p).DefaultRef, ":latest")
	}
	return "distroless/image"
}

// signIdentity is the image name a signature claims: the repository it is
// pushed to, else its default name. (cosign checks the digest, not the
// name.)
// SignOutput is the output whose repository the signature names: the
// first push, else the first output.
func SignOutput(outputs []string) string {
	for _, o := range outputs {
		if !strings.HasPrefix(o, "oci:") && !strings.HasPrefix(o, "oci-archive:") && !strings.HasPrefix(o, "docker-archive:") {
			return o
		}
	}
	return outputs[0]
}

func signIdentity(output, fallback string) string {
	if strings.HasPrefix(output, "oci-archive:") {
		return fallback
	}
	if strings.HasPrefix(output, "oci:") || strings.HasPrefix(output, "docker-archive:") {
		return fallback
	}
	if r, err := name.ParseReference(output); err == nil {
		return r.Context().Name()
	}
	return fallback
}

// ProvenanceBuild is what the provenance of an image says of its build:
// the settings of o, the distro, the profile chain of plan, the packages
// of each level and the signed index files they came from.
func ProvenanceBuild(o GenOptions, d *distro.Distro, arch string, plan *profiles.Plan, levels [][]*packages.Package, indexes []packages.IndexFile, created time.Time, app *AppResult) attest.Build {
	user := o.User.given
	if user == "" {
		user = "nonroot"
	}
	params := map[string]any{
		"profile":          plan.Requested,
		"resolvedProfile":  plan.Name,
		"distro":           d.Name,
		"arch":             arch,
		"user":             user,
		"keepDocs":         o.KeepDocs,
		"allowMissingLibs": o.AllowMissingLibs,
	}
	if params["profile"] == "" {
		params["profile"] = plan.Name
	}
	for k, list := range map[string][]string{"add": o.Add, "exclude": o.Exclude} {
		if len(list) > 0 {
			vs := make([]any, len(list))
			for i, v := range list {
				vs[i] = v
			}
			params[k] = vs
		}
	}
	if o.Lock != "" {
		params["lockfile"] = o.Lock
	}
	if s := o.Settings.provenance(); s != nil {
		params["settings"] = s
	}
	b := attest.Build{
		BuilderID: o.BuilderID, Version: Version, Revision: revision(),
		Parameters: params,
	}
	for _, a := range o.Argv {
		b.Argv = append(b.Argv, redact(a))
	}
	if o.SourceDate != nil {
		b.Created = created // else the statement holds no date
	}
	for _, ix := range indexes {
		b.Indexes = append(b.Indexes, attest.Dependency{URI: redact(ix.URL), SHA256: ix.SHA256})
	}
	for _, p := range plan.Chain {
		// The profile as used: its fields once placeholders are filled
		// in, as canonical JSON.
		data, err := json.Marshal(p)
		if err != nil {
			continue
		}
		b.Profiles = append(b.Profiles, attest.Dependency{Name: p.Name, URI: "urn:distroless:profile:" + p.Name, SHA256: attest.SHA256(data)})
	}
	for li, lv := range levels {
		layer := ""
		if li < len(plan.Levels) {
			layer = plan.Levels[li].Name
		}
		for _, p := range lv {
			b.Packages = append(b.Packages, attest.Dependency{Name: p.Name + "_" + p.Version + "_" + p.Arch, URI: redact(p.URL), SHA256: p.SHA256,
				Layer: layer, Path: p.Location, Size: p.Size})
		}
	}
	b.Apps = appDependencies(app)
	for _, f := range []struct{ kind, path string }{{"lockfile", o.Lock}, {"distro", distroFile(o.Distro)}, {"keyring", o.Keyring}} {
		if f.path == "" {
			continue
		}
		if data, err := os.ReadFile(f.path); err == nil {
			b.Inputs = append(b.Inputs, attest.Dependency{Name: f.kind, URI: "file:" + f.path, SHA256: attest.SHA256(data)})
		}
	}
	return b
}

// redact hides the password of a URL (a mirror's https://user:pass@…) in
// an argument (URL or --flag=URL) or a URI the provenance records.
func redact(s string) string {
	i := strings.Index(s, "://")
	if i < 0 || !strings.Contains(s[i:], "@") {
		return s
	}
	start := strings.LastIndexAny(s[:i], "= ") + 1
	u, err := url.Parse(s[start:])
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); !has {
		return s
	}
	return s[:start] + u.Redacted()
}

// distroFile is --distro when it names a distro file.
func distroFile(name string) string {
	if name != "" && distro.IsFile(name) {
		return name
	}
	return ""
}
