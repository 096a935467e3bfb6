package publish

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// writeImage writes img alone to output through WriteOutputs and returns
// its manifest digest.
func writeImage(ctx context.Context, img v1.Image, output string, opts WriteOptions) (string, error) {
	res, err := WriteOutputs(ctx, Artifact{Image: img}, []string{output}, opts)
	return res.Digest, err
}

func testImage(t *testing.T, content string) v1.Image {
	t.Helper()
	var layers []v1.Layer
	for _, f := range []struct {
		name string
		mode int64
		data string
	}{{"etc/base", 0o644, "base"}, {"usr/bin/app", 0o755, content}} {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.data)); err != nil {
			t.Fatal(err)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		raw := b.Bytes()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
			tarball.WithMediaType(types.OCILayer))
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// layoutTags reads a layout's index: tag -> manifest digest, in order.
func layoutTags(t *testing.T, dir string) ([]string, map[string]v1.Image) {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	imgs := map[string]v1.Image{}
	for _, d := range im.Manifests {
		tag := d.Annotations[RefNameAnnotation]
		tags = append(tags, tag)
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		imgs[tag] = img
	}
	return tags, imgs
}

func blobCount(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestWriteOCI(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "out")
	img1, img2, img3 := testImage(t, "one"), testImage(t, "two"), testImage(t, "three")

	d, err := writeImage(ctx, img1, "oci:"+out, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d != digestOf(t, img1) || !strings.HasPrefix(d, "sha256:") {
		t.Errorf("digest %s", d)
	}
	tags, imgs := layoutTags(t, out)
	if !slices.Equal(tags, []string{"latest"}) {
		t.Fatalf("tags %v", tags)
	}
	if err := validate.Image(imgs["latest"]); err != nil {
		t.Errorf("validate: %v", err)
	}
	if digestOf(t, imgs["latest"]) != d {
		t.Error("digest changed through the layout")
	}
	one := blobCount(t, out) // config, manifest, 3 layers

	// Another tag is added beside it.
	if _, err := writeImage(ctx, img2, "oci:"+out+":v2", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	tags, imgs = layoutTags(t, out)
	if !slices.Equal(tags, []string{"latest", "v2"}) || digestOf(t, imgs["latest"]) != d || digestOf(t, imgs["v2"]) != digestOf(t, img2) {
		t.Fatalf("after v2: tags %v", tags)
	}
	for _, img := range imgs {
		if err := validate.Image(img); err != nil {
			t.Errorf("validate: %v", err)
		}
	}
	// Replacing latest keeps v2, in place, and drops what only the old
	// latest used (its app layer, config and manifest).
	if _, err := writeImage(ctx, img3, "oci:"+out, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	tags, imgs = layoutTags(t, out)
	if !slices.Equal(tags, []string{"latest", "v2"}) || digestOf(t, imgs["latest"]) != digestOf(t, img3) || digestOf(t, imgs["v2"]) != digestOf(t, img2) {
		t.Fatalf("after replacing latest: tags %v", tags)
	}
	if n := blobCount(t, out); n != one+3 {
		t.Errorf("%d blobs, want %d", n, one+3)
	}
	// No temporary directories are left beside it.
	ents, _ := os.ReadDir(filepath.Dir(out))
	if len(ents) != 1 {
		t.Errorf("left beside the output: %v", ents)
	}
}

// failingLayer fails when read, like a disk error in the middle of a write.
type failingLayer struct{ v1.Layer }

func (failingLayer) Compressed() (io.ReadCloser, error) { return nil, errors.New("boom") }

func brokenImage(t *testing.T) v1.Image {
	t.Helper()
	img := testImage(t, "broken")
	ls, _ := img.Layers()
	base, err := mutate.ConfigFile(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1),
		&v1.ConfigFile{OS: "linux", Architecture: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := mutate.Append(base, mutate.Addendum{Layer: ls[0]}, mutate.Addendum{Layer: failingLayer{ls[1]}})
	if err != nil {
		t.Fatal(err)
	}
	return bad
}

func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			b, _ := os.ReadFile(p)
			m[strings.TrimPrefix(p, dir)] = string(b)
		}
		return nil
	})
	return m
}

