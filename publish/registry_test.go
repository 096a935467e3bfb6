package publish

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// isolateConfig points every configuration location at empty temporary
// directories, so that nothing of the machine is read.
func isolateConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	oldFile, oldDir, oldCerts := registriesConfFile, registriesConfDir, systemCertsDirs
	registriesConfFile = filepath.Join(dir, "etc", "registries.conf")
	registriesConfDir = filepath.Join(dir, "etc", "registries.conf.d")
	systemCertsDirs = []string{filepath.Join(dir, "etc", "certs.d"), filepath.Join(dir, "etc", "docker-certs.d")}
	t.Cleanup(func() { registriesConfFile, registriesConfDir, systemCertsDirs = oldFile, oldDir, oldCerts })
	for _, k := range []string{"CONTAINERS_REGISTRIES_CONF", "REGISTRY_AUTH_FILE", "DOCKER_CONFIG"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("HOME", filepath.Join(dir, "home"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(dir, "run"))
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func repoOf(t *testing.T, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// registries.conf in both formats, drop-ins overriding the main file,
// the longest matching prefix winning, wildcards, blocked prefixes, and
// $CONTAINERS_REGISTRIES_CONF replacing the main file.
func TestRegistriesConf(t *testing.T) {
	isolateConfig(t)
	writeFile(t, registriesConfFile, `
unqualified-search-registries = ["docker.io"]
[[registry]]
location = "a.example:5000"
insecure = true
[[registry]]
prefix = "b.example/ns"
location = "b.example"
blocked = true
[[registry]]
location = "b.example"
insecure = true
[[registry]]
location = "*.corp.example"
insecure = true
[[registry]]
location = "c.example"
insecure = true
[registries.insecure]
registries = ["v1.example"]
`)
	writeFile(t, filepath.Join(registriesConfDir, "50-override.conf"), "[[registry]]\nlocation = \"c.example\"\ninsecure = false\n")
	o := RegistryOptions{}
	for repo, want := range map[string]bool{
		"a.example:5000/x":     true,
		"a.example/x":          false, // another port is another registry
		"b.example/other":      true,
		"reg.corp.example/x/y": true,
		"corp.example/x":       false,
		"c.example/x":          false, // the drop-in replaces the main file's entry
		"v1.example/x":         true,
		"elsewhere.example/x":  false,
	} {
		got, err := o.insecure(repoOf(t, repo))
		if err != nil || got != want {
			t.Errorf("insecure(%s) = %v, %v; want %v", repo, got, err, want)
		}
	}
	if got, _ := (RegistryOptions{Insecure: true}).insecure(repoOf(t, "elsewhere.example/x")); !got {
		t.Error("--insecure does not apply to every registry")
	}
	_, err := o.insecure(repoOf(t, "b.example/ns/img"))
	if err == nil || !strings.Contains(err.Error(), registriesConfFile) || !strings.Contains(err.Error(), "blocks b.example/ns") {
		t.Errorf("blocked prefix: %v", err)
	}
	if _, err := registryRef("b.example/ns/img:t", o); err == nil {
		t.Error("registryRef accepted a blocked reference")
	}
	ref, err := registryRef("a.example:5000/x:t", o)
	if err != nil || ref.Context().Scheme() != "http" {
		t.Errorf("registryRef of an insecure registry: %v, scheme %v", err, ref)
	}

	// $CONTAINERS_REGISTRIES_CONF replaces the main file; drop-ins still apply.
	alt := filepath.Join(t.TempDir(), "alt.conf")
	writeFile(t, alt, "[[registry]]\nlocation = \"alt.example\"\ninsecure = true\n")
	t.Setenv("CONTAINERS_REGISTRIES_CONF", alt)
	for repo, want := range map[string]bool{"alt.example/x": true, "a.example:5000/x": false} {
		if got, err := o.insecure(repoOf(t, repo)); err != nil || got != want {
			t.Errorf("with $CONTAINERS_REGISTRIES_CONF: insecure(%s) = %v, %v; want %v", repo, got, err, want)
		}
	}

	// A malformed file is an error naming it, not skipped.
	for _, bad := range []string{"[[registry]\n", "[[registry]]\ninsecure = \"yes\"\nlocation = \"x\"\n", "[[registry]]\ninsecure = true\n"} {
		writeFile(t, alt, bad)
		if _, err := o.insecure(repoOf(t, "alt.example/x")); err == nil || !strings.Contains(err.Error(), alt) {
			t.Errorf("malformed registries.conf %q: %v", bad, err)
		}
	}
}

// The auth files in podman's order; $REGISTRY_AUTH_FILE alone.
func TestAuthFiles(t *testing.T) {
	dir := isolateConfig(t)
	uid := strconv.Itoa(os.Getuid())
	want := []string{
		filepath.Join(dir, "run", "containers", "auth.json"),
		"/run/containers/" + uid + "/auth.json",
		filepath.Join(dir, "config", "containers", "auth.json"),
		filepath.Join(dir, "home", ".docker", "config.json"),
	}
	if got := authFiles(); !slices.Equal(got, want) {
		t.Errorf("authFiles() = %v, want %v", got, want)
	}
	os.Unsetenv("XDG_RUNTIME_DIR")
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "dc"))
	want = []string{"/run/containers/" + uid + "/auth.json", filepath.Join(dir, "config", "containers", "auth.json"), filepath.Join(dir, "dc", "config.json")}
	if got := authFiles(); !slices.Equal(got, want) {
		t.Errorf("without XDG_RUNTIME_DIR: authFiles() = %v, want %v", got, want)
	}
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dir, "only.json"))
	if got := authFiles(); !slices.Equal(got, []string{filepath.Join(dir, "only.json")}) {
		t.Errorf("with REGISTRY_AUTH_FILE: authFiles() = %v", got)
	}
}

