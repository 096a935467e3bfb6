package attest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Predicate types and media types of the documents attached to images.
const (
	// SLSAProvenanceV1 is the predicate type of SLSA v1 provenance
	// (cosign verify-attestation --type slsaprovenance1).
	SLSAProvenanceV1 = "https://slsa.dev/provenance/v1"
	// SPDXDocument is the predicate type of an SPDX SBOM statement
	// (cosign verify-attestation --type spdxjson).
	SPDXDocument = "https://spdx.dev/Document"
	// CycloneDXBOM is the predicate type of a CycloneDX SBOM statement.
	CycloneDXBOM = "https://cyclonedx.org/bom"
	// InTotoMediaType is the media type of an in-toto statement.
	InTotoMediaType = "application/vnd.in-toto+json"
	// BuildType names the build gen does (SLSA buildType).
	BuildType = "https://github.com/distroless-dev/distroless/buildtypes/gen/v1"
	// DefaultBuilderID names the builder when the build does not say.
	DefaultBuilderID = "https://github.com/distroless-dev/distroless/cmd/distroless"
)

// Dependency is one input of a build, by URI and SHA-256.
type Dependency struct {
	Name   string // optional: a short name (the package, the profile)
	URI    string
	SHA256 string // hexadecimal
	// Of a package, optional: the image layer it is in, its size, and its
	// path relative to the mirror (annotations layer, size and path), so
	// that the image can be rebuilt from the provenance alone.
	Layer, Path string
	Size        int64
	// Digest, for an application package whose pin is not a SHA-256
	// (an npm integrity sha512), is its digest by algorithm (hex).
	Digest map[string]string
}

// Build is what a build used, the input of Provenance.
type Build struct {
	// Subject is the image: its name (a repository or the image title)
	// and its manifest digest ("sha256:HEX"). Index, when set, is the
	// digest of the image index holding it (a multi-platform build),
	// a second subject, so that the statement is about the index too.
	Subject, Digest, Index string
	// BuilderID is the SLSA builder id (DefaultBuilderID when empty);
	// Version the tool's version, Revision its VCS revision.
	BuilderID, Version, Revision string
	// Argv is the invocation as given (the arguments after the program
	// name); Parameters the settings that shaped the image (profile,
	// distro, arch, user, …), recorded as the external parameters.
	Argv       []string
	Parameters map[string]any
	// Indexes are the signed index files (InRelease, Packages,
	// repomd.xml, primary …), Profiles the profiles of the chain,
	// Packages the package files, Inputs the files given to the build
	// (the lockfile, a distro file, a keyring), each named by its kind.
	Indexes, Profiles, Packages, Inputs []Dependency
	// Apps are the application layer's packages (wheels, npm packages):
	// URI their purl, Name where they came from.
	Apps []Dependency
	// Created dates the build (SOURCE_DATE_EPOCH); the zero time leaves
	// the dates out.
	Created time.Time
}