func TestWriteFailureKeepsOutput(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	out := filepath.Join(tmp, "layout")
	archive := filepath.Join(tmp, "image.tar")
	good := testImage(t, "good")
	if _, err := writeImage(ctx, good, "oci:"+out+":v1", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := writeImage(ctx, good, "docker-archive:"+archive, WriteOptions{DefaultRef: "distroless/test:latest"}); err != nil {
		t.Fatal(err)
	}
	beforeDir := snapshotDir(t, out)
	beforeTar, _ := os.ReadFile(archive)

	bad := brokenImage(t)
	for _, o := range []string{"oci:" + out + ":v1", "oci:" + out + ":v2", "docker-archive:" + archive + ":distroless/test:latest"} {
		if _, err := writeImage(ctx, bad, o, WriteOptions{}); err == nil {
			t.Errorf("%s: no error", o)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, o := range []string{"oci:" + out + ":v1", "docker-archive:" + archive + ":distroless/test:latest"} {
		if _, err := writeImage(cancelled, testImage(t, "other"), o, WriteOptions{}); err == nil {
			t.Errorf("%s with a cancelled context: no error", o)
		}
	}
	if after := snapshotDir(t, out); len(after) != len(beforeDir) {
		t.Errorf("layout changed: %d files, was %d", len(after), len(beforeDir))
	} else {
		for k, v := range beforeDir {
			if after[k] != v {
				t.Errorf("layout file %s changed", k)
			}
		}
	}
	if afterTar, _ := os.ReadFile(archive); string(afterTar) != string(beforeTar) {
		t.Error("archive changed")
	}
	ents, _ := os.ReadDir(tmp)
	if len(ents) != 2 {
		t.Errorf("temporary files left: %v", ents)
	}
	// A directory that is not a layout is not replaced.
	other := filepath.Join(tmp, "other")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "precious"), []byte("x"), 0o644)
	if _, err := writeImage(ctx, good, "oci:"+other, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "not replacing") {
		t.Errorf("non-layout dir: err = %v", err)
	}
}

func TestWriteDockerArchive(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	img := testImage(t, "archive")
	for _, tc := range []struct{ output, ref string }{
		{"docker-archive:" + filepath.Join(dir, "a.tar"), "distroless/python3:latest"},
		{"docker-archive:" + filepath.Join(dir, "b.tar") + ":example.com/team/app:v1", "example.com/team/app:v1"},
	} {
		d, err := writeImage(ctx, img, tc.output, WriteOptions{DefaultRef: "distroless/python3:latest"})
		if err != nil {
			t.Fatal(err)
		}
		file, _, _ := strings.Cut(strings.TrimPrefix(tc.output, "docker-archive:"), ":")
		tag, _ := name.NewTag(tc.ref)
		back, err := tarball.ImageFromPath(file, &tag)
		if err != nil {
			t.Fatalf("%s: %v", tc.output, err)
		}
		m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(file) })
		if err != nil || len(m) != 1 || len(m[0].RepoTags) != 1 {
			t.Fatalf("manifest.json %+v, %v", m, err)
		}
		if got := m[0].RepoTags[0]; got != tc.ref && got != "index.docker.io/"+tc.ref {
			t.Errorf("RepoTags %q, want %q", got, tc.ref)
		}
		if err := validate.Image(back); err != nil {
			t.Errorf("validate: %v", err)
		}
		want, _ := img.ConfigName()
		if got, _ := back.ConfigName(); got != want {
			t.Errorf("config %s, want %s", got, want)
		}
		if wl, bl := layerDigests(t, img), layerDigests(t, back); !slices.Equal(wl, bl) {
			t.Errorf("layers %v, want %v", bl, wl)
		}
		if d != digestOf(t, img) {
			t.Errorf("returned digest %s", d)
		}
		if st, _ := os.Stat(file); st.Mode().Perm() != 0o644 {
			t.Errorf("mode %v", st.Mode())
		}
	}
	if _, err := writeImage(ctx, img, "docker-archive:"+filepath.Join(dir, "c.tar"), WriteOptions{}); err == nil {
		t.Error("no name and no default: no error")
	}
}

func TestWriteRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img := testImage(t, "pushed")
	ref := host + "/distroless/test:v1"
	d, err := writeImage(context.Background(), img, ref, WriteOptions{Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatal(err)
	}
	if d != digestOf(t, img) {
		t.Errorf("digest %s, want %s", d, digestOf(t, img))
	}
	r, _ := name.ParseReference(ref)
	back, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(t, back) != d {
		t.Errorf("pulled %s, pushed %s", digestOf(t, back), d)
	}
	if err := validate.Image(back); err != nil {
		t.Errorf("validate: %v", err)
	}
	// Names that do not name a registry are refused, never sent to Docker Hub.
	for _, bad := range []string{"image.tar", "distroless/test:v1", "", "oops:"} {
		if _, err := writeImage(context.Background(), img, bad, WriteOptions{}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSplitOCI(t *testing.T) {
	for in, want := range map[string][2]string{
		"out":          {"out", "latest"},
		"out:v1":       {"out", "v1"},
		"./a:b/out":    {"./a:b/out", "latest"},
		"dir/out:1.2":  {"dir/out", "1.2"},
		"out:":         {"out", "latest"},
		"/abs/out:tag": {"/abs/out", "tag"},
	} {
		if d, tag := splitOCI(in); d != want[0] || tag != want[1] {
			t.Errorf("splitOCI(%q) = %q, %q; want %q", in, d, tag, want)
		}
	}
}

func TestWriteCreatesParents(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	img := testImage(t, "nested")
	for _, out := range []string{
		"oci:" + filepath.Join(root, "a", "b", "layout") + ":v1",
		"docker-archive:" + filepath.Join(root, "c", "d", "image.tar") + ":example/x:1",
	} {
		if _, err := writeImage(ctx, img, out, WriteOptions{}); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
	}
	if tags, _ := layoutTags(t, filepath.Join(root, "a", "b", "layout")); !slices.Equal(tags, []string{"v1"}) {
		t.Fatalf("tags %v", tags)
	}
	if _, err := os.Stat(filepath.Join(root, "c", "d", "image.tar")); err != nil {
		t.Fatal(err)
	}
	if err := CheckOutput("docker-archive:", WriteOptions{}); err == nil {
		t.Fatal("CheckOutput accepted an archive without a file")
	}
}

func layerDigests(t *testing.T, img v1.Image) []string {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d.String())
	}
	return out
}