func authJSON(entries map[string][2]string) string {
	var parts []string
	for k, up := range entries {
		parts = append(parts, fmt.Sprintf("%q:{\"auth\":%q}", k, base64.StdEncoding.EncodeToString([]byte(up[0]+":"+up[1]))))
	}
	return `{"auths":{` + strings.Join(parts, ",") + `}}`
}

// The first file with an entry wins; a namespaced entry wins over the
// host's in the same file; the source is recorded; a malformed file is
// an error naming it.
func TestAuthKeychain(t *testing.T) {
	dir := isolateConfig(t)
	runtime := filepath.Join(dir, "run", "containers", "auth.json")
	config := filepath.Join(dir, "config", "containers", "auth.json")
	docker := filepath.Join(dir, "home", ".docker", "config.json")
	writeFile(t, runtime, authJSON(map[string][2]string{"reg.example/team": {"team", "pt"}}))
	writeFile(t, config, authJSON(map[string][2]string{"reg.example": {"host", "ph"}, "other.example:5000": {"o", "po"}}))
	writeFile(t, docker, authJSON(map[string][2]string{"https://docker-only.example": {"d", "pd"}, "reg.example": {"never", "x"},
		"https://index.docker.io/v1/": {"hub", "ph"}}))
	k := newAuthKeychain()
	for repo, want := range map[string]struct{ user, file string }{
		"reg.example/team/app":   {"team", runtime},
		"reg.example/teamx/app":  {"host", config},
		"reg.example/x":          {"host", config},
		"other.example:5000/x":   {"o", config},
		"docker-only.example/x":  {"d", docker},
		"unknown.example/x":      {"", ""},
		"docker.io/library/x":    {"hub", docker},
		"other.example:5001/x/y": {"", ""},
	} {
		a, err := k.Resolve(repoOf(t, repo))
		if err != nil {
			t.Fatalf("%s: %v", repo, err)
		}
		cfg, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Username != want.user {
			t.Errorf("%s: user %q, want %q", repo, cfg.Username, want.user)
		}
		src, ok := k.Source(repoOf(t, repo).RegistryStr())
		if want.file == "" {
			if ok && repo == "unknown.example/x" {
				t.Errorf("%s: a source %+v for no credentials", repo, src)
			}
			continue
		}
		if !ok || src.File != want.file || src.User != want.user {
			t.Errorf("%s: source %+v, %v; want %s", repo, src, ok, want.file)
		}
	}
	writeFile(t, runtime, "{not json")
	if _, err := k.Resolve(repoOf(t, "reg.example/x")); err == nil || !strings.Contains(err.Error(), runtime) {
		t.Errorf("malformed auth file: %v", err)
	}
}

