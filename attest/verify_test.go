package attest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/attest/attesttest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestVerifier: what a Signer signs its public key verifies; another
// key, another digest and a tampered statement are refused.
func TestVerifier(t *testing.T) {
	priv, pub := attesttest.KeyPair(t, t.TempDir())
	_, otherPub := attesttest.KeyPair(t, t.TempDir())
	s, err := LoadKey(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	other, err := LoadPublicKey(otherPub)
	if err != nil {
		t.Fatal(err)
	}
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	sig, err := s.Sign("registry.example/app", d)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.VerifySignature(sig, d); err != nil {
		t.Errorf("own signature: %v", err)
	}
	if err := other.VerifySignature(sig, d); err == nil || !strings.Contains(err.Error(), "not made by the key") {
		t.Errorf("another key: %v", err)
	}
	if err := v.VerifySignature(sig, v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("cd", 32)}); err == nil {
		t.Error("a signature of another digest was taken")
	}
	st := []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","subject":[],"predicate":{}}`)
	att, err := s.Attest(st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.VerifyAttestations(att)
	if err != nil || len(got) != 1 || string(got[0]) != string(st) {
		t.Errorf("own attestation: %q, %v", got, err)
	}
	if _, err := other.VerifyAttestations(att); err == nil {
		t.Error("another key verified the attestation")
	}
	if _, err := LoadPublicKey(priv); err == nil {
		t.Error("a private key taken for a public one")
	}
}

// TestProvenancePackageFields: a package's layer, size and path are
// string annotations of its dependency (beside kind); a package without
// them, and the other dependencies, have kind alone.
func TestProvenancePackageFields(t *testing.T) {
	b := testBuild()
	b.Packages[0].Layer, b.Packages[0].Size, b.Packages[0].Path = "base", 12345, "pool/main/x/x.deb"
	data, err := Provenance(b)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Predicate struct {
			BuildDefinition struct {
				ResolvedDependencies []struct {
					Name        string            `json:"name"`
					Annotations map[string]string `json:"annotations"`
				} `json:"resolvedDependencies"`
			} `json:"buildDefinition"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("annotations are not all strings: %v", err)
	}
	found := false
	for _, d := range st.Predicate.BuildDefinition.ResolvedDependencies {
		a := d.Annotations
		switch {
		case d.Name == b.Packages[0].Name:
			found = true
			if a["kind"] != "package" || a["layer"] != "base" || a["size"] != "12345" || a["path"] != "pool/main/x/x.deb" || len(a) != 4 {
				t.Errorf("%s: %v", d.Name, a)
			}
		case len(a) != 1:
			t.Errorf("%s: %v, want kind alone", d.Name, a)
		}
	}
	if !found {
		t.Fatalf("no dependency %s in %s", b.Packages[0].Name, data)
	}
}
