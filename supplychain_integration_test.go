package distroless

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/internal/registrytest"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/pipeline"
	"github.com/distroless-dev/distroless/publish"
)

// supplyEnv is what gen, cosign and skopeo need to reach a test registry:
// its credentials (a docker config), its CA beside the system's, a fixed
// SOURCE_DATE_EPOCH and the signing key's password.
type supplyEnv struct {
	reg                  *registrytest.Registry
	dir, cosign, certDir string
	env                  []string
}

func newSupplyEnv(t *testing.T) *supplyEnv {
	t.Helper()
	s := &supplyEnv{reg: registrytest.Start(t, registrytest.Options{}), dir: t.TempDir()}
	s.cosign = filepath.Join(scanners(t), "cosign")
	if err := s.reg.WriteAuthFile(filepath.Join(s.dir, "docker", "config.json")); err != nil {
		t.Fatal(err)
	}
	system, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(s.dir, "ca.pem")
	if err := os.WriteFile(bundle, append(system, s.reg.CAPEM...), 0o644); err != nil {
		t.Fatal(err)
	}
	if s.certDir, err = s.reg.CertDir(filepath.Join(s.dir, "certs")); err != nil {
		t.Fatal(err)
	}
	s.env = append(os.Environ(), "DOCKER_CONFIG="+filepath.Join(s.dir, "docker"), "SSL_CERT_FILE="+bundle,
		"SOURCE_DATE_EPOCH=1700000000", "COSIGN_PASSWORD=test-password", "COSIGN_YES=true")
	return s
}

// run runs a program in dir with the environment, returning stdout, stderr
// and the exit code.
func (s *supplyEnv) run(t *testing.T, dir string, env []string, prog string, args ...string) (string, string, int) {
	t.Helper()
	r := clitest.Run(t, prog, clitest.Cmd{Dir: dir, Environ: s.env, Env: env}, args...)
	return r.Stdout, r.Stderr, r.Code
}

// keyPair makes a cosign key pair (encrypted with $COSIGN_PASSWORD) in a
// new directory and returns the private and public key files.
func (s *supplyEnv) keyPair(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	if _, stderr, code := s.run(t, dir, nil, s.cosign, "generate-key-pair"); code != 0 {
		t.Fatalf("cosign generate-key-pair: exit %d\n%s", code, stderr)
	}
	return filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
}

// gen runs gen with --json and returns its result.
func (s *supplyEnv) gen(t *testing.T, dir string, args ...string) pipeline.GenResult {
	t.Helper()
	stdout, stderr, code := s.run(t, dir, nil, testBin, append([]string{"gen", "--cache-dir", testCache, "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("gen %s: exit %d\n%s", strings.Join(args, " "), code, clitest.Tail(stderr, 30))
	}
	var res pipeline.GenResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("gen --json: %v\n%s", err, stdout)
	}
	return res
}

// verify runs cosign verify, and verify-attestation for each predicate
// type, of ref with the public key; it returns the statements
// verify-attestation printed, and fails the test on any refusal.
func (s *supplyEnv) verify(t *testing.T, ref, pub string, types ...string) map[string][]byte {
	t.Helper()
	stdout, stderr, code := s.run(t, "", nil, s.cosign, "verify", "--key", pub, "--insecure-ignore-tlog=true", ref)
	if code != 0 {
		t.Fatalf("cosign verify %s: exit %d\n%s", ref, code, clitest.Tail(stderr, 20))
	}
	var sigs []struct {
		Critical struct {
			Image struct {
				Digest string `json:"docker-manifest-digest"`
			} `json:"image"`
		} `json:"critical"`
	}
	if err := json.Unmarshal([]byte(stdout), &sigs); err != nil || len(sigs) != 1 {
		t.Fatalf("cosign verify output: %v\n%s", err, stdout)
	}
	if d := sigs[0].Critical.Image.Digest; !strings.HasSuffix(ref, "@"+d) {
		t.Errorf("cosign verify: the signature is of %s, not %s", d, ref)
	}
	out := map[string][]byte{}
	for _, typ := range types {
		stdout, stderr, code := s.run(t, "", nil, s.cosign, "verify-attestation", "--key", pub, "--insecure-ignore-tlog=true", "--type", typ, ref)
		if code != 0 {
			t.Fatalf("cosign verify-attestation --type %s %s: exit %d\n%s", typ, ref, code, clitest.Tail(stderr, 20))
		}
		// One DSSE envelope per line, for each attestation of the type.
		var env struct {
			Payload string `json:"payload"`
		}
		line, _, _ := strings.Cut(strings.TrimSpace(stdout), "\n")
		if err := json.Unmarshal([]byte(line), &env); err != nil {
			t.Fatalf("verify-attestation output: %v\n%s", err, stdout)
		}
		st, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			t.Fatal(err)
		}
		out[typ] = st
	}
	return out
}

