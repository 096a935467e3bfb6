package publish

import (
	"archive/tar"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// referrer is a small OCI 1.1 artifact whose subject is img.
func referrer(t *testing.T, subject v1.Image, body string) v1.Image {
	t.Helper()
	d, err := describe(subject)
	if err != nil {
		t.Fatal(err)
	}
	a := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	a = mutate.ConfigMediaType(a, "application/spdx+json")
	a, err = mutate.Append(a, mutate.Addendum{Layer: static.NewLayer([]byte(body), "application/spdx+json")})
	if err != nil {
		t.Fatal(err)
	}
	return mutate.Subject(a, d).(v1.Image)
}

// layoutRefs lists a layout's index.json entries as "TAG DIGEST" (TAG "-"
// for an untagged one).
func layoutRefs(t *testing.T, dir string) map[string]string {
	t.Helper()
	ix, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ix.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range m.Manifests {
		tag := d.Annotations[RefNameAnnotation]
		if tag == "" {
			tag = "-" + d.Digest.String()
		}
		got[tag] = d.Digest.String()
	}
	return got
}

func TestWriteOutputsReferrersFollowTheirSubject(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir() + "/l"
	img1, img2, img3 := testImage(t, "one"), testImage(t, "two"), testImage(t, "three")
	r1, r2, r3 := referrer(t, img1, "sbom one"), referrer(t, img2, "sbom two"), referrer(t, img3, "sbom three")
	sig1 := referrer(t, img1, "signature one")

	if _, err := WriteOutputs(ctx, Artifact{Image: img1, Referrers: []v1.Image{r1}, Tagged: map[string]v1.Image{"sha256-x.sig": sig1}},
		[]string{"oci:" + dir + ":a"}, WriteOptions{Attach: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteOutputs(ctx, Artifact{Image: img2, Referrers: []v1.Image{r2}}, []string{"oci:" + dir + ":b"}, WriteOptions{Attach: true}); err != nil {
		t.Fatal(err)
	}
	got := layoutRefs(t, dir)
	for _, want := range []v1.Image{img1, img2, r1, r2, sig1} {
		if !hasDigest(got, digestOf(t, want)) {
			t.Fatalf("layout lacks %s: %v", digestOf(t, want), got)
		}
	}
	if got["a"] != digestOf(t, img1) || got["sha256-x.sig"] != digestOf(t, sig1) {
		t.Fatalf("tags: %v", got)
	}
	// Replacing tag a drops img1's referrer and keeps b's.
	if _, err := WriteOutputs(ctx, Artifact{Image: img3, Referrers: []v1.Image{r3}}, []string{"oci:" + dir + ":a"}, WriteOptions{Attach: true}); err != nil {
		t.Fatal(err)
	}
	got = layoutRefs(t, dir)
	if hasDigest(got, digestOf(t, r1)) || !hasDigest(got, digestOf(t, r2)) || !hasDigest(got, digestOf(t, r3)) {
		t.Fatalf("after replacing a: %v", got)
	}
	if got["a"] != digestOf(t, img3) || got["b"] != digestOf(t, img2) {
		t.Fatalf("tags after replacing a: %v", got)
	}
	// Each image still validates after the round trip.
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []v1.Image{img2, img3, r2, r3} {
		h, _ := want.Digest()
		img, err := p.Image(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(img); err != nil {
			t.Fatalf("%s: %v", h, err)
		}
	}
}

func TestWriteOutputsIndex(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir() + "/l"
	img1, img2 := testImage(t, "amd"), testImage(t, "arm")
	cf, err := img2.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.Variant = "arm64", "v8"
	if img2, err = mutate.ConfigFile(img2, cf); err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: img1, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: img2, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	r2 := referrer(t, img2, "sbom arm")
	wr, err := WriteOutputs(ctx, Artifact{Index: idx, Referrers: []v1.Image{r2}}, []string{"oci:" + dir + ":multi"}, WriteOptions{Attach: true})
	if err != nil {
		t.Fatal(err)
	}
	d := wr.Digest
	want, _ := idx.Digest()
	if d != want.String() {
		t.Fatalf("digest %s, want the index's %s", d, want)
	}
	got := layoutRefs(t, dir)
	if got["multi"] != want.String() || !hasDigest(got, digestOf(t, r2)) {
		t.Fatalf("layout: %v", got)
	}
	// A second write of another tag keeps the index's referrer: its
	// subject is one of the index's images.
	if _, err := WriteOutputs(ctx, Artifact{Image: testImage(t, "x")}, []string{"oci:" + dir + ":other"}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := layoutRefs(t, dir); !hasDigest(got, digestOf(t, r2)) || got["multi"] != want.String() {
		t.Fatalf("after another tag: %v", got)
	}
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	ii, err := root.ImageIndex(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(ii); err != nil {
		t.Fatal(err)
	}
	// An index cannot go into a docker-archive; nothing is written.
	arch := t.TempDir() + "/x.tar"
	if _, err := WriteOutputs(ctx, Artifact{Index: idx}, []string{"oci:" + dir + ":n2", "docker-archive:" + arch + ":a/b:c"}, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "image index") {
		t.Fatalf("index into docker-archive: %v", err)
	}
	if _, ok := layoutRefs(t, dir)["n2"]; ok {
		t.Fatal("a refused write list wrote its first output")
	}
	// Not exactly one of Image and Index.
	if _, err := WriteOutputs(ctx, Artifact{}, []string{"oci:" + dir}, WriteOptions{}); err == nil {
		t.Fatal("empty artifact written")
	}
	if _, err := WriteOutputs(ctx, Artifact{Image: img1, Tagged: map[string]v1.Image{"../x": img2}}, []string{"oci:" + dir}, WriteOptions{}); err == nil {
		t.Fatal("bad attached tag accepted")
	}
}

// Without WriteOptions.Attach a layout or oci-archive holds the artifact
// alone, and a write drops what an earlier one attached to the same image,
// but not other images' attachments.
func TestWriteOutputsLayoutWithoutAttachments(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir() + "/l"
	img1, img2 := testImage(t, "one"), testImage(t, "two")
	r1, r2 := referrer(t, img1, "sbom one"), referrer(t, img2, "sbom two")
	sigTag := strings.Replace(digestOf(t, img1), ":", "-", 1) + ".sig"
	sig1 := referrer(t, img1, "signature one")
	art1 := Artifact{Image: img1, Referrers: []v1.Image{r1}, Tagged: map[string]v1.Image{sigTag: sig1}}

	if _, err := WriteOutputs(ctx, art1, []string{"oci:" + dir}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := layoutRefs(t, dir); len(got) != 1 || got["latest"] != digestOf(t, img1) {
		t.Fatalf("layout without --attach: %v", got)
	}
	if _, err := WriteOutputs(ctx, art1, []string{"oci:" + dir}, WriteOptions{Attach: true}); err != nil {
		t.Fatal(err)
	}
	if got := layoutRefs(t, dir); len(got) != 3 || got[sigTag] != digestOf(t, sig1) || !hasDigest(got, digestOf(t, r1)) {
		t.Fatalf("layout with Attach: %v", got)
	}
	if _, err := WriteOutputs(ctx, Artifact{Image: img2, Referrers: []v1.Image{r2}}, []string{"oci:" + dir + ":b"}, WriteOptions{Attach: true}); err != nil {
		t.Fatal(err)
	}
	// The same image again without attachments: its own go, b's stay.
	if _, err := WriteOutputs(ctx, art1, []string{"oci:" + dir}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	got := layoutRefs(t, dir)
	if len(got) != 3 || got["latest"] != digestOf(t, img1) || got["b"] != digestOf(t, img2) || !hasDigest(got, digestOf(t, r2)) {
		t.Fatalf("after a write without attachments: %v", got)
	}
	blobs, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blobs {
		for _, gone := range []v1.Image{r1, sig1} {
			if "sha256:"+b.Name() == digestOf(t, gone) {
				t.Fatalf("blob %s of a dropped attachment is still in the layout", b.Name())
			}
		}
	}
	// An oci-archive holds the image alone too.
	arch := t.TempDir() + "/a.tar"
	if _, err := WriteOutputs(ctx, art1, []string{"oci-archive:" + arch}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ix := untarIndex(t, arch)
	if len(ix.Manifests) != 1 || ix.Manifests[0].Digest.String() != digestOf(t, img1) {
		t.Fatalf("oci-archive index: %+v", ix.Manifests)
	}
}

// untarIndex is the index.json of an oci-archive.
func untarIndex(t *testing.T, file string) v1.IndexManifest {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no index.json in %s: %v", file, err)
		}
		if h.Name == "index.json" {
			var ix v1.IndexManifest
			if err := json.NewDecoder(tr).Decode(&ix); err != nil {
				t.Fatal(err)
			}
			return ix
		}
	}
}

func hasDigest(m map[string]string, d string) bool {
	for _, v := range m {
		if v == d {
			return true
		}
	}
	return false
}