// 401 and 403 messages say whether credentials were found and where.
func TestExplainPushError(t *testing.T) {
	dir := isolateConfig(t)
	ref, _ := name.ParseReference("reg.example/a:t")
	e401 := fmt.Errorf("wrapped: %w", &transport.Error{StatusCode: http.StatusUnauthorized})
	k := newAuthKeychain()
	msg := RegistryOptions{}.explainPushError(e401, ref, k).Error()
	for _, want := range []string{"requires credentials", "none were found", filepath.Join(dir, "run", "containers", "auth.json"), "podman login reg.example"} {
		if !strings.Contains(msg, want) {
			t.Errorf("401 without credentials: %q lacks %q", msg, want)
		}
	}
	file := filepath.Join(dir, "config", "containers", "auth.json")
	writeFile(t, file, authJSON(map[string][2]string{"reg.example": {"alice", "pw"}}))
	if _, err := k.Resolve(ref.Context()); err != nil {
		t.Fatal(err)
	}
	msg = RegistryOptions{}.explainPushError(e401, ref, k).Error()
	for _, want := range []string{`refused the credentials of user "alice"`, file} {
		if !strings.Contains(msg, want) {
			t.Errorf("401 with credentials: %q lacks %q", msg, want)
		}
	}
	msg = RegistryOptions{}.explainPushError(&transport.Error{StatusCode: http.StatusForbidden}, ref, k).Error()
	if !strings.Contains(msg, "denied") || !strings.Contains(msg, file) {
		t.Errorf("403: %q", msg)
	}
	other := errors.New("connection reset")
	if err := (RegistryOptions{}).explainPushError(other, ref, k); !errors.Is(err, other) || !strings.Contains(err.Error(), "pushing reg.example/a:t") {
		t.Errorf("other error: %v", err)
	}
	tlsErr := fmt.Errorf("Get: %w; GET http://…: 400 Client sent an HTTP request to an HTTPS server.\n", x509.UnknownAuthorityError{})
	err := RegistryOptions{}.explainPushError(tlsErr, ref, k)
	msg = err.Error()
	if !strings.Contains(msg, filepath.Join(systemCertsDirs[0], "reg.example")) || !strings.Contains(msg, "RegistryOptions.CertDir") ||
		strings.Contains(msg, "\n\n") || strings.Count(msg, "\n") != 1 || !errors.Is(err, tlsErr) {
		t.Errorf("unknown authority: %q", msg)
	}
	msg = RegistryOptions{}.explainPushError(fmt.Errorf("Get: %w", http.ErrSchemeMismatch), ref, k).Error()
	if !strings.Contains(msg, "RegistryOptions.Insecure") || !strings.Contains(msg, "registries.conf") {
		t.Errorf("plain HTTP: %q", msg)
	}
}

func testCert(t *testing.T, isCA bool) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: isCA, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	kder, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), cert
}

