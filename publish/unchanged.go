package publish

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/distroless-dev/distroless/internal/parallel"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layoutHolds reports whether the OCI layout at dir (whose index.json
// holds old; the caller holds its lock) is exactly what writing the
// artifact under tag would make of it: index.json byte for byte, nothing
// but the oci-layout file, index.json and the artifact's blobs,
// each of them with its size and SHA-256, every file mode 0644 and every
// directory 0755. A gen that changed nothing then leaves the layout as it
// is rather than writing, syncing and swapping it whole; any doubt means
// writing it.
func layoutHolds(dir string, a Artifact, tag string, old *v1.IndexManifest) bool {
	desc, err := a.descriptor()
	if err != nil {
		return false
	}
	desc.Annotations = map[string]string{RefNameAnnotation: tag}
	fresh := []v1.Descriptor{desc}
	var images []v1.Image
	for _, t := range sortedKeys(a.Tagged) {
		d, err := describe(a.Tagged[t])
		if err != nil {
			return false
		}
		d.Annotations = map[string]string{RefNameAnnotation: t}
		fresh = append(fresh, d)
		images = append(images, a.Tagged[t])
	}
	for _, r := range a.Referrers {
		d, err := describe(r)
		if err != nil {
			return false
		}
		fresh = append(fresh, d)
		images = append(images, r)
	}
	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Annotations: old.Annotations, Manifests: fresh}
	want, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return false
	}
	if got, err := os.ReadFile(filepath.Join(dir, "index.json")); err != nil || !bytes.Equal(got, want) {
		return false
	}

	// Every blob the artifact has, with its size.
	blobs := map[string]int64{}
	add := func(d v1.Hash, size int64) bool {
		if d.Algorithm != "sha256" {
			return false
		}
		blobs[d.Hex] = size
		return true
	}
	var addImage func(img v1.Image) bool
	addImage = func(img v1.Image) bool {
		raw, err := img.RawManifest()
		if err != nil {
			return false
		}
		sum := sha256.Sum256(raw)
		blobs[hex.EncodeToString(sum[:])] = int64(len(raw))
		m, err := img.Manifest()
		if err != nil || !add(m.Config.Digest, m.Config.Size) {
			return false
		}
		for _, l := range m.Layers {
			if !add(l.Digest, l.Size) {
				return false
			}
		}
		return true
	}
	if a.Index != nil {
		raw, err := a.Index.RawManifest()
		if err != nil {
			return false
		}
		sum := sha256.Sum256(raw)
		blobs[hex.EncodeToString(sum[:])] = int64(len(raw))
		im, err := a.Index.IndexManifest()
		if err != nil {
			return false
		}
		for _, d := range im.Manifests {
			img, err := a.Index.Image(d.Digest)
			if err != nil || !addImage(img) {
				return false
			}
		}
	} else if !addImage(a.Image) {
		return false
	}
	for _, img := range images {
		if !addImage(img) {
			return false
		}
	}

	// Nothing else in the layout, and every mode as a write leaves it.
	mode := func(p string, want os.FileMode) bool {
		st, err := os.Lstat(p)
		return err == nil && st.Mode() == want
	}
	top, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range top {
		switch e.Name() {
		case "oci-layout", "index.json":
			if !mode(filepath.Join(dir, e.Name()), 0o644) {
				return false
			}
		case "blobs":
			if !mode(filepath.Join(dir, "blobs"), os.ModeDir|0o755) {
				return false
			}
		default:
			return false
		}
	}
	if len(top) < 3 {
		return false
	}
	algs, err := os.ReadDir(filepath.Join(dir, "blobs"))
	if err != nil || len(algs) != 1 || algs[0].Name() != "sha256" || !mode(filepath.Join(dir, "blobs", "sha256"), os.ModeDir|0o755) {
		return false
	}
	ents, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil || len(ents) != len(blobs) {
		return false
	}
	for _, e := range ents {
		if _, ok := blobs[e.Name()]; !ok {
			return false
		}
	}
	return blobsHold(filepath.Join(dir, "blobs", "sha256"), blobs)
}

// blobsHold reports whether every blob (hex digest → size) in dir holds,
// hashing them on every core at once, the largest first.
func blobsHold(dir string, blobs map[string]int64) bool {
	names := sortedKeys(blobs)
	sort.SliceStable(names, func(i, j int) bool { return blobs[names[i]] > blobs[names[j]] })
	return parallel.All(names, func(n string) bool { return blobHolds(filepath.Join(dir, n), n, blobs[n]) })
}

// blobHolds reports whether the file at p is a regular file of mode 0644
// with this size and SHA-256.
func blobHolds(p, hexDigest string, size int64) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Mode() != 0o644 || st.Size() != size {
		return false
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false
	}
	return hex.EncodeToString(h.Sum(nil)) == hexDigest
}
