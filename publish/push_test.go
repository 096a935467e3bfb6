package publish

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// quietRegistry isolates the registry settings and serves an in-memory
// registry for the test, whose host:port it returns.
func quietRegistry(t *testing.T) string {
	t.Helper()
	isolateConfig(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Several outputs in one write: every tag of a repository and every
// repository get the image, each repository reported once with its tags,
// in output order.
func TestWriteOutputsSeveralTags(t *testing.T) {
	host := quietRegistry(t)
	img := testImage(t, "tags")
	layout := filepath.Join(t.TempDir(), "lay")
	outs := []string{host + "/x/y:t1", "oci:" + layout + ":l", host + "/z:t", host + "/x/y:t2"}
	res, err := WriteOutputs(context.Background(), Artifact{Image: img}, outs, WriteOptions{Keychain: authn.NewMultiKeychain(),
		Registry: RegistryOptions{BlobMemory: filepath.Join(t.TempDir(), "blobs.json")}})
	if err != nil {
		t.Fatal(err)
	}
	d := digestOf(t, img)
	want := []Pushed{{Ref: host + "/x/y@" + d, Tags: []string{"t1", "t2"}}, {Ref: host + "/z@" + d, Tags: []string{"t"}}}
	if len(res.Pushed) != 2 || res.Pushed[0].Ref != want[0].Ref || !slices.Equal(res.Pushed[0].Tags, want[0].Tags) ||
		res.Pushed[1].Ref != want[1].Ref || !slices.Equal(res.Pushed[1].Tags, want[1].Tags) {
		t.Errorf("pushed %+v, want %+v", res.Pushed, want)
	}
	for _, ref := range []string{host + "/x/y:t1", host + "/x/y:t2", host + "/z:t"} {
		r, _ := name.ParseReference(ref)
		got, err := remote.Head(r)
		if err != nil || got.Digest.String() != d {
			t.Errorf("%s: %v, %v", ref, got, err)
		}
	}
	if tags, _ := layoutTags(t, layout); !slices.Equal(tags, []string{"l"}) {
		t.Errorf("layout tags %v", tags)
	}
}

// archiveRefs is the ref.name annotations of an oci-archive's index.
func archiveRefs(t *testing.T, file string) []string {
	t.Helper()
	var refs []string
	for _, m := range untarIndex(t, file).Manifests {
		refs = append(refs, m.Annotations[RefNameAnnotation])
	}
	return refs
}

// An image index pushed to one repository, then to another of the same
// registry whose mounts fail (403): the second push asks to mount every
// layer of every platform, falls back to uploads, and the index reads
// back whole.
func TestPushIndexMountRefused(t *testing.T) {
	isolateConfig(t)
	var mountTries atomic.Int32
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Query().Get("mount") != "" {
			mountTries.Add(1)
			http.Error(w, `{"errors":[{"code":"DENIED","message":"no"}]}`, http.StatusForbidden)
			return
		}
		// This registry keeps blobs across repositories: make "two"
		// look empty to the existence checks.
		if r.Method == http.MethodHead && strings.HasPrefix(r.URL.Path, "/v2/two/blobs/") {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	idx, err := random.Index(256, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := artifactLayers(Artifact{Index: idx})
	if err != nil || len(layers) != 6 {
		t.Fatalf("%d layers, %v; want 6", len(layers), err)
	}
	opts := WriteOptions{Keychain: authn.NewMultiKeychain(), Registry: RegistryOptions{BlobMemory: filepath.Join(t.TempDir(), "blobs.json")}}
	for _, repo := range []string{"one", "two"} {
		res, err := WriteOutputs(context.Background(), Artifact{Index: idx}, []string{host + "/" + repo + ":t"}, opts)
		if err != nil {
			t.Fatalf("push to %s: %v", repo, err)
		}
		d, _ := idx.Digest()
		if len(res.Pushed) != 1 || res.Pushed[0].Ref != host+"/"+repo+"@"+d.String() {
			t.Errorf("pushed %+v", res.Pushed)
		}
		r, _ := name.ParseReference(host + "/" + repo + ":t")
		back, err := remote.Index(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Index(back); err != nil {
			t.Errorf("%s: %v", repo, err)
		}
	}
	if n := mountTries.Load(); n < 6 {
		t.Errorf("%d mount attempts, want one per layer (6)", n)
	}
}
