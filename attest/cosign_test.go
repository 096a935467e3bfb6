package attest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/distroless-dev/distroless/attest/attesttest"
	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/internal/registrytest"
)

// TestCosignInterop: with a key pair cosign made, what the real cosign
// signs and attests (an image in a registry, a blob) the Verifier and
// openEnvelope accept, and what the Signer signs and attests cosign
// verifies; another key is refused both ways.
func TestCosignInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("runs cosign and a registry: skipped with -short")
	}
	out, err := exec.Command("../scripts/scanners.sh").Output()
	if err != nil {
		t.Fatalf("scripts/scanners.sh (builds cosign): %v", err)
	}
	cosign := filepath.Join(strings.TrimSpace(string(out)), "cosign")
	reg := registrytest.Start(t, registrytest.Options{})
	dir := t.TempDir()
	if err := reg.WriteAuthFile(filepath.Join(dir, "docker", "config.json")); err != nil {
		t.Fatal(err)
	}
	system, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(bundle, append(system, reg.CAPEM...), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"DOCKER_CONFIG=" + filepath.Join(dir, "docker"), "SSL_CERT_FILE=" + bundle, "COSIGN_PASSWORD=s3cret", "COSIGN_YES=true"}
	run := func(args ...string) clitest.Result {
		t.Helper()
		return clitest.Run(t, cosign, clitest.Cmd{Dir: dir, Env: env}, args...)
	}
	must := func(args ...string) clitest.Result {
		t.Helper()
		r := run(args...)
		if r.Code != 0 {
			t.Fatalf("cosign %s: exit %d\n%s", strings.Join(args, " "), r.Code, clitest.Tail(r.Stderr, 20))
		}
		return r
	}
	must("generate-key-pair")
	key, pub := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	s, err := LoadKey(key, []byte("s3cret"))
	if err != nil {
		t.Fatalf("cosign's key: %v", err)
	}
	v, err := LoadPublicKey(pub)
	if err != nil {
		t.Fatalf("cosign's public key: %v", err)
	}
	_, otherPub := attesttest.KeyPair(t, filepath.Join(dir, "other"))
	other, err := LoadPublicKey(otherPub)
	if err != nil {
		t.Fatal(err)
	}
	opts := []remote.Option{remote.WithTransport(reg.Transport()), remote.WithAuth(&authn.Basic{Username: reg.User, Password: reg.Password})}
	push := func(img v1.Image, ref string) v1.Hash {
		t.Helper()
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img, opts...); err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	pull := func(ref string) v1.Image {
		t.Helper()
		img, err := remote.Image(mustRef(t, ref), opts...)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		return img
	}
	repo := reg.Host + "/interop/app"

	// cosign signs and attests an image: the Verifier accepts both.
	img, _ := random.Image(512, 1)
	d := push(img, repo+":cosign")
	predicate := filepath.Join(dir, "predicate.json")
	os.WriteFile(predicate, []byte(`{"buildDefinition":{"buildType":"x","externalParameters":{"a":1}},"runDetails":{"builder":{"id":"y"}}}`), 0o644)
	must("sign", "--key", key, "--tlog-upload=false", repo+"@"+d.String())
	must("attest", "--key", key, "--tlog-upload=false", "--type", "slsaprovenance1", "--predicate", predicate, repo+"@"+d.String())
	sigs := pull(repo + ":" + FallbackTag(d, SignatureSuffix))
	if err := v.VerifySignature(sigs, d); err != nil {
		t.Errorf("cosign's signature: %v", err)
	}
	if err := other.VerifySignature(sigs, d); err == nil {
		t.Error("cosign's signature verified with another key")
	}
	att := pull(repo + ":" + FallbackTag(d, AttestationSuffix))
	sts, err := v.VerifyAttestations(att)
	if err != nil || len(sts) != 1 {
		t.Fatalf("cosign's attestation: %d statements, %v", len(sts), err)
	}
	var st struct {
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(sts[0], &st); err != nil || st.PredicateType != SLSAProvenanceV1 || len(st.Subject) != 1 || st.Subject[0].Digest["sha256"] != d.Hex {
		t.Errorf("cosign's statement %s (%v)", sts[0], err)
	}
	if _, err := other.VerifyAttestations(att); err == nil {
		t.Error("cosign's attestation verified with another key")
	}

	// The Signer signs and attests an image: cosign verifies both.
	img2, _ := random.Image(512, 1)
	d2 := push(img2, repo+":ours")
	sig, err := s.Sign(repo, d2)
	if err != nil {
		t.Fatal(err)
	}
	push(sig, repo+":"+FallbackTag(d2, SignatureSuffix))
	b := testBuild()
	b.Subject, b.Digest = repo, d2.String()
	prov, err := Provenance(b)
	if err != nil {
		t.Fatal(err)
	}
	sbom, err := Statement(repo, SPDXDocument, []byte(`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","packages":[]}`), d2.String())
	if err != nil {
		t.Fatal(err)
	}
	atts, err := s.Attest(prov, sbom)
	if err != nil {
		t.Fatal(err)
	}
	push(atts, repo+":"+FallbackTag(d2, AttestationSuffix))
	ref2 := repo + "@" + d2.String()
	must("verify", "--key", pub, "--insecure-ignore-tlog=true", ref2)
	for _, typ := range []string{"slsaprovenance1", "spdxjson"} {
		r := must("verify-attestation", "--key", pub, "--insecure-ignore-tlog=true", "--type", typ, ref2)
		if !strings.Contains(r.Stdout, "payload") {
			t.Errorf("verify-attestation --type %s: %s", typ, r.Stdout)
		}
	}
	if r := run("verify", "--key", otherPub, "--insecure-ignore-tlog=true", ref2); r.Code == 0 {
		t.Error("cosign verified our signature with another key")
	}
	if r := run("verify-attestation", "--key", otherPub, "--insecure-ignore-tlog=true", "--type", "slsaprovenance1", ref2); r.Code == 0 {
		t.Error("cosign verified our attestation with another key")
	}

	// Blobs: cosign's signature and DSSE envelope open here; ours
	// verify with cosign.
	blob := filepath.Join(dir, "blob")
	os.WriteFile(blob, []byte("some bytes\n"), 0o644)
	r := must("sign-blob", "--key", key, "--tlog-upload=false", blob)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.Stdout))
	if err != nil {
		t.Fatalf("sign-blob output %q: %v", r.Stdout, err)
	}
	if err := verifyMessage(v.pub, []byte("some bytes\n"), raw); err != nil {
		t.Errorf("cosign's blob signature: %v", err)
	}
	if err := verifyMessage(other.pub, []byte("some bytes\n"), raw); err == nil {
		t.Error("cosign's blob signature verified with another key")
	}
	envFile := filepath.Join(dir, "env.json")
	must("attest-blob", "--key", key, "--tlog-upload=false", "--type", "slsaprovenance1", "--predicate", predicate, "--output-signature", envFile, blob)
	envData, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := openEnvelope(v.pub, envData); err != nil || !bytes.Contains(p, []byte(SLSAProvenanceV1)) {
		t.Errorf("cosign's envelope: %v\n%s", err, p)
	}
	if _, err := openEnvelope(other.pub, envData); err == nil {
		t.Error("cosign's envelope opened with another key")
	}
	ours, err := signMessage(s.key, []byte("some bytes\n"))
	if err != nil {
		t.Fatal(err)
	}
	sigFile := filepath.Join(dir, "blob.sig")
	os.WriteFile(sigFile, []byte(base64.StdEncoding.EncodeToString(ours)), 0o644)
	must("verify-blob", "--key", pub, "--insecure-ignore-tlog=true", "--signature", sigFile, blob)
	sum := sha256.Sum256([]byte("some bytes\n"))
	blobSt, err := Statement("blob", SLSAProvenanceV1, []byte(`{"buildDefinition":{}}`), "sha256:"+hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	ourEnv, err := signEnvelope(s.key, InTotoMediaType, blobSt)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(envFile, ourEnv, 0o644)
	must("verify-blob-attestation", "--key", pub, "--insecure-ignore-tlog=true", "--type", "slsaprovenance1", "--signature", envFile, blob)
	if r := run("verify-blob-attestation", "--key", otherPub, "--insecure-ignore-tlog=true", "--type", "slsaprovenance1", "--signature", envFile, blob); r.Code == 0 {
		t.Error("cosign opened our envelope with another key")
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