// The certificate directory of a registry: the first certs.d that has
// HOST:PORT, or --cert-dir; its CAs are trusted and its client
// certificate presented; a key without its certificate or a .crt without
// a certificate is an error naming the file.
func TestTLSConfigCertDirs(t *testing.T) {
	isolateConfig(t)
	caPEM, _, ca := testCert(t, true)
	cliPEM, cliKey, _ := testCert(t, false)
	host := "reg.example:5000"
	docker := filepath.Join(systemCertsDirs[1], host)
	writeFile(t, filepath.Join(docker, "ca.crt"), string(caPEM))
	writeFile(t, filepath.Join(docker, "client.cert"), string(cliPEM))
	writeFile(t, filepath.Join(docker, "client.key"), string(cliKey))
	o := RegistryOptions{}
	c, err := o.tlsConfig(host, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Verify(x509.VerifyOptions{Roots: c.RootCAs}); err != nil {
		t.Errorf("the certs.d CA is not trusted: %v", err)
	}
	if len(c.Certificates) != 1 || c.InsecureSkipVerify {
		t.Errorf("%d client certificates, InsecureSkipVerify %v", len(c.Certificates), c.InsecureSkipVerify)
	}
	if c, _ := o.tlsConfig("other.example", false); c.RootCAs != nil || len(c.Certificates) != 0 {
		t.Error("another registry got the certificates")
	}
	if c, _ := o.tlsConfig("other.example", true); !c.InsecureSkipVerify {
		t.Error("insecure does not skip verification")
	}
	// /etc/containers/certs.d comes before docker's: an empty directory there wins.
	if err := os.MkdirAll(filepath.Join(systemCertsDirs[0], host), 0o755); err != nil {
		t.Fatal(err)
	}
	if c, _ := o.tlsConfig(host, false); c.RootCAs != nil {
		t.Error("containers' certs.d directory does not come first")
	}
	// --cert-dir replaces them.
	cd := t.TempDir()
	writeFile(t, filepath.Join(cd, "x.crt"), string(caPEM))
	c, err = RegistryOptions{CertDir: cd}.tlsConfig(host, false)
	if err != nil || c.RootCAs == nil {
		t.Fatalf("--cert-dir: %v", err)
	}
	writeFile(t, filepath.Join(cd, "lonely.key"), string(cliKey))
	if _, err := (RegistryOptions{CertDir: cd}).tlsConfig(host, false); err == nil || !strings.Contains(err.Error(), "lonely.key") {
		t.Errorf("a key without its certificate: %v", err)
	}
	os.Remove(filepath.Join(cd, "lonely.key"))
	writeFile(t, filepath.Join(cd, "bad.crt"), "not a certificate")
	if _, err := (RegistryOptions{CertDir: cd}).tlsConfig(host, false); err == nil || !strings.Contains(err.Error(), "bad.crt") {
		t.Errorf("a .crt without a certificate: %v", err)
	}
}

// The record of which repository holds which layer: shared between
// instances through the file, merged, tolerant of a damaged file.
func TestBlobMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry", "blobs.json")
	a, b := newBlobMemory(path), newBlobMemory(path)
	if err := a.add("r:1", "one", []string{"sha256:aa", "sha256:bb"}); err != nil {
		t.Fatal(err)
	}
	if err := b.add("r:1", "two", []string{"sha256:cc"}); err != nil {
		t.Fatal(err)
	}
	c := newBlobMemory(path)
	for d, want := range map[string]string{"sha256:aa": "one", "sha256:bb": "one", "sha256:cc": "two"} {
		if got, ok := c.source("r:1", "three", d); !ok || got != want {
			t.Errorf("source of %s = %q, %v; want %q", d, got, ok, want)
		}
	}
	if _, ok := c.source("r:1", "one", "sha256:aa"); ok {
		t.Error("a repository is its own mount source")
	}
	if _, ok := c.source("r:2", "x", "sha256:aa"); ok {
		t.Error("another registry's record used")
	}
	if err := os.WriteFile(path, []byte("{damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := newBlobMemory(path)
	if _, ok := d.source("r:1", "x", "sha256:aa"); ok {
		t.Error("a damaged record was read")
	}
	if err := d.add("r:1", "one", []string{"sha256:dd"}); err != nil {
		t.Fatal(err)
	}
	if got, ok := newBlobMemory(path).source("r:1", "x", "sha256:dd"); !ok || got != "one" {
		t.Errorf("after rewriting a damaged record: %q, %v", got, ok)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 2 { // the record and its lock file
		t.Errorf("files beside the record: %v", ents)
	}

	// Concurrent writers (separate instances, as separate processes
	// are) each add to what the others saved: nothing is lost.
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := newBlobMemory(path).add("r:c", "repo"+strconv.Itoa(i), []string{fmt.Sprintf("sha256:%02d", i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	final := newBlobMemory(path)
	for i := range 16 {
		if got, ok := final.source("r:c", "x", fmt.Sprintf("sha256:%02d", i)); !ok || got != "repo"+strconv.Itoa(i) {
			t.Errorf("concurrent writer %d lost: %q, %v", i, got, ok)
		}
	}
}

// Remote's options reach a registry with the settings: a HEAD of what a
// push wrote gives its digest.
func TestRegistryOptionsRemote(t *testing.T) {
	host := quietRegistry(t)
	img := testImage(t, "remote")
	o := RegistryOptions{BlobMemory: filepath.Join(t.TempDir(), "b.json")}
	if _, err := WriteOutputs(context.Background(), Artifact{Image: img}, []string{host + "/r:t"}, WriteOptions{Registry: o}); err != nil {
		t.Fatal(err)
	}
	ref, err := registryRef(host+"/r:t", o)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := o.Remote(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(ref, ro...)
	if err != nil || d.Digest.String() != digestOf(t, img) {
		t.Errorf("HEAD %s: %v, %v; want %s", ref, d, err, digestOf(t, img))
	}
}
