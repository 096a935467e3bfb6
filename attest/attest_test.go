package attest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/encoding/protojson"
)

const digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func sha(c byte) string { return strings.Repeat(string(c), 64) }

func testBuild() Build {
	return Build{
		Subject: "distroless/python3.13", Digest: digestA,
		Version: "v1.2.3", Revision: "abc",
		Argv:       []string{"gen", "python3", "-o", "oci:./out"},
		Parameters: map[string]any{"profile": "python3", "distro": "debian:trixie", "arch": "amd64", "keepDocs": false},
		Indexes: []Dependency{
			{URI: "https://deb.example/debian/dists/trixie/InRelease", SHA256: sha('1')},
			{URI: "https://deb.example/debian/dists/trixie/main/binary-amd64/Packages.xz", SHA256: sha('2')},
		},
		Profiles: []Dependency{{Name: "static", URI: "urn:distroless:profile:static", SHA256: sha('3')}},
		Packages: []Dependency{
			{Name: "tzdata_2025a_all", URI: "https://deb.example/debian/pool/t/tzdata.deb", SHA256: sha('5')},
			{Name: "base-files_13_amd64", URI: "https://deb.example/debian/pool/b/base-files.deb", SHA256: sha('4')},
		},
		Inputs:  []Dependency{{Name: "lockfile", URI: "file:python3.lock", SHA256: sha('6')}},
		Created: time.Unix(1700000000, 0),
	}
}

// The provenance is an in-toto v1 statement about the image's digest with
// a SLSA v1 predicate that its own types read back: builder, build type,
// the invocation, and every index, profile, package and the lockfile as
// resolved dependencies; dated by the build, not the clock.
func TestProvenanceContent(t *testing.T) {
	b := testBuild()
	data, err := Provenance(b)
	if err != nil {
		t.Fatal(err)
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(data, &st); err != nil {
		t.Fatalf("statement: %v\n%s", err, data)
	}
	if err := st.Validate(); err != nil {
		t.Fatal(err)
	}
	if st.Type != "https://in-toto.io/Statement/v1" || st.PredicateType != "https://slsa.dev/provenance/v1" {
		t.Errorf("type %q, predicate type %q", st.Type, st.PredicateType)
	}
	if len(st.Subject) != 1 || st.Subject[0].Digest["sha256"] != strings.TrimPrefix(digestA, "sha256:") || st.Subject[0].Name != b.Subject {
		t.Errorf("subject %v", st.Subject)
	}
	pj, _ := protojson.Marshal(st.Predicate)
	var p slsa.Provenance
	if err := protojson.Unmarshal(pj, &p); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	bd := p.BuildDefinition
	if bd.BuildType != BuildType || p.RunDetails.Builder.Id != DefaultBuilderID || p.RunDetails.Builder.Version["distroless"] != "v1.2.3" {
		t.Errorf("build type %q, builder %v", bd.BuildType, p.RunDetails.Builder)
	}
	ext := bd.ExternalParameters.AsMap()
	if ext["distro"] != "debian:trixie" || ext["profile"] != "python3" {
		t.Errorf("external parameters %v", ext)
	}
	if argv, _ := ext["argv"].([]any); len(argv) != 4 || argv[3] != "oci:./out" {
		t.Errorf("argv %v", ext["argv"])
	}
	if in := bd.InternalParameters.AsMap(); in["sourceDateEpoch"] != "1700000000" || in["revision"] != "abc" {
		t.Errorf("internal parameters %v", in)
	}
	kinds := map[string]int{}
	uris := map[string]string{}
	for _, d := range bd.ResolvedDependencies {
		kinds[d.Annotations.AsMap()["kind"].(string)]++
		uris[d.Uri] = d.Digest["sha256"]
	}
	if kinds["index"] != 2 || kinds["profile"] != 1 || kinds["package"] != 2 || kinds["lockfile"] != 1 {
		t.Errorf("dependencies by kind %v", kinds)
	}
	for _, d := range append(append(append(b.Indexes, b.Profiles...), b.Packages...), b.Inputs...) {
		if uris[d.URI] != d.SHA256 {
			t.Errorf("dependency %s: digest %q, want %q", d.URI, uris[d.URI], d.SHA256)
		}
	}
	if got := p.RunDetails.Metadata.GetStartedOn().AsTime(); !got.Equal(b.Created) {
		t.Errorf("startedOn %v, want %v", got, b.Created)
	}

	// An image of an index: the index is a second subject.
	b.Index = "sha256:" + sha('b')
	data, err = Provenance(b)
	if err != nil {
		t.Fatal(err)
	}
	st.Reset()
	if err := protojson.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Subject) != 2 || st.Subject[0].Digest["sha256"] != sha('a') || st.Subject[1].Digest["sha256"] != sha('b') {
		t.Errorf("subjects of an image of an index: %v", st.Subject)
	}
}

