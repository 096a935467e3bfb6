package distroless

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/pipeline"
)

// refusingRegistry serves a registry that wants credentials for
// everything; it returns its host:port and the count of the requests it
// got. Registry settings are isolated: no auth file, an empty
// registries.conf.
func refusingRegistry(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	conf := filepath.Join(dir, "registries.conf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONTAINERS_REGISTRIES_CONF", conf)
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dir, "auth.json"))
	return strings.TrimPrefix(srv.URL, "http://"), &n
}

// The registries of gen's and release's outputs are asked before
// anything is fetched: offline with an empty cache, the refusal is the
// error, not the files missing from the cache, and the cache stays empty.
func TestRegistryCheckedBeforeFetching(t *testing.T) {
	host, n := refusingRegistry(t)
	cache := filepath.Join(t.TempDir(), "cache")
	opts := pipeline.Options{CacheDir: cache, Offline: true}
	want := host + " requires credentials (401 Unauthorized) and none were found"

	_, err := pipeline.Gen(context.Background(), "static", pipeline.GenOptions{Options: opts, Output: clitest.Output(t, host+"/x/static:t")})
	if err == nil || !strings.Contains(err.Error(), "pushing "+host+"/x/static:t: "+want) {
		t.Errorf("gen: %v", err)
	}
	rf := filepath.Join(t.TempDir(), "r.yaml")
	if err := os.WriteFile(rf, []byte("registry: "+host+"/x\nimages: [static]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Release(context.Background(), rf, ReleaseOptions{GenOptions: pipeline.GenOptions{Options: opts}})
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("release: %v", err)
	}
	if n.Load() == 0 {
		t.Error("the registry was not asked")
	}
	if _, err := os.Stat(cache); err == nil {
		if ents, _ := os.ReadDir(cache); len(ents) != 0 {
			t.Errorf("the cache got %v", ents)
		}
	}
	// A dry run pushes nothing and asks nothing first: it fails on the
	// empty cache.
	before := n.Load()
	_, err = Release(context.Background(), rf, ReleaseOptions{GenOptions: pipeline.GenOptions{Options: opts}, DryRun: true})
	if err == nil || strings.Contains(err.Error(), "401") || n.Load() != before {
		t.Errorf("release --dry-run: %v (%d requests)", err, n.Load()-before)
	}
}
