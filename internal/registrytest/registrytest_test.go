package registrytest

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func push(t *testing.T, r *Registry, ref string, img v1.Image, auth authn.Authenticator, opts ...name.Option) error {
	t.Helper()
	tag, err := name.ParseReference(ref, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return remote.Write(tag, img, remote.WithTransport(r.Transport()), remote.WithAuth(auth))
}

func (r *Registry) basic() authn.Authenticator {
	return &authn.Basic{Username: r.User, Password: r.Password}
}

// A push to the TLS + basic-auth registry: refused without credentials or
// with a wrong password (401), accepted with them, logged as one upload
// per blob; a second push of the same layers to another repository with
// the first repository named as their source mounts every layer and
// uploads only what is new (the config).
func TestPushAuthUploadsAndMounts(t *testing.T) {
	r := Start(t, Options{})
	if r.CAFile == "" || r.User == "" || r.Password == "" {
		t.Fatalf("registry without CA or credentials: %+v", r)
	}
	img, err := random.Image(1024, 3)
	if err != nil {
		t.Fatal(err)
	}
	for name, auth := range map[string]authn.Authenticator{
		"anonymous":      authn.Anonymous,
		"wrong password": &authn.Basic{Username: r.User, Password: r.Password + "x"},
	} {
		err := push(t, r, r.Host+"/one:t", img, auth)
		var te *transport.Error
		if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s push: %v, want a 401", name, err)
		}
	}
	if refused := r.Requests(t); len(refused) == 0 || refused[len(refused)-1].Status != http.StatusUnauthorized {
		t.Errorf("the refused pushes are not logged as 401: %v", refused)
	}
	before := len(r.Requests(t))
	if err := push(t, r, r.Host+"/one:t", img, r.basic()); err != nil {
		t.Fatal(err)
	}
	reqs := r.Requests(t).Since(before)
	if got := len(reqs.Uploads()); got != 4 { // 3 layers + config
		t.Errorf("first push: %d uploads, want 4:\n%v", got, reqs)
	}
	if got := len(reqs.Mounts()); got != 0 {
		t.Errorf("first push: %d mounts, want 0", got)
	}
	if got := len(reqs.ManifestPuts()); got != 1 {
		t.Errorf("first push: %d manifest puts, want 1", got)
	}
	for _, q := range reqs.Uploads() {
		if q.Repo() != "one" {
			t.Errorf("upload %v: repo %q, want one", q, q.Repo())
		}
	}

	// The same layers, named as mountable from repository one, and a new config.
	img2, err := random.Image(10, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img2.ConfigName()
	from, _ := name.ParseReference(r.Host + "/one:t")
	layers, _ := img.Layers()
	var wantMounted []string
	mountable := make([]v1.Layer, len(layers))
	for i, l := range layers {
		mountable[i] = &remote.MountableLayer{Layer: l, Reference: from}
		d, _ := l.Digest()
		wantMounted = append(wantMounted, d.String())
	}
	img3, err := withLayers(img2, mountable)
	if err != nil {
		t.Fatal(err)
	}
	before = len(r.Requests(t))
	if err := push(t, r, r.Host+"/two/deeper:t", img3, r.basic()); err != nil {
		t.Fatal(err)
	}
	reqs = r.Requests(t).Since(before)
	mounted := reqs.Mounts().Digests()
	slices.Sort(mounted)
	slices.Sort(wantMounted)
	if !slices.Equal(mounted, wantMounted) {
		t.Errorf("second push mounted %v, want %v:\n%v", mounted, wantMounted, reqs)
	}
	for _, q := range reqs.Mounts() {
		if q.Repo() != "two/deeper" || q.Query.Get("from") != "one" {
			t.Errorf("mount %v: repo %q from %q", q, q.Repo(), q.Query.Get("from"))
		}
	}
	img3cfg, _ := img3.ConfigName()
	if up := reqs.Uploads().Digests(); len(up) != 1 || up[0] != img3cfg.String() {
		t.Errorf("second push uploaded %v, want only its config %v (random config %v)", up, img3cfg, cfg)
	}
}

// Plain HTTP on a loopback address other than 127.0.0.1, without auth:
// reachable over http only.
func TestPlainHTTPOtherLoopback(t *testing.T) {
	r := Start(t, Options{IP: "127.0.0.2", PlainHTTP: true, NoAuth: true})
	if r.CAFile != "" || r.User != "" {
		t.Fatalf("plain registry with a CA or credentials: %+v", r)
	}
	img, _ := random.Image(100, 1)
	if err := push(t, r, r.Host+"/p:t", img, authn.Anonymous); err == nil {
		t.Fatalf("a push to %s over https succeeded", r.Host)
	}
	if err := push(t, r, r.Host+"/p:t", img, authn.Anonymous, name.Insecure); err != nil {
		t.Fatal(err)
	}
	if got := len(r.Requests(t).ManifestPuts()); got != 1 {
		t.Errorf("%d manifest puts, want 1", got)
	}
}

// With ClientCerts the TLS handshake needs the client certificate; the
// cert directory holds the layout podman's --cert-dir reads.
func TestClientCerts(t *testing.T) {
	r := Start(t, Options{ClientCerts: true, NoAuth: true})
	img, _ := random.Image(100, 1)
	if err := push(t, r, r.Host+"/c:t", img, authn.Anonymous); err != nil {
		t.Fatalf("with the client certificate: %v", err)
	}
	tr := r.Transport()
	tr.TLSClientConfig.Certificates = nil
	tag, _ := name.ParseReference(r.Host + "/c:t")
	if err := remote.Write(tag, img, remote.WithTransport(tr)); err == nil {
		t.Error("a push without the client certificate succeeded")
	}
	dir, err := r.CertDir(filepath.Join(t.TempDir(), r.Host))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ca.crt", "client.cert", "client.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func withLayers(base v1.Image, layers []v1.Layer) (v1.Image, error) {
	return mutate.AppendLayers(base, layers...)
}