// The same build gives the same bytes (map order, protojson's spacing and
// the order of the package list do not leak in); a different input
// changes them.
func TestProvenanceReproducible(t *testing.T) {
	first, err := Provenance(testBuild())
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		b := testBuild()
		b.Packages[0], b.Packages[1] = b.Packages[1], b.Packages[0]
		again, err := Provenance(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("two provenances of one build differ:\n%s\n%s", first, again)
		}
	}
	b := testBuild()
	b.Indexes[0].SHA256 = sha('9')
	other, _ := Provenance(b)
	if bytes.Equal(first, other) {
		t.Error("another InRelease digest gives the same provenance")
	}
	if bytes.Contains(first, []byte("\n")) || bytes.Contains(first, []byte(": ")) {
		t.Errorf("not compact JSON: %s", first)
	}
}

// Bad input is an error naming what is wrong, never a statement.
func TestProvenanceRefuses(t *testing.T) {
	for name, mod := range map[string]func(*Build){
		"digest not sha256": func(b *Build) { b.Digest = "md5:abc" },
		"short digest":      func(b *Build) { b.Digest = "sha256:abc" },
		"no subject":        func(b *Build) { b.Subject = "" },
		"bad index":         func(b *Build) { b.Index = "sha256:zz" },
		"bad index digest":  func(b *Build) { b.Indexes[1].SHA256 = "zz" },
		"package no uri":    func(b *Build) { b.Packages[0].URI = "" },
		"bad lock digest":   func(b *Build) { b.Inputs[0].SHA256 = sha('g') },
	} {
		b := testBuild()
		mod(&b)
		if out, err := Provenance(b); err == nil {
			t.Errorf("%s: no error, got %s", name, out)
		}
	}
}

