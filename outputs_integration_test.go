package distroless

import (
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/internal/registrytest"
)

// entryNames is the sorted names of dir's entries.
func entryNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// filesUnder is the regular files under dir (none when it does not
// exist).
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// A directory holding nothing but the lock file a killed writer of an
// earlier version left: gen writes a layout there that skopeo reads, and
// which holds no lock file.
func TestGenIntoLeftLockFile(t *testing.T) {
	integration(t)
	dir := filepath.Join(t.TempDir(), "out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json.lock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d := genDigest(t, "static", "--distro", "debian:bookworm", "--cache-dir", testCache, "-o", "oci:"+dir+":x")
	var inspected struct{ Digest string }
	if err := json.Unmarshal(skopeo(t, "inspect", "oci:"+dir+":x"), &inspected); err != nil || inspected.Digest != d {
		t.Errorf("skopeo inspect oci:%s:x: digest %q, want %s (%v)", dir, inspected.Digest, d, err)
	}
	if names := entryNames(t, dir); !slices.Equal(names, []string{"blobs", "index.json", "oci-layout"}) {
		t.Errorf("the layout holds %v", names)
	}
}

// A directory that is neither empty nor a layout is refused and left
// exactly as it was: the same entries, contents and modes, nothing added.
func TestGenRefusesForeignDirUntouched(t *testing.T) {
	integration(t)
	root := t.TempDir()
	dir := filepath.Join(root, "mine")
	if err := os.MkdirAll(filepath.Join(dir, "photos"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	snapshot := func() map[string]string {
		m := map[string]string{}
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			info, _ := d.Info()
			v := info.Mode().String()
			if d.Type().IsRegular() {
				b, _ := os.ReadFile(p)
				v += " " + string(b)
			}
			m[p] = v
			return nil
		})
		return m
	}
	before := snapshot()
	_, stderr, code := cli(t, "gen", "static", "--distro", "debian:bookworm", "--cache-dir", testCache, "-o", "oci:"+dir+":x")
	if code == 0 || !strings.Contains(stderr, dir+" exists and is neither empty nor an OCI image layout") {
		t.Fatalf("gen into a foreign directory: exit %d\n%s", code, clitest.Tail(stderr, 5))
	}
	if after := snapshot(); !maps.Equal(before, after) {
		t.Errorf("the refused directory changed:\nbefore %v\nafter  %v", before, after)
	}
	if names := entryNames(t, root); !slices.Equal(names, []string{"mine"}) {
		t.Errorf("left beside it: %v", names)
	}
}

// genInEnv runs gen in u's environment with a cache of its own.
func genInEnv(t *testing.T, u *userEnv, cache string, args ...string) (stderr string, code int) {
	t.Helper()
	r := clitest.Run(t, testBin, clitest.Cmd{Environ: u.env()}, append([]string{"gen", "static", "--distro", "debian:bookworm", "--cache-dir", cache}, args...)...)
	return r.Stderr, r.Code
}

// Registry credentials are checked before the build: with a wrong
// password (and with none) gen fails with the push's message before it
// downloads anything, into an empty cache; --offline with that empty
// cache fails on the credentials too, not on the missing files.
func TestGenChecksCredentialsFirst(t *testing.T) {
	integration(t)
	reg := registrytest.Start(t, registrytest.Options{})
	u := newUserEnv(t)
	host := reg.Host
	if _, err := reg.CertDir(filepath.Join(u.home, ".config", "containers", "certs.d", host)); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(t.TempDir(), "cache")
	before := len(reg.Requests(t))

	stderr, code := genInEnv(t, u, cache, "-o", "oci:"+filepath.Join(t.TempDir(), "lay"), "-o", host+"/a:t1")
	if code != 1 || !strings.Contains(stderr, "pushing "+host+"/a:t1: "+host+" requires credentials (401 Unauthorized) and none were found") {
		t.Errorf("no credentials: exit %d\n%s", code, clitest.Tail(stderr, 5))
	}
	dockerConfig := filepath.Join(u.home, ".docker", "config.json")
	wrong := `{"auths":{"` + host + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte(reg.User+":wrong-"+reg.Password)) + `"}}}`
	if err := os.MkdirAll(filepath.Dir(dockerConfig), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dockerConfig, []byte(wrong), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{nil, {"--offline"}} {
		stderr, code := genInEnv(t, u, cache, append(extra, "-o", host+"/a:t1")...)
		if code != 1 || !strings.Contains(stderr, `pushing `+host+`/a:t1: `+host+` refused the credentials of user "distroless" (from `+dockerConfig) {
			t.Errorf("wrong password %v: exit %d, want 1 and the refusal naming the user and %s:\n%s", extra, code, dockerConfig, clitest.Tail(stderr, 5))
		}
		if strings.Contains(stderr, "offline") {
			t.Errorf("wrong password %v: the missing files were reported before the credentials:\n%s", extra, clitest.Tail(stderr, 5))
		}
	}
	if files := filesUnder(t, cache); len(files) != 0 {
		t.Errorf("gen fetched before checking the credentials: %v", files)
	}
	reqs := reg.Requests(t).Since(before)
	if len(reqs.Uploads()) != 0 || len(reqs.ManifestPuts()) != 0 {
		t.Errorf("refused gens stored something: %v", reqs)
	}
	// The right credentials: the same gen fills the cache and pushes.
	if err := reg.WriteAuthFile(dockerConfig); err != nil {
		t.Fatal(err)
	}
	if stderr, code := genInEnv(t, u, cache, "-o", host+"/a:t1"); code != 0 {
		t.Fatalf("right credentials: exit %d\n%s", code, clitest.Tail(stderr, 10))
	}
	if files := filesUnder(t, cache); len(files) == 0 {
		t.Error("the gen that pushed left nothing in its cache")
	}
}

// --timeout bounds the waits on a registry: a push to one that accepts
// connections and never answers fails, naming the registry and the
// timeout, before the build (nothing downloaded).
func TestGenRegistryTimeout(t *testing.T) {
	integration(t)
	host := registrytest.SilentListener(t)
	u := newUserEnv(t)
	cache := filepath.Join(t.TempDir(), "cache")
	start := time.Now()
	stderr, code := genInEnv(t, u, cache, "--timeout", "2s", "-o", host+"/a:t")
	t.Logf("failed after %s", time.Since(start).Round(time.Millisecond))
	if code != 1 || !strings.Contains(stderr, "pushing "+host+"/a:t: "+host+" did not answer within 2s") {
		t.Errorf("exit %d, want 1 and a timeout naming %s:\n%s", code, host, clitest.Tail(stderr, 5))
	}
	if files := filesUnder(t, cache); len(files) != 0 {
		t.Errorf("gen fetched before reaching the registry: %v", files)
	}
}