// Provenance returns the SLSA v1 provenance statement of a build, as
// JSON with sorted keys and no insignificant space (so the same build
// gives the same bytes).
func Provenance(b Build) ([]byte, error) {
	if b.Subject == "" {
		return nil, errors.New("provenance: no subject name")
	}
	digests := []string{b.Digest}
	if b.Index != "" {
		digests = append(digests, b.Index)
	}
	subjects, err := subjectsOf(b.Subject, digests)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	params := map[string]any{}
	for k, v := range b.Parameters {
		params[k] = v
	}
	argv := make([]any, len(b.Argv))
	for i, a := range b.Argv {
		argv[i] = a
	}
	params["argv"] = argv
	ext, err := structOf(params)
	if err != nil {
		return nil, fmt.Errorf("provenance: parameters: %w", err)
	}
	internal := map[string]any{"version": b.Version}
	if b.Revision != "" {
		internal["revision"] = b.Revision
	}
	if !b.Created.IsZero() {
		internal["sourceDateEpoch"] = fmt.Sprint(b.Created.Unix())
	}
	in, err := structOf(internal)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	var deps []resourceDescriptor
	add := func(kind string, ds ...Dependency) error {
		for _, d := range ds {
			digest := map[string]string{"sha256": strings.ToLower(d.SHA256)}
			ok := isHex64(d.SHA256)
			if d.SHA256 == "" && len(d.Digest) > 0 {
				digest, ok = d.Digest, true
			}
			if d.URI == "" || !ok {
				return fmt.Errorf("provenance: %s dependency %q (%s): want a URI and a sha256", kind, d.Name, d.URI)
			}
			ann := map[string]string{"kind": kind}
			if d.Layer != "" {
				ann["layer"] = d.Layer
			}
			if d.Path != "" {
				ann["path"] = d.Path
			}
			if d.Size > 0 {
				ann["size"] = strconv.FormatInt(d.Size, 10) // every annotation a string
			}
			rd := resourceDescriptor{Name: d.Name, URI: d.URI, Digest: digest, Annotations: ann}
			if err := rd.validate(); err != nil {
				return fmt.Errorf("provenance: %s dependency %q: %w", kind, d.Name, err)
			}
			deps = append(deps, rd)
		}
		return nil
	}
	for _, group := range []struct {
		kind string
		ds   []Dependency
	}{{"index", b.Indexes}, {"profile", b.Profiles}, {"package", sortedDeps(b.Packages)}, {"app", b.Apps}} {
		if err := add(group.kind, group.ds...); err != nil {
			return nil, err
		}
	}
	for _, d := range b.Inputs {
		if err := add(d.Name, d); err != nil {
			return nil, err
		}
	}
	builder := b.BuilderID
	if builder == "" {
		builder = DefaultBuilderID
	}
	pred := &slsaProvenance{
		BuildDefinition: slsaBuildDefinition{
			BuildType:            BuildType,
			ExternalParameters:   ext,
			InternalParameters:   in,
			ResolvedDependencies: deps,
		},
		RunDetails: slsaRunDetails{
			Builder: slsaBuilder{ID: builder, Version: map[string]string{"distroless": b.Version}},
		},
	}
	if !b.Created.IsZero() {
		// The build's date, not the clock's: the same inputs give the
		// same statement.
		ts, err := timestamp(b.Created)
		if err != nil {
			return nil, fmt.Errorf("provenance: build date: %w", err)
		}
		pred.RunDetails.Metadata = &slsaBuildMetadata{StartedOn: ts, FinishedOn: ts}
	}
	if err := checkUTF8(builder, b.Version); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	return canonical(&statement{
		Type:          statementType,
		Subject:       subjects,
		PredicateType: SLSAProvenanceV1,
		Predicate:     pred,
	})
}

// Predicate is a document to attest: its predicate type and its JSON.
type Predicate struct {
	Type string
	JSON []byte
}

// Statement returns the in-toto statement (v1) of a predicate about the
// manifests with the digests given ("sha256:HEX": an image, and the index
// holding it), named subject: how an SBOM is attested. The predicate must
// be a JSON object.
func Statement(subject, predicateType string, predicate []byte, digests ...string) ([]byte, error) {
	subjects, err := subjectsOf(subject, digests)
	if err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	if predicateType == "" {
		return nil, errors.New("statement: no predicate type")
	}
	if err := checkUTF8(predicateType); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	p, err := decodeObject(predicate)
	if err != nil {
		return nil, fmt.Errorf("statement: the %s predicate is not a JSON object: %w", predicateType, err)
	}
	return canonical(&statement{
		Type:          statementType,
		Subject:       subjects,
		PredicateType: predicateType,
		Predicate:     p,
	})
}

// subjectsOf are a statement's subjects: name with each digest. cosign
// verify-attestation accepts a statement whose subjects include the
// digest verified.
func subjectsOf(name string, digests []string) ([]resourceDescriptor, error) {
	if len(digests) == 0 {
		return nil, errors.New("no subject digest")
	}
	if err := checkUTF8(name); err != nil {
		return nil, err
	}
	var out []resourceDescriptor
	for _, d := range digests {
		alg, hexd, ok := strings.Cut(d, ":")
		if !ok || alg != "sha256" || !isHex64(hexd) {
			return nil, fmt.Errorf("subject digest %q is not sha256:HEX", d)
		}
		out = append(out, resourceDescriptor{Name: name, Digest: map[string]string{"sha256": hexd}})
	}
	return out, nil
}

func sortedDeps(ds []Dependency) []Dependency {
	out := append([]Dependency(nil), ds...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].URI < out[j].URI
	})
	return out
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// SHA256 is the hexadecimal SHA-256 of data (a profile's or lockfile's
// bytes, for a Dependency).
func SHA256(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}