// Statement wraps a JSON object (an SBOM) about the image; anything else
// is refused.
func TestStatement(t *testing.T) {
	doc := []byte(`{"spdxVersion":"SPDX-2.3","name":"x","packages":[{"name":"a"}]}`)
	data, err := Statement("distroless/static", SPDXDocument, doc, digestA)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Type          string          `json:"_type"`
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	var a, b any
	json.Unmarshal(doc, &a)
	json.Unmarshal(st.Predicate, &b)
	if st.PredicateType != SPDXDocument || st.Type != intoto.StatementTypeUri || !jsonEqual(a, b) {
		t.Errorf("statement %s", data)
	}
	if _, err := Statement("s", SPDXDocument, doc); err == nil {
		t.Error("a statement without a subject digest was made")
	}
	for _, bad := range []string{`[1]`, `"x"`, `{`, ``} {
		if _, err := Statement("s", SPDXDocument, []byte(bad), digestA); err == nil {
			t.Errorf("predicate %q accepted", bad)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// A referrer is an OCI 1.1 artifact manifest: the subject's descriptor,
// artifactType, the empty config (digest of "{}"), one layer with the
// data; its digest depends on its content only.
func TestReferrer(t *testing.T) {
	img, err := random.Image(100, 1)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := Subject(img)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"hello":"world"}`)
	r, err := Referrer(sub, InTotoMediaType, data, map[string]string{"a": "b"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject == nil || m.Subject.Digest != sub.Digest || m.Subject.Size != sub.Size || m.ArtifactType != InTotoMediaType ||
		m.Config.MediaType != types.OCIEmptyJSON || m.Config.Digest.Hex != "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" ||
		len(m.Layers) != 1 || m.Layers[0].MediaType != InTotoMediaType || m.Annotations["a"] != "b" {
		t.Errorf("manifest %+v", m)
	}
	ls, err := r.Layers()
	if err != nil || len(ls) != 1 {
		t.Fatal(err)
	}
	rc, _ := ls[0].Compressed()
	var got bytes.Buffer
	got.ReadFrom(rc)
	if !bytes.Equal(got.Bytes(), data) {
		t.Errorf("layer %q", got.Bytes())
	}
	cfg, _ := r.RawConfigFile()
	if string(cfg) != "{}" {
		t.Errorf("config %q", cfg)
	}
	r2, _ := Referrer(sub, InTotoMediaType, data, map[string]string{"a": "b"})
	d1, _ := r.Digest()
	d2, _ := r2.Digest()
	if d1 != d2 {
		t.Errorf("one referrer, two digests %v %v", d1, d2)
	}
	if _, err := Referrer(v1.Descriptor{}, InTotoMediaType, data, nil); err == nil {
		t.Error("a referrer without subject was made")
	}
}

func writeKey(t *testing.T, dir, name string, key any, pemType string) string {
	t.Helper()
	var der []byte
	var err error
	switch pemType {
	case "EC PRIVATE KEY":
		der, err = x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	default:
		der, err = x509.MarshalPKCS8PrivateKey(key)
	}
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, string(pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der})))
}

// Keys: P-256 in PKCS#8 or SEC 1 PEM, and cosign's encrypted key files
// with the right password, load; an encrypted key without a password or
// with a wrong one, another curve, RSA, a missing file and garbage are
// errors that say which.
func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	k256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	good := []string{
		writeKey(t, dir, "pkcs8.pem", k256, "PRIVATE KEY"),
		writeKey(t, dir, "sec1.pem", k256, "EC PRIVATE KEY"),
	}
	for _, p := range good {
		s, err := LoadKey(p, nil)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		pub, err := cryptoutils.MarshalPublicKeyToPEM(s.key.Public())
		if err != nil {
			t.Fatal(err)
		}
		want, _ := cryptoutils.MarshalPublicKeyToPEM(k256.Public())
		if !bytes.Equal(pub, want) {
			t.Errorf("%s: public key %s", p, pub)
		}
	}
	priv, _, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte("s3cret")))
	if err != nil {
		t.Fatal(err)
	}
	enc := filepath.Join(dir, "cosign.key")
	os.WriteFile(enc, priv, 0o600)
	if _, err := LoadKey(enc, []byte("s3cret")); err != nil {
		t.Errorf("cosign key with its password: %v", err)
	}
	noPass, _, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(writeFile(t, dir, "nopass.key", string(noPass)), nil); err != nil {
		t.Errorf("cosign key with an empty password: %v", err)
	}
	pubPEM, _ := cryptoutils.MarshalPublicKeyToPEM(k256.Public())
	for name, c := range map[string]struct {
		file, pass, want string
	}{
		"public key":     {writeFile(t, dir, "k.pub", string(pubPEM)), "", "is a public key"},
		"directory":      {dir, "", "is a directory"},
		"endless file":   {"/dev/zero", "", "larger than"},
		"no password":    {enc, "", "COSIGN_PASSWORD"},
		"wrong password": {enc, "nope", "cannot decrypt"},
		"P-384":          {writeKey(t, dir, "p384.pem", k384, "PRIVATE KEY"), "", "P-384"},
		"RSA":            {writeKey(t, dir, "rsa.pem", rk, "PRIVATE KEY"), "", "want an ECDSA P-256 key"},
		"missing":        {filepath.Join(dir, "nope.pem"), "", "no such file"},
		"garbage":        {writeFile(t, dir, "junk.pem", "not a key"), "", "PEM"},
	} {
		_, err := LoadKey(c.file, []byte(c.pass))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
}

// writeFile writes s to dir/name, mode 0600, and returns its path.
func writeFile(t *testing.T, dir, name, s string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The signature manifest holds cosign's simple signing payload naming the
// digest, and a signature of it the key's public half verifies and
// another key does not; the attestations manifest holds one DSSE envelope
// per statement, annotated with its predicate type, that verifies the
// same way.
func TestSignAndAttest(t *testing.T) {
	dir := t.TempDir()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, err := LoadKey(writeKey(t, dir, "k.pem", k, "PRIVATE KEY"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := v1.NewHash(digestA)
	sig, err := s.Sign("registry.example/app", d)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := sig.Manifest()
	if len(m.Layers) != 1 || m.Layers[0].MediaType != SimpleSigningMediaType || m.MediaType != types.OCIManifestSchema1 {
		t.Fatalf("signature manifest %+v", m)
	}
	ls, _ := sig.Layers()
	rc, _ := ls[0].Compressed()
	var pl bytes.Buffer
	pl.ReadFrom(rc)
	var p payload.Cosign
	if err := json.Unmarshal(pl.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Image.DigestStr() != digestA {
		t.Errorf("payload names %s", p.Image.DigestStr())
	}
	raw, err := base64.StdEncoding.DecodeString(m.Layers[0].Annotations[SignatureAnnotation])
	if err != nil {
		t.Fatal(err)
	}
	mine, _ := signature.LoadVerifier(&k.PublicKey, crypto.SHA256)
	theirs, _ := signature.LoadVerifier(&other.PublicKey, crypto.SHA256)
	if err := mine.VerifySignature(bytes.NewReader(raw), bytes.NewReader(pl.Bytes())); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	if err := theirs.VerifySignature(bytes.NewReader(raw), bytes.NewReader(pl.Bytes())); err == nil {
		t.Error("signature verifies with another key")
	}

	prov, _ := Provenance(testBuild())
	sbom, _ := Statement("distroless/python3.13", SPDXDocument, []byte(`{"spdxVersion":"SPDX-2.3"}`), digestA)
	att, err := s.Attest(prov, sbom)
	if err != nil {
		t.Fatal(err)
	}
	am, _ := att.Manifest()
	als, _ := att.Layers()
	if len(am.Layers) != 2 || len(als) != 2 {
		t.Fatalf("attestations manifest %+v", am)
	}
	for i, want := range []string{SLSAProvenanceV1, SPDXDocument} {
		if am.Layers[i].MediaType != DSSEMediaType || am.Layers[i].Annotations[PredicateAnnotation] != want {
			t.Errorf("layer %d: %+v", i, am.Layers[i])
		}
		rc, _ := als[i].Compressed()
		var env bytes.Buffer
		env.ReadFrom(rc)
		if err := dsse.WrapVerifier(mine).VerifySignature(bytes.NewReader(env.Bytes()), nil); err != nil {
			t.Errorf("envelope %d does not verify: %v", i, err)
		}
		if err := dsse.WrapVerifier(theirs).VerifySignature(bytes.NewReader(env.Bytes()), nil); err == nil {
			t.Errorf("envelope %d verifies with another key", i)
		}
	}
	if _, err := s.Attest([]byte(`{"no":"type"}`)); err == nil {
		t.Error("a statement without a predicate type was attested")
	}
	if _, err := s.Attest(); err == nil {
		t.Error("nothing was attested")
	}
}
