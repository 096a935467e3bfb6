package distroless

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/attest"
)

// supplyChain is what gen attaches beside an image: its provenance, and
// with a signing key its signatures.
type supplyChain struct {
	signer *attest.Signer // nil without --sign-key
}

// openSupplyChain checks the supply-chain settings before anything is
// fetched: the signing key loads (decrypted with $COSIGN_PASSWORD), and
// the output can hold signatures.
func openSupplyChain(o GenOptions, output string) (*supplyChain, error) {
	sc := &supplyChain{}
	if o.SignKey == "" {
		return sc, nil
	}
	if strings.HasPrefix(output, "docker-archive:") {
		return nil, &UsageError{fmt.Errorf("--sign-key: a docker-archive holds the image alone, no signatures; write oci:DIR[:TAG] or push to a registry")}
	}
	s, err := attest.LoadKey(o.SignKey, []byte(os.Getenv(attest.PasswordEnv)))
	if err != nil {
		return nil, err
	}
	sc.signer = s
	return sc, nil
}

// attached is what attach added to an artifact, by digest.
type attached struct {
	Provenance   string // the provenance referrer
	Signature    string // the .sig manifest
	Attestations string // the .att manifest
}

// attach adds to art (one image, img) its SLSA provenance as a referrer
// and, with a signing key, its signature and the signed attestations of
// the provenance and of the documents given (an SBOM, as predicate type
// attest.SPDXDocument or attest.CycloneDXBOM), under cosign's tags. A
// docker-archive output gets nothing: it holds the image alone.
func (sc *supplyChain) attach(art *assemble.Artifact, img v1.Image, in *genInput, o GenOptions, output string, created time.Time, docs ...attest.Predicate) (attached, error) {
	var res attached
	if strings.HasPrefix(output, "docker-archive:") {
		return res, nil
	}
	subject, err := attest.Subject(img)
	if err != nil {
		return res, err
	}
	subjectName := strings.TrimSuffix(writeOptions(in.plan.Name).DefaultRef, ":latest")
	prov, err := attest.Provenance(in.build(o, subjectName, subject.Digest.String(), created))
	if err != nil {
		return res, err
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
	res.Provenance = d.String()
	art.Referrers = append(art.Referrers, ref)
	if sc.signer == nil {
		return res, nil
	}
	// The signature names the image by the repository it is pushed to,
	// else by its default name; cosign checks the digest, not the name.
	identity := subjectName
	if r, err := name.ParseReference(output); err == nil && !strings.HasPrefix(output, "oci:") {
		identity = r.Context().Name()
	}
	sig, err := sc.signer.Sign(identity, subject.Digest)
	if err != nil {
		return res, err
	}
	statements := [][]byte{prov}
	for _, doc := range docs {
		st, err := attest.Statement(subjectName, subject.Digest.String(), doc.Type, doc.JSON)
		if err != nil {
			return res, err
		}
		statements = append(statements, st)
	}
	att, err := sc.signer.Attest(statements...)
	if err != nil {
		return res, err
	}
	if art.Tagged == nil {
		art.Tagged = map[string]v1.Image{}
	}
	art.Tagged[attest.FallbackTag(subject.Digest, attest.SignatureSuffix)] = sig
	art.Tagged[attest.FallbackTag(subject.Digest, attest.AttestationSuffix)] = att
	for _, x := range []struct {
		img v1.Image
		to  *string
	}{{sig, &res.Signature}, {att, &res.Attestations}} {
		d, err := x.img.Digest()
		if err != nil {
			return res, err
		}
		*x.to = d.String()
	}
	return res, nil
}

// build is what the provenance of the image says of its build.
func (in *genInput) build(o GenOptions, subject, digest string, created time.Time) attest.Build {
	user := o.User
	if user == "" {
		user = "nonroot"
	}
	params := map[string]any{
		"profile":          in.plan.Requested,
		"resolvedProfile":  in.plan.Name,
		"distro":           in.distro.Name,
		"arch":             in.arch,
		"user":             user,
		"keepDocs":         o.KeepDocs,
		"allowMissingLibs": o.AllowMissingLibs,
	}
	if params["profile"] == "" {
		params["profile"] = in.plan.Name
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
	b := attest.Build{
		Subject: subject, Digest: digest,
		BuilderID: o.BuilderID, Version: Version, Revision: revision(),
		Argv: o.Argv, Parameters: params,
	}
	if strings.TrimSpace(os.Getenv("SOURCE_DATE_EPOCH")) != "" {
		b.Created = created // else the statement holds no date
	}
	for _, ix := range in.indexes {
		b.Indexes = append(b.Indexes, attest.Dependency{URI: ix.URL, SHA256: ix.SHA256})
	}
	for _, p := range in.plan.Chain {
		// The profile as used: its fields once placeholders are filled
		// in, as canonical JSON.
		data, err := json.Marshal(p)
		if err != nil {
			continue
		}
		b.Profiles = append(b.Profiles, attest.Dependency{Name: p.Name, URI: "urn:distroless:profile:" + p.Name, SHA256: attest.SHA256(data)})
	}
	for _, lv := range in.levels {
		for _, p := range lv {
			b.Packages = append(b.Packages, attest.Dependency{Name: p.Name + "_" + p.Version + "_" + p.Arch, URI: p.URL, SHA256: p.SHA256})
		}
	}
	if o.Lock != "" {
		if data, err := os.ReadFile(o.Lock); err == nil {
			b.Lock = &attest.Dependency{Name: "lockfile", URI: "file:" + o.Lock, SHA256: attest.SHA256(data)}
		}
	}
	return b
}