// refuses checks that cosign refuses ref's signature and attestations
// with the wrong public key.
func (s *supplyEnv) refuses(t *testing.T, ref, wrongPub string) {
	t.Helper()
	for _, args := range [][]string{
		{"verify", "--key", wrongPub, "--insecure-ignore-tlog=true", ref},
		{"verify-attestation", "--key", wrongPub, "--insecure-ignore-tlog=true", "--type", "slsaprovenance1", ref},
	} {
		if stdout, _, code := s.run(t, "", nil, s.cosign, args...); code == 0 {
			t.Errorf("cosign %s with another key: exit 0\n%s", args[0], stdout)
		}
	}
}

type provenance struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate struct {
		BuildDefinition struct {
			ExternalParameters   map[string]any `json:"externalParameters"`
			ResolvedDependencies []struct {
				URI         string            `json:"uri"`
				Digest      map[string]string `json:"digest"`
				Annotations map[string]string `json:"annotations"`
			} `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
		} `json:"runDetails"`
	} `json:"predicate"`
}

// TestSupplyChainRegistry: gen --sign-key pushes an image to the real
// distribution registry (TLS, basic auth, no referrers API) with its
// provenance as a referrer, listed under the referrers tag schema's
// sha256-HEX tag, and its signature and attestations, which cosign
// verifies with the public key (cosign verify, verify-attestation --type
// slsaprovenance1; spdxjson once an SPDX statement is attested beside it)
// and refuses with another key. The provenance names the image's digest,
// the invocation, and every index file a lockfile of the same resolution
// pins.
func TestSupplyChainRegistry(t *testing.T) {
	integration(t)
	s := newSupplyEnv(t)
	key, pub := s.keyPair(t)
	_, otherPub := s.keyPair(t)
	repo := s.reg.Host + "/distroless/static"
	res := s.gen(t, s.dir, "static", "--distro", "debian:trixie", "-o", repo+":v1", "--sign-key", key, "--builder-id", "https://ci.example/builder")
	if res.Provenance == "" || res.Signature == "" || res.Attestations == "" {
		t.Fatalf("gen result names no provenance, signature or attestations: %+v", res)
	}
	ref := repo + "@" + res.Digest
	st := s.verify(t, ref, pub, "slsaprovenance1")
	s.refuses(t, ref, otherPub)

	var p provenance
	if err := json.Unmarshal(st["slsaprovenance1"], &p); err != nil {
		t.Fatal(err)
	}
	if p.PredicateType != attest.SLSAProvenanceV1 || len(p.Subject) != 1 || "sha256:"+p.Subject[0].Digest["sha256"] != res.Digest {
		t.Errorf("provenance: predicate %q, subject %v, want the image %s", p.PredicateType, p.Subject, res.Digest)
	}
	if p.Predicate.RunDetails.Builder.ID != "https://ci.example/builder" {
		t.Errorf("builder id %q", p.Predicate.RunDetails.Builder.ID)
	}
	ext := p.Predicate.BuildDefinition.ExternalParameters
	if ext["distro"] != "debian:trixie" || ext["profile"] != "static" || !slices.Contains(anyStrings(ext["argv"]), "--builder-id") {
		t.Errorf("external parameters %v", ext)
	}
	lock := filepath.Join(s.dir, "static.lock")
	if _, stderr, code := s.run(t, "", nil, testBin, "resolve", "static", "--distro", "debian:trixie", "--cache-dir", testCache, "--lock", lock); code != 0 {
		t.Fatalf("resolve --lock: %s", stderr)
	}
	l, err := lockfile.Read(lock)
	if err != nil {
		t.Fatal(err)
	}
	deps := map[string]string{}
	kinds := map[string]int{}
	for _, d := range p.Predicate.BuildDefinition.ResolvedDependencies {
		deps[d.URI] = d.Digest["sha256"]
		kinds[d.Annotations["kind"]]++
	}
	for _, ix := range l.Indexes {
		if deps[ix.URL] != ix.SHA256 {
			t.Errorf("index %s: provenance has sha256 %q, the lockfile %s", ix.URL, deps[ix.URL], ix.SHA256)
		}
	}
	for _, pk := range l.Packages {
		if deps[pk.URL] != pk.SHA256 {
			t.Errorf("package %s: provenance has sha256 %q, the lockfile %s", pk.URL, deps[pk.URL], pk.SHA256)
		}
	}
	if kinds["index"] != len(l.Indexes) || kinds["package"] != len(l.Packages) || kinds["profile"] != 1 {
		t.Errorf("dependencies by kind %v; the lockfile has %d indexes, %d packages", kinds, len(l.Indexes), len(l.Packages))
	}

	// The registry has no referrers API: the provenance is listed in the
	// fallback tag's index, which go-containerregistry reads back too.
	opts := []remote.Option{remote.WithTransport(s.reg.Transport()), remote.WithAuth(&authn.Basic{Username: s.reg.User, Password: s.reg.Password})}
	sub, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := v1.NewHash(res.Digest)
	fallback, err := remote.Index(sub.Context().Tag(attest.FallbackTag(h, "")), opts...)
	if err != nil {
		t.Fatalf("the referrers fallback tag: %v", err)
	}
	im, err := fallback.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for _, m := range im.Manifests {
		listed[m.Digest.String()] = m.ArtifactType
	}
	if len(im.Manifests) != 2 || listed[res.Provenance] != attest.InTotoMediaType || listed[res.SBOM] != "application/spdx+json" {
		t.Errorf("fallback index %+v, want the provenance %s and the SBOM %s", im.Manifests, res.Provenance, res.SBOM)
	}
	refs, err := remote.Referrers(sub, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if rm, _ := refs.IndexManifest(); rm == nil || len(rm.Manifests) != 2 || !slices.ContainsFunc(rm.Manifests, func(d v1.Descriptor) bool { return d.Digest.String() == res.Provenance }) {
		t.Errorf("remote.Referrers: %+v", rm)
	}
	// (The registry has no referrers API: it answers 404, and does not
	// log requests it has no route for.)
	req, _ := http.NewRequest(http.MethodGet, s.reg.URL()+"/v2/distroless/static/referrers/"+res.Digest, nil)
	req.SetBasicAuth(s.reg.User, s.reg.Password)
	if resp, err := (&http.Client{Transport: s.reg.Transport()}).Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the registry's referrers API answers %s: the fallback tag is not what is tested", resp.Status)
	}
	provImg, err := remote.Image(sub.Context().Digest(res.Provenance), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := provImg.Layers()
	if len(ls) != 1 {
		t.Fatalf("provenance referrer has %d layers", len(ls))
	}
	rc, _ := ls[0].Compressed()
	var referred bytes.Buffer
	referred.ReadFrom(rc)
	if !bytes.Equal(referred.Bytes(), st["slsaprovenance1"]) {
		t.Errorf("the referrer's statement differs from the signed one:\n%s\n%s", referred.Bytes(), st["slsaprovenance1"])
	}

	// gen attests the SBOM it attaches beside the provenance: cosign
	// verifies gen's spdxjson statement, whose subject is the image and
	// whose predicate is the SBOM referrer's document, byte for byte.
	both := s.verify(t, ref, pub, "slsaprovenance1", "spdxjson")
	var sst struct {
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(both["spdxjson"], &sst); err != nil {
		t.Fatalf("spdxjson statement: %v\n%.300s", err, both["spdxjson"])
	}
	if sst.PredicateType != attest.SPDXDocument || len(sst.Subject) != 1 || "sha256:"+sst.Subject[0].Digest["sha256"] != res.Digest {
		t.Errorf("spdxjson statement: predicate type %s, subjects %+v; want %s of %s", sst.PredicateType, sst.Subject, attest.SPDXDocument, res.Digest)
	}
	sbomImg, err := remote.Image(sub.Context().Digest(res.SBOM), opts...)
	if err != nil {
		t.Fatal(err)
	}
	sls, err := sbomImg.Layers()
	if err != nil || len(sls) != 1 {
		t.Fatalf("SBOM referrer: %d layers, %v", len(sls), err)
	}
	src, err := sls[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(src)
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	var attested, attached any
	if err := json.Unmarshal(sst.Predicate, &attested); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(doc, &attached); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(attested, attached) || !bytes.Contains(doc, []byte(`"SPDX-2.3"`)) {
		t.Errorf("the attested SBOM is not the attached one:\n%.300s\n%.300s", sst.Predicate, doc)
	}
}

func anyStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// TestSupplyChainLayout: gen --sign-key into an OCI layout holds the
// image, its sha256-HEX.sig and .att under those tags and the provenance
// untagged (a referrer of the image); the same gen in another directory
// gives byte-identical provenance; skopeo copies the tags to a registry
// unchanged, and cosign verifies them there. A wrong password, and a
// docker-archive output, fail before anything is written.
func TestSupplyChainLayout(t *testing.T) {
	integration(t)
	s := newSupplyEnv(t)
	key, pub := s.keyPair(t)
	_, otherPub := s.keyPair(t)
	var results []pipeline.GenResult
	for _, d := range []string{"a", "b"} {
		dir := filepath.Join(s.dir, d)
		os.MkdirAll(dir, 0o755)
		results = append(results, s.gen(t, dir, "static", "--distro", "debian:trixie", "-o", "oci:./out:static", "--sign-key", key, "--attach"))
	}
	res := results[0]
	if results[1].Digest != res.Digest || results[1].Provenance != res.Provenance {
		t.Errorf("two gens of one invocation: image %s / %s, provenance %s / %s", res.Digest, results[1].Digest, res.Provenance, results[1].Provenance)
	}
	if results[1].Signature == "" || results[1].Attestations == "" {
		t.Fatalf("no signature: %+v", results[1])
	}
	layout := filepath.Join(s.dir, "a", "out")
	index := clitest.ReadIndex(t, layout)
	h, err := v1.NewHash(res.Digest)
	if err != nil {
		t.Fatalf("gen's digest %q: %v", res.Digest, err)
	}
	want := map[string]string{
		"static": res.Digest,
		attest.FallbackTag(h, attest.SignatureSuffix):   res.Signature,
		attest.FallbackTag(h, attest.AttestationSuffix): res.Attestations,
		"provenance": res.Provenance,
		"sbom":       res.SBOM,
	}
	got := map[string]string{}
	for _, m := range index.Manifests {
		tag, tagged := m.Annotations[clitest.RefName]
		switch {
		case tagged:
			got[tag] = m.Digest
		case m.ArtifactType == attest.InTotoMediaType:
			got["provenance"] = m.Digest
		case m.ArtifactType == "application/spdx+json":
			got["sbom"] = m.Digest
		default:
			t.Errorf("untagged manifest %+v is neither the provenance nor the SBOM", m)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("layout index.json holds %v, want %v", got, want)
	}
	var pm struct {
		Subject *v1.Descriptor `json:"subject"`
		Config  v1.Descriptor  `json:"config"`
	}
	var provDesc clitest.Descriptor
	for _, m := range index.Manifests {
		if m.Digest == res.Provenance {
			provDesc = m
		}
	}
	raw := clitest.ReadBlob(t, layout, provDesc)
	if err := json.Unmarshal(raw, &pm); err != nil || pm.Subject == nil || pm.Subject.Digest.String() != res.Digest || pm.Config.MediaType != types.OCIEmptyJSON {
		t.Errorf("provenance manifest %s (%v)", raw, err)
	}

	// skopeo copies each tag unchanged; cosign verifies them in the registry.
	repo := s.reg.Host + "/layout/static"
	creds := s.reg.User + ":" + s.reg.Password
	for _, tag := range []string{"static", attest.FallbackTag(h, attest.SignatureSuffix), attest.FallbackTag(h, attest.AttestationSuffix)} {
		dst := tag
		if tag == "static" {
			dst = "v1"
		}
		if _, stderr, code := s.run(t, "", nil, "skopeo", "copy", "--preserve-digests", "--dest-creds", creds, "--dest-cert-dir", s.certDir,
			"oci:"+layout+":"+tag, "docker://"+repo+":"+dst); code != 0 {
			t.Fatalf("skopeo copy %s: exit %d\n%s", tag, code, stderr)
		}
	}
	ref := repo + "@" + res.Digest
	s.verify(t, ref, pub, "slsaprovenance1")
	s.refuses(t, ref, otherPub)

	// Refused before anything is written.
	out := filepath.Join(s.dir, "refused")
	for name, c := range map[string]struct {
		env  []string
		args []string
		code int
		want string
	}{
		"wrong password": {[]string{"COSIGN_PASSWORD=wrong"}, []string{"-o", "oci:" + out}, 1, "cannot decrypt"},
		"no password":    {[]string{"COSIGN_PASSWORD="}, []string{"-o", "oci:" + out}, 1, "COSIGN_PASSWORD"},
		"docker-archive": {nil, []string{"-o", "docker-archive:" + out + ".tar"}, 2, "docker-archive"},
	} {
		_, stderr, code := s.run(t, "", c.env, testBin, append([]string{"gen", "static", "--distro", "debian:trixie", "--cache-dir", testCache, "--sign-key", key, "--attach"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, want %d with %q:\n%s", name, code, c.code, c.want, stderr)
		}
		for _, p := range []string{out, out + ".tar"} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s: %s was written", name, p)
			}
		}
	}
}

// TestSupplyChainIndex: for an image index of two platforms' images,
// attach makes each image's provenance (naming the image and the index)
// a referrer of that image, and signs the index and each image; pushed to
// the registry as gen pushes (the index, the referrers by digest, the
// tags), cosign verifies the signature and the provenance and SBOM
// attestations of the index and of each image, and go-containerregistry
// finds each image's provenance through its fallback tag.
func TestSupplyChainIndex(t *testing.T) {
	integration(t)
	s := newSupplyEnv(t)
	key, pub := s.keyPair(t)
	_, otherPub := s.keyPair(t)
	signer, err := attest.LoadKey(key, []byte("test-password"))
	if err != nil {
		t.Fatal(err)
	}
	var adds []mutate.IndexAddendum
	var images []pipeline.BuiltImage
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(512, 2)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
		images = append(images, pipeline.BuiltImage{Img: img,
			Build: attest.Build{Version: "test", Parameters: map[string]any{"resolvedProfile": "static", "arch": arch},
				Indexes: []attest.Dependency{{URI: "https://deb.example/dists/trixie/InRelease", SHA256: strings.Repeat("1", 64)}}},
			Docs: []attest.Predicate{{Type: attest.SPDXDocument, JSON: []byte(`{"spdxVersion":"SPDX-2.3","name":"` + arch + `"}`)}},
		})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	indexDigest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	repo := s.reg.Host + "/multi/static"
	art := publish.Artifact{Index: idx}
	sc, err := pipeline.OpenSupplyChain(pipeline.GenOptions{Signer: signer}, []string{repo + ":v1"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sc.Attach(&art, repo+":v1", images)
	if err != nil {
		t.Fatal(err)
	}
	if len(art.Referrers) != 2 || len(res.Provenance) != 2 || len(art.Tagged) != 6 || len(res.Signature) != 3 || len(res.Attestations) != 3 {
		t.Fatalf("attached %d referrers, %d tagged manifests: %+v", len(art.Referrers), len(art.Tagged), res)
	}

	opts := []remote.Option{remote.WithTransport(s.reg.Transport()), remote.WithAuth(&authn.Basic{Username: s.reg.User, Password: s.reg.Password})}
	tag, _ := name.NewTag(repo + ":v1")
	if err := remote.WriteIndex(tag, idx, opts...); err != nil {
		t.Fatal(err)
	}
	for _, r := range art.Referrers {
		d, _ := r.Digest()
		if err := remote.Write(tag.Context().Digest(d.String()), r, opts...); err != nil {
			t.Fatal(err)
		}
	}
	for tg, m := range art.Tagged {
		if err := remote.Write(tag.Context().Tag(tg), m, opts...); err != nil {
			t.Fatal(err)
		}
	}

	for _, d := range []string{indexDigest.String(), mustDigest(t, images[0].Img), mustDigest(t, images[1].Img)} {
		ref := repo + "@" + d
		st := s.verify(t, ref, pub, "slsaprovenance1", "spdxjson")
		var p provenance
		if err := json.Unmarshal(st["slsaprovenance1"], &p); err != nil {
			t.Fatal(err)
		}
		var subjects []string
		for _, sub := range p.Subject {
			subjects = append(subjects, "sha256:"+sub.Digest["sha256"])
		}
		if !slices.Contains(subjects, d) || !slices.Contains(subjects, indexDigest.String()) {
			t.Errorf("%s: provenance subjects %v, want it and the index", d, subjects)
		}
		s.refuses(t, ref, otherPub)
	}
	for i, im := range images {
		d := mustDigest(t, im.Img)
		refs, err := remote.Referrers(tag.Context().Digest(d), opts...)
		if err != nil {
			t.Fatal(err)
		}
		rm, _ := refs.IndexManifest()
		if rm == nil || len(rm.Manifests) != 1 || rm.Manifests[0].Digest.String() != res.Provenance[d] {
			t.Errorf("image %d: referrers %+v, want its provenance %s", i, rm, res.Provenance[d])
		}
	}
}

func mustDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
