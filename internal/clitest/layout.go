package clitest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// RefName is the annotation that tags a manifest in a layout's index.
const RefName = "org.opencontainers.image.ref.name"

// Descriptor is an OCI descriptor.
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	Annotations  map[string]string `json:"annotations"`
	Platform     *struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Variant      string `json:"variant,omitempty"`
	} `json:"platform"`
}

// Manifest is an OCI image manifest.
type Manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        Descriptor        `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Subject       *Descriptor       `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations"`
}

// Index is a layout's index.json (or an image index).
type Index struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Manifests     []Descriptor      `json:"manifests"`
	Annotations   map[string]string `json:"annotations"`
	Raw           []byte            `json:"-"` // as it is on disk
}

// Image is one tagged manifest of a layout.
type Image struct {
	Dir      string
	Index    []byte // index.json as it is on disk
	Desc     Descriptor
	Manifest Manifest
	Raw      []byte // the manifest blob
}

// LayerDigests are the image's layers' digests, bottom first.
func (l *Image) LayerDigests() []string {
	var d []string
	for _, x := range l.Manifest.Layers {
		d = append(d, x.Digest)
	}
	return d
}

// ReadIndex reads a layout's oci-layout file and index.json, and checks
// the index's schema version and media type.
func ReadIndex(t testing.TB, dir string) *Index {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join(dir, "oci-layout")); err != nil || !bytes.Contains(b, []byte(`"imageLayoutVersion"`)) {
		t.Fatalf("%s: no oci-layout file (%v)", dir, err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	ix := &Index{Raw: raw}
	if err := json.Unmarshal(raw, ix); err != nil {
		t.Fatalf("%s/index.json: %v", dir, err)
	}
	if ix.SchemaVersion != 2 || ix.MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("%s/index.json: schemaVersion %d, mediaType %q", dir, ix.SchemaVersion, ix.MediaType)
	}
	return ix
}

// TagDigests is a layout's tags: tag -> manifest digest. A tag named
// twice fails the test; untagged manifests (referrers such as the
// provenance) are left out.
func TagDigests(t testing.TB, dir string) map[string]string {
	t.Helper()
	tags := map[string]string{}
	for _, d := range ReadIndex(t, dir).Manifests {
		tag, tagged := d.Annotations[RefName]
		if !tagged {
			continue
		}
		if _, dup := tags[tag]; dup {
			t.Fatalf("%s: tag %q named twice", dir, tag)
		}
		tags[tag] = d.Digest
	}
	return tags
}

// ReadLayout reads the image tagged tag from an OCI layout and checks
// that every blob it refers to is there with the digest and size named.
func ReadLayout(t testing.TB, dir, tag string) *Image {
	t.Helper()
	ix := ReadIndex(t, dir)
	l := &Image{Dir: dir, Index: ix.Raw}
	found := false
	for _, m := range ix.Manifests {
		if m.Annotations[RefName] == tag {
			if found {
				t.Fatalf("%s: tag %s names two manifests", dir, tag)
			}
			l.Desc, found = m, true
		}
	}
	if !found {
		t.Fatalf("%s: no manifest tagged %q in %s", dir, tag, ix.Raw)
	}
	l.Raw = ReadBlob(t, dir, l.Desc)
	if err := json.Unmarshal(l.Raw, &l.Manifest); err != nil {
		t.Fatalf("manifest %s: %v", l.Desc.Digest, err)
	}
	ReadBlob(t, dir, l.Manifest.Config)
	for _, ly := range l.Manifest.Layers {
		ReadBlob(t, dir, ly)
	}
	return l
}

// ReadBlob reads the blob d names from a layout and checks its digest and
// size.
func ReadBlob(t testing.TB, dir string, d Descriptor) []byte {
	t.Helper()
	alg, hexd, ok := strings.Cut(d.Digest, ":")
	if !ok || alg != "sha256" || len(hexd) != 64 {
		t.Fatalf("%s: bad digest %q", dir, d.Digest)
	}
	b, err := os.ReadFile(filepath.Join(dir, "blobs", alg, hexd))
	if err != nil {
		t.Fatalf("%s: blob %s: %v", dir, d.Digest, err)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != hexd || int64(len(b)) != d.Size {
		t.Fatalf("%s: blob %s has digest sha256:%x and size %d, descriptor size %d", dir, d.Digest, sum, len(b), d.Size)
	}
	return b
}

// WalkLayers calls fn for every entry of every layer of the image tagged
// tag in a layout, bottom first; layers are gzip, zstd or uncompressed
// tars, as their media types say.
func WalkLayers(t testing.TB, dir, tag string, fn func(layer int, h *tar.Header, r io.Reader)) {
	t.Helper()
	l := ReadLayout(t, dir, tag)
	for i, d := range l.Manifest.Layers {
		b := ReadBlob(t, dir, d)
		var r io.Reader
		switch {
		case strings.HasSuffix(d.MediaType, "+gzip"), strings.HasSuffix(d.MediaType, ".tar.gzip"):
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			r = zr
		case strings.HasSuffix(d.MediaType, "+zstd"):
			zr, err := zstd.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			defer zr.Close()
			r = zr
		case strings.HasSuffix(d.MediaType, ".tar"):
			r = bytes.NewReader(b)
		default:
			t.Fatalf("layer %d: media type %q", i, d.MediaType)
		}
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			fn(i, h, tr)
		}
	}
}
