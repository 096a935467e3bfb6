package attest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// legacyProvenance is the implementation on in-toto's protobuf types and
// protojson that Provenance replaced; the tests compare their bytes.
// Provenance returns the SLSA v1 provenance statement of a build, as
// JSON with sorted keys and no insignificant space (so the same build
// gives the same bytes).
func legacyProvenance(b Build) ([]byte, error) {
	if b.Subject == "" {
		return nil, errors.New("provenance: no subject name")
	}
	digests := []string{b.Digest}
	if b.Index != "" {
		digests = append(digests, b.Index)
	}
	subjects, err := legacySubjectsOf(b.Subject, digests)
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
	ext, err := structpb.NewStruct(params)
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
	in, err := structpb.NewStruct(internal)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	var deps []*intoto.ResourceDescriptor
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
			rd := &intoto.ResourceDescriptor{Name: d.Name, Uri: d.URI, Digest: digest}
			ann := map[string]any{"kind": kind}
			if d.Layer != "" {
				ann["layer"] = d.Layer
			}
			if d.Path != "" {
				ann["path"] = d.Path
			}
			if d.Size > 0 {
				ann["size"] = strconv.FormatInt(d.Size, 10) // every annotation a string
			}
			rd.Annotations, _ = structpb.NewStruct(ann)
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
	pred := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{
			BuildType:            BuildType,
			ExternalParameters:   ext,
			InternalParameters:   in,
			ResolvedDependencies: deps,
		},
		RunDetails: &slsa.RunDetails{
			Builder: &slsa.Builder{Id: builder, Version: map[string]string{"distroless": b.Version}},
		},
	}
	if !b.Created.IsZero() {
		// The build's date, not the clock's: the same inputs give the
		// same statement.
		ts := timestamppb.New(b.Created.UTC())
		pred.RunDetails.Metadata = &slsa.BuildMetadata{StartedOn: ts, FinishedOn: ts}
	}
	if err := pred.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	predStruct, err := legacyToStruct(pred)
	if err != nil {
		return nil, err
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       subjects,
		PredicateType: SLSAProvenanceV1,
		Predicate:     predStruct,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	return legacyCanonical(st)
}

// Statement returns the in-toto statement (v1) of a predicate about the
// manifests with the digests given ("sha256:HEX": an image, and the index
// holding it), named subject: how an SBOM is attested. The predicate must
// be a JSON object.
func legacyStatement(subject, predicateType string, predicate []byte, digests ...string) ([]byte, error) {
	subjects, err := legacySubjectsOf(subject, digests)
	if err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	var p structpb.Struct
	if err := protojson.Unmarshal(predicate, &p); err != nil {
		return nil, fmt.Errorf("statement: the %s predicate is not a JSON object: %w", predicateType, err)
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       subjects,
		PredicateType: predicateType,
		Predicate:     &p,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	return legacyCanonical(st)
}

// subjectsOf are a statement's subjects: name with each digest. cosign
// verify-attestation accepts a statement whose subjects include the
// digest verified.
func legacySubjectsOf(name string, digests []string) ([]*intoto.ResourceDescriptor, error) {
	if len(digests) == 0 {
		return nil, errors.New("no subject digest")
	}
	var out []*intoto.ResourceDescriptor
	for _, d := range digests {
		alg, hexd, ok := strings.Cut(d, ":")
		if !ok || alg != "sha256" || !isHex64(hexd) {
			return nil, fmt.Errorf("subject digest %q is not sha256:HEX", d)
		}
		out = append(out, &intoto.ResourceDescriptor{Name: name, Digest: map[string]string{"sha256": hexd}})
	}
	return out, nil
}

// toStruct converts a message into a structpb.Struct (a statement's
// predicate) through its JSON form.
func legacyToStruct(m proto.Message) (*structpb.Struct, error) {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	var s structpb.Struct
	if err := protojson.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// canonical marshals a message as JSON with sorted keys and no
// insignificant space: protojson's output is deliberately unstable in
// its spacing, encoding/json's of a decoded value is not.
func legacyCanonical(m proto.Message) ([]byte, error) {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}
