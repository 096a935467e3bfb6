package distroless

import (
	"archive/tar"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/attest/attesttest"
	"github.com/distroless-dev/distroless/internal/clitest"
)

// TestVerify: verify rebuilds a pushed, signed release image from its
// provenance on an empty cache and finds the same digest, with the
// signing key's public half; it refuses another key; the same image with
// a layer appended, or with an environment variable added to its config
// (each given the original's provenance as a referrer), fails, naming
// the file the layer adds, or the config field; a mirror that no longer
// serves the pinned packages makes it fail naming a package.
func TestVerify(t *testing.T) {
	integration(t)
	e := newReleaseEnv(t)
	host := e.reg.Host
	key, pub := attesttest.KeyPair(t, filepath.Join(e.dir, "keys"))
	_, otherPub := attesttest.KeyPair(t, filepath.Join(e.dir, "other"))
	if err := os.WriteFile(filepath.Join(e.dir, "release.yaml"), []byte("registry: "+host+"/v\ndistros: [debian:trixie]\nimages: [base]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := e.release(t, "--sign-key", key)
	im := images(t, res, 1)[0]
	tag := im.Tags[0]
	verify := func(t *testing.T, args ...string) (string, string, int) {
		t.Helper()
		return e.run(t, append([]string{"verify", "--cache-dir", filepath.Join(t.TempDir(), "cache")}, args...)...)
	}

	stdout, stderr, code := verify(t, tag, "--key", pub)
	if code != 0 || !strings.Contains(stdout, "rebuilt to the same digest") || !strings.Contains(stdout, im.Digest) || !strings.Contains(stdout, "signature and attestations verified") {
		t.Fatalf("verify of the released image: exit %d\n%s\n%s", code, stdout, clitest.Tail(stderr, 20))
	}
	stdout, stderr, code = verify(t, tag)
	if code != 0 || !strings.Contains(stdout, "rebuilt to the same digest") {
		t.Errorf("verify without a key: exit %d\n%s\n%s", code, stdout, clitest.Tail(stderr, 20))
	}

	// An OCI layout gen wrote with its attachments, and image settings
	// (recorded in the provenance: the rebuild has them too).
	layoutDir := filepath.Join(e.dir, "layout")
	if _, stderr, code := e.run(t, "gen", "static", "--distro", "debian:trixie", "--cache-dir", testCache, "--attach", "--sign-key", key,
		"--env", "APP_MODE=prod", "--entrypoint", "/bin/true", "--label", "team=core", "-o", "oci:"+layoutDir+":s"); code != 0 {
		t.Fatalf("gen --attach: exit %d\n%s", code, clitest.Tail(stderr, 20))
	}
	if stdout, stderr, code := verify(t, "oci:"+layoutDir+":s", "--key", pub); code != 0 || !strings.Contains(stdout, "rebuilt to the same digest") {
		t.Errorf("verify of a layout: exit %d\n%s\n%s", code, stdout, clitest.Tail(stderr, 20))
	}
	if _, stderr, code := verify(t, "oci:"+layoutDir+":nosuchtag"); code == 0 || !strings.Contains(stderr, `no tag "nosuchtag"`) {
		t.Errorf("verify of a layout's missing tag: exit %d\n%s", code, clitest.Tail(stderr, 5))
	}

	// Another key.
	_, stderr, code = verify(t, tag, "--key", otherPub)
	if code == 0 || !strings.Contains(stderr, "not made by the key of "+otherPub) {
		t.Errorf("verify with another key: exit %d\n%s", code, clitest.Tail(stderr, 10))
	}

	opts := []remote.Option{remote.WithTransport(e.reg.Transport()), remote.WithAuth(&authn.Basic{Username: e.reg.User, Password: e.reg.Password})}
	img, err := remote.Image(mustTag(t, tag), opts...)
	if err != nil {
		t.Fatal(err)
	}
	h, err := v1.NewHash(im.Digest)
	if err != nil {
		t.Fatal(err)
	}
	// The provenance referrer of the image, to attach to the altered ones.
	refs, err := remote.Referrers(mustTag(t, tag).Context().Digest(im.Digest), opts...)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := refs.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var prov []byte
	for _, m := range rm.Manifests {
		if m.ArtifactType != attest.InTotoMediaType {
			continue
		}
		r, err := remote.Image(mustTag(t, tag).Context().Digest(m.Digest.String()), opts...)
		if err != nil {
			t.Fatal(err)
		}
		if prov, err = singleLayer(r); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Contains(prov, []byte(h.Hex)) {
		t.Fatalf("no provenance of %s among its referrers %+v", im.Digest, rm.Manifests)
	}
	pushAltered := func(t *testing.T, name string, alt v1.Image) string {
		t.Helper()
		ref := mustTag(t, host+"/v/altered:"+name)
		if err := remote.Write(ref, alt, opts...); err != nil {
			t.Fatal(err)
		}
		subject, err := attest.Subject(alt)
		if err != nil {
			t.Fatal(err)
		}
		r, err := attest.Referrer(subject, attest.InTotoMediaType, prov, map[string]string{attest.PredicateAnnotation: attest.SLSAProvenanceV1})
		if err != nil {
			t.Fatal(err)
		}
		rd, err := r.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref.Context().Digest(rd.String()), r, opts...); err != nil {
			t.Fatal(err)
		}
		return ref.String()
	}

	// A layer appended: one file more.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "etc/injected", Mode: 0o644, Size: 5, Typeflag: tar.TypeReg})
	tw.Write([]byte("evil\n"))
	tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	appended, err := mutate.AppendLayers(img, layer)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = verify(t, pushAltered(t, "appended", appended))
	if code == 0 || !strings.Contains(stdout, "only in the image") || !strings.Contains(stdout, "/etc/injected: file 0644 0:0 5 bytes sha256:") ||
		!strings.Contains(stdout, "the provenance attached to this image is about "+im.Digest) || !strings.Contains(stderr, "differ from their rebuild") {
		t.Errorf("verify of the image with a layer appended: exit %d\n%s\n%s", code, stdout, clitest.Tail(stderr, 10))
	}

	// An environment variable added to the config.
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Env = append(cf.Config.Env, "INJECTED=1")
	edited, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = verify(t, pushAltered(t, "env", edited))
	if code == 0 || !strings.Contains(stdout, "config config.Env: [") || !strings.Contains(stdout, "INJECTED=1] in the image") || strings.Contains(stdout, "layer 1") {
		t.Errorf("verify of the image with an env added: exit %d\n%s\n%s", code, stdout, clitest.Tail(stderr, 10))
	}

	// A mirror that serves nothing: the first package it cannot fetch is
	// named.
	gone := httptest.NewServer(http.NotFoundHandler())
	defer gone.Close()
	_, stderr, code = verify(t, tag, "--mirror", gone.URL+"/debian")
	if code == 0 || !strings.Contains(stderr, ".deb") || !strings.Contains(stderr, "404") {
		t.Errorf("verify against a mirror without the packages: exit %d\n%s", code, clitest.Tail(stderr, 10))
	}
}
