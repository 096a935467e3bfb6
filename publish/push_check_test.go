package publish

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/distroless-dev/distroless/internal/registrytest"
)

// returnsWithin runs f, failing the test if it has not returned after
// limit (a hang, not a measure of speed); it returns f's error and how
// long it took.
func returnsWithin(t *testing.T, limit time.Duration, f func() error) (error, time.Duration) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err, time.Since(start)
	case <-time.After(limit):
		t.Fatalf("still waiting after %s", limit)
		return nil, 0
	}
}

// A push to a registry that accepts the connection and never answers
// fails with an error naming the registry and the timeout, rather than
// waiting for ever; so does the check before a build.
func TestPushTimeoutSilentRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for timeouts: skipped with -short; the full test command runs it")
	}
	isolateConfig(t)
	host := registrytest.SilentListener(t)
	opts := WriteOptions{Keychain: authn.NewMultiKeychain(), Registry: RegistryOptions{Timeout: time.Second, BlobMemory: filepath.Join(t.TempDir(), "b.json")}}
	img := testImage(t, "silent")
	for what, f := range map[string]func() error{
		"push": func() error {
			_, err := WriteOutputs(context.Background(), Artifact{Image: img}, []string{host + "/r:t"}, opts)
			return err
		},
		"check": func() error {
			return CheckPush(context.Background(), []string{"oci:" + t.TempDir(), host + "/r:t"}, opts)
		},
	} {
		err, took := returnsWithin(t, 2*time.Minute, f)
		t.Logf("%s: failed after %s: %v", what, took.Round(time.Millisecond), err)
		if err == nil || !strings.Contains(err.Error(), "pushing "+host+"/r:t: "+host+" did not answer within 1s") {
			t.Errorf("%s: err = %v, want one naming %s and the timeout", what, err, host)
		}
	}
}

// A registry that stops taking an upload halfway (the real registry
// behind a proxy that reads the first MiB of a large blob's upload and
// then nothing) fails the push with a write timeout naming the registry.
func TestPushTimeoutStalledUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for timeouts: skipped with -short; the full test command runs it")
	}
	isolateConfig(t)
	reg := registrytest.Start(t, registrytest.Options{PlainHTTP: true, NoAuth: true})
	target, err := url.Parse(reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	release := make(chan struct{})
	var stalled atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.Contains(r.URL.Path, "/blobs/uploads/") {
			head := make([]byte, 1<<20)
			n, err := io.ReadFull(r.Body, head)
			if err == nil {
				stalled.Add(1)
				<-release // the rest is never read
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(head[:n]))
			r.ContentLength = int64(n)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	host := strings.TrimPrefix(srv.URL, "http://")

	data := make([]byte, 64<<20)
	rand.Read(data)
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{Layer: static.NewLayer(data, types.OCILayer)})
	if err != nil {
		t.Fatal(err)
	}
	opts := WriteOptions{Keychain: authn.NewMultiKeychain(), Registry: RegistryOptions{Timeout: 2 * time.Second, BlobMemory: filepath.Join(t.TempDir(), "b.json")}}
	// The check before a build passes: the registry answers.
	if err := CheckPush(context.Background(), []string{host + "/big:t"}, opts); err != nil {
		t.Fatalf("check: %v", err)
	}
	err, took := returnsWithin(t, 2*time.Minute, func() error {
		_, err := WriteOutputs(context.Background(), Artifact{Image: img}, []string{host + "/big:t"}, opts)
		return err
	})
	t.Logf("failed after %s: %v", took.Round(time.Millisecond), err)
	if err == nil || !strings.Contains(err.Error(), "pushing "+host+"/big:t: "+host+" did not answer within 2s") || !strings.Contains(err.Error(), "i/o timeout") {
		t.Errorf("err = %v, want a write timeout naming %s", err, host)
	}
	if n := stalled.Load(); n != 1 {
		t.Errorf("%d uploads stalled, want 1 (a timed-out upload is not retried)", n)
	}
}

// A response whose body stops coming fails a registry read with an error
// naming the registry, after the timeout.
func TestRegistryTimeoutStalledBody(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a timeout: skipped with -short; the full test command runs it")
	}
	isolateConfig(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte(`{"schemaVersion":`))
		w.(http.Flusher).Flush()
		<-release
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	host := strings.TrimPrefix(srv.URL, "http://")
	o := RegistryOptions{Keychain: authn.NewMultiKeychain(), Timeout: time.Second}
	ref, err := registryRef(host+"/r:t", o)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := o.Remote(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	err, took := returnsWithin(t, 2*time.Minute, func() error {
		_, err := remote.Get(ref, ro...)
		return err
	})
	t.Logf("failed after %s: %v", took.Round(time.Millisecond), err)
	var te *registryTimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "no data from "+host+" for 1s") {
		t.Errorf("err = %v, want a timeout naming %s", err, host)
	}
}

// The check before a build, against the real registry with basic auth:
// wrong credentials and none are refused with the push's messages (the
// user and the file; where credentials were looked for), right ones pass
// and leave no upload behind.
func TestCheckPushCredentials(t *testing.T) {
	dir := isolateConfig(t)
	reg := registrytest.Start(t, registrytest.Options{})
	certs, err := reg.CertDir(filepath.Join(dir, "certs"))
	if err != nil {
		t.Fatal(err)
	}
	host := reg.Host
	opts := WriteOptions{Registry: RegistryOptions{CertDir: certs}}
	outs := []string{"oci:" + filepath.Join(dir, "lay"), host + "/a/b:t1", host + "/a/b:t2"}
	auth := filepath.Join(dir, "auth.json")
	t.Setenv("REGISTRY_AUTH_FILE", auth)

	before := len(reg.Requests(t))
	err = CheckPush(context.Background(), outs, opts)
	if err == nil || !strings.Contains(err.Error(), "pushing "+host+"/a/b:t1: "+host+" requires credentials (401 Unauthorized) and none were found for it in "+auth) {
		t.Errorf("no credentials: %v", err)
	}
	writeFile(t, auth, authJSON(map[string][2]string{host: {reg.User, "wrong-" + reg.Password}}))
	err = CheckPush(context.Background(), outs, opts)
	if err == nil || !strings.Contains(err.Error(), `refused the credentials of user "distroless" (from `+auth) {
		t.Errorf("wrong password: %v", err)
	}
	if err := reg.WriteAuthFile(auth); err != nil {
		t.Fatal(err)
	}
	if err := CheckPush(context.Background(), outs, opts); err != nil {
		t.Fatalf("right credentials: %v", err)
	}
	reqs := reg.Requests(t).Since(before)
	var posts, deletes int
	for _, q := range reqs {
		switch {
		case q.Method == http.MethodPost && q.Path == "/v2/a/b/blobs/uploads/" && q.Status == http.StatusAccepted:
			posts++
		case q.Method == http.MethodDelete && strings.HasPrefix(q.Path, "/v2/a/b/blobs/uploads/") && q.Status == http.StatusNoContent:
			deletes++
		}
	}
	// One repository, checked once; its upload cancelled.
	if posts != 1 || deletes != 1 || len(reqs.Uploads()) != 0 || len(reqs.ManifestPuts()) != 0 {
		t.Errorf("requests: %v", reqs)
	}
}
