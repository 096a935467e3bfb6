package distroless

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
)

// TestGenZstd builds python3 (trixie) with --compression zstd from the
// shared cache, where the gzip build left its layers: every layer has the
// OCI zstd media type and the gzip build's diffID, the image differs from
// the gzip one, podman runs it, and a gzip build from the same cache
// afterwards still gives the gzip build's digest (the layer cache keeps
// the two apart).
func TestGenZstd(t *testing.T) {
	integration(t)
	gz := py3Image.get(t)
	// podman names an oci: image after its path, which must be lower case.
	root, err := sharedDir()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(root, "zstd-")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "zst")
	d := genDigest(t, "python3", "--distro", "debian:trixie", "--cache-dir", testCache, "--compression", "zstd", "-o", "oci:"+out+":py")
	if d == gz.res.Digest {
		t.Fatalf("zstd image has the gzip image's digest %s", d)
	}
	zl := clitest.ReadLayout(t, out, "py")
	gl := clitest.ReadLayout(t, gz.dir, gz.tag)
	if len(zl.Manifest.Layers) != len(gl.Manifest.Layers) {
		t.Fatalf("%d layers, gzip has %d", len(zl.Manifest.Layers), len(gl.Manifest.Layers))
	}
	for i, l := range zl.Manifest.Layers {
		if l.MediaType != "application/vnd.oci.image.layer.v1.tar+zstd" {
			t.Errorf("layer %d: media type %s", i, l.MediaType)
		}
		if l.Digest == gl.Manifest.Layers[i].Digest {
			t.Errorf("layer %d: the gzip layer's digest", i)
		}
	}
	if a, b := diffIDs(t, out, zl), diffIDs(t, gz.dir, gl); !slices.Equal(a, b) {
		t.Errorf("diffIDs differ from the gzip image's:\n%s\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	// Same as before, from the cache that now holds zstd layers too
	// (built, not taken from the image memo).
	dropImageMemos(t, testCache)
	again := genDigest(t, "python3", "--distro", "debian:trixie", "--cache-dir", testCache, "-o", "oci:"+filepath.Join(dir, "gz")+":py")
	if again != gz.res.Digest {
		t.Errorf("gzip build after the zstd one: %s, want %s", again, gz.res.Digest)
	}
	dropImageMemos(t, testCache)
	againZ := genDigest(t, "python3", "--distro", "debian:trixie", "--cache-dir", testCache, "--compression", "zstd", "-o", "oci:"+filepath.Join(dir, "zst2")+":py")
	if againZ != d {
		t.Errorf("second zstd build: %s, want %s", againZ, d)
	}

	p := newPodman(t)
	stdout, stderr, code := p.run(t, 5*time.Minute, "run", "--rm", "--network=none", "oci:"+out+":py",
		"-c", "import ssl, json, sqlite3; print('zstd image ok', ssl.OPENSSL_VERSION_INFO[0])")
	if code != 0 || !strings.Contains(stdout, "zstd image ok 3") {
		t.Fatalf("podman run: exit %d\nstdout: %s\nstderr: %s", code, stdout, clitest.Tail(stderr, 20))
	}
}

// diffIDs reads the rootfs diff_ids of a layout image's config.
func diffIDs(t *testing.T, dir string, l *clitest.Image) []string {
	t.Helper()
	hexd := strings.TrimPrefix(l.Manifest.Config.Digest, "sha256:")
	b, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", hexd))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.RootFS.DiffIDs
}
