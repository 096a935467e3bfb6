package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/distroless-dev/distroless/internal/atomicfile"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// WriteOptions are Write's optional settings.
type WriteOptions struct {
	// DefaultRef names the image in a docker-archive whose output does not
	// (e.g. "distroless/python3:latest").
	DefaultRef string
	// Keychain authenticates registry pushes; nil means
	// Registry.Keychain.
	Keychain authn.Keychain
	// Registry is the registry settings of pushes.
	Registry RegistryOptions
	// Attach writes the artifact's Referrers and Tagged manifests into OCI
	// layouts and oci-archives too. Without it those hold the image or
	// index alone (one manifest per tag, which podman, skopeo, syft and
	// umoci read untagged), and the attachments an earlier write left
	// there for the same image are dropped. Pushes carry them in any
	// case; a docker-archive never does.
	Attach bool
}

// registry is the registry settings, with Keychain applied.
func (o WriteOptions) registry() RegistryOptions {
	r := o.Registry
	if r.Keychain == nil {
		r.Keychain = o.Keychain
	}
	return r
}

// RefNameAnnotation is the OCI layout annotation holding an image's tag.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// Artifact is what WriteOutputs writes: one image or one image index,
// with the manifests that go with it.
type Artifact struct {
	// Image is a single-platform image and Index a multi-platform image
	// index; exactly one of the two is set.
	Image v1.Image
	Index v1.ImageIndex
	// Referrers are OCI 1.1 manifests whose subject is the artifact or one
	// of the index's images (an SBOM, a provenance statement). A layout
	// holds them untagged in its index.json, kept while their subject is;
	// a push sends each by digest after the artifact, and the registry
	// indexes it by its subject (or the client updates the referrers tag
	// schema's fallback tag where the registry has no referrers API). A
	// docker-archive holds the image alone.
	Referrers []v1.Image
	// Tagged are manifests stored under tags of their own beside the
	// artifact (cosign's sha256-HEX.sig and .att), replacing what those
	// tags held. A docker-archive holds none of them.
	Tagged map[string]v1.Image
	// detached says the attachments were left out (WriteOptions.Attach
	// unset): a layout write then drops those an earlier write left of the
	// same image.
	detached bool
}

// check reports an artifact that is not exactly one image or index.
func (a Artifact) check() error {
	if (a.Image == nil) == (a.Index == nil) {
		return errors.New("an artifact is one image or one image index")
	}
	for tag := range a.Tagged {
		if !tagRE.MatchString(tag) {
			return fmt.Errorf("tag %q of an attached manifest is not a valid tag", tag)
		}
	}
	return nil
}

// descriptor describes the artifact's top manifest.
func (a Artifact) descriptor() (v1.Descriptor, error) {
	if a.Index != nil {
		return describe(a.Index)
	}
	d, err := describe(a.Image)
	if err != nil {
		return d, err
	}
	if cf, err := a.Image.ConfigFile(); err == nil && cf.Architecture != "" {
		d.Platform = &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	}
	return d, nil
}

// manifest is what an image and an image index have in common.
type manifest interface {
	MediaType() (types.MediaType, error)
	RawManifest() ([]byte, error)
	Digest() (v1.Hash, error)
}

func describe(m manifest) (v1.Descriptor, error) {
	mt, err := m.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	raw, err := m.RawManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	d, err := m.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	desc := v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: d}
	var head struct {
		ArtifactType string         `json:"artifactType"`
		Config       *v1.Descriptor `json:"config"`
	}
	if json.Unmarshal(raw, &head) == nil {
		desc.ArtifactType = head.ArtifactType
		if desc.ArtifactType == "" && head.Config != nil && mt == types.OCIManifestSchema1 &&
			head.Config.MediaType != types.OCIConfigJSON {
			desc.ArtifactType = string(head.Config.MediaType)
		}
	}
	return desc, nil
}

// WriteResult is what WriteOutputs wrote.
type WriteResult struct {
	Digest string   // the artifact's manifest digest, "sha256:…"
	Pushed []Pushed // the registry repositories written, in output order
}

// WriteOutputs writes a to every output, one after another, and returns
// its manifest digest ("sha256:…") and the repositories pushed to. Every
// output is checked before any is written. An output is one of:
//
//   - oci:DIR[:TAG] — an OCI image layout, the image tagged TAG
//     ("latest" by default) through the org.opencontainers.image.ref.name
//     annotation. An existing layout keeps its other images; one with the
//     same tag is replaced (and its blobs no longer needed dropped).
//   - oci-archive:FILE[:REF] — a tar of an OCI image layout (as podman,
//     skopeo and buildah read it) holding the artifact under REF, a tag or
//     NAME:TAG (opts.DefaultRef, else "latest", by default).
//   - docker-archive:FILE[:REF] — a tarball docker load and podman load
//     accept, the image named REF (opts.DefaultRef by default). It holds
//     one image: an index cannot be written to it.
//   - REGISTRY/REPO[:TAG|@DIGEST] — pushed to a registry. The first
//     component must name a registry (contain a dot or a colon, or be
//     localhost), so that a mistyped file name is never pushed to Docker
//     Hub; write docker.io/… for that. The registry outputs are pushed
//     together, at the place of the first one: each repository once, then
//     each further tag in it, layers sent to another repository of the
//     registry before mounted from there (pushAll), with opts.Registry's
//     settings.
//
// Files are written next to their target and renamed into place, so an
// interrupted or failed write leaves an earlier output as it was. Writers
// of one layout take turns through a lock on the layout's directory, so
// that concurrent writes of different tags all land, and leave no file of
// their own in it (nor in a directory they refuse); two writers of one
// docker-archive each replace it whole, the last one winning. Layout
// files and archives get mode 0644 and layout directories 0755 whatever
// the umask.
func WriteOutputs(ctx context.Context, a Artifact, outputs []string, opts WriteOptions) (WriteResult, error) {
	var res WriteResult
	if err := a.check(); err != nil {
		return res, err
	}
	if len(outputs) == 0 {
		return res, errors.New("no output")
	}
	desc, err := a.descriptor()
	if err != nil {
		return res, err
	}
	var targets []target
	var refs []name.Reference
	for _, output := range outputs {
		t, err := parseOutput(output, opts)
		if err != nil {
			return res, err
		}
		if t.file != "" && a.Index != nil {
			return res, fmt.Errorf("output %q: a docker-archive holds one platform's image, not an image index; write oci:DIR, oci-archive:FILE or push to a registry", output)
		}
		if t.ref != nil {
			refs = append(refs, t.ref)
		}
		targets = append(targets, t)
	}
	pushed := false
	for i, t := range targets {
		output := outputs[i]
		// Create the output's parent directory, as users expect of -o.
		for _, p := range []string{t.dir, t.file, t.ociArchive} {
			if p != "" {
				if err := os.MkdirAll(filepath.Dir(filepath.Clean(p)), 0o755); err != nil {
					return res, fmt.Errorf("output %q: %w", output, err)
				}
			}
		}
		la := a // what a layout gets
		if !opts.Attach {
			la.Referrers, la.Tagged, la.detached = nil, nil, true
		}
		switch {
		case t.dir != "":
			if err := writeOCI(ctx, la, t.dir, t.tag); err != nil {
				return res, fmt.Errorf("writing %s: %w", output, err)
			}
		case t.file != "":
			if err := writeArchive(ctx, a.Image, t.file, t.archiveTag); err != nil {
				return res, fmt.Errorf("writing %s: %w", output, err)
			}
		case t.ociArchive != "":
			if err := writeOCIArchive(ctx, la, t.ociArchive, t.tag); err != nil {
				return res, fmt.Errorf("writing %s: %w", output, err)
			}
		case !pushed:
			pushed = true
			p, err := pushAll(ctx, a, refs, opts.registry())
			res.Pushed = p
			if err != nil {
				return res, err
			}
		}
	}
	res.Digest = desc.Digest.String()
	return res, nil
}

// push sends a to a registry with the options of its registry
// (RegistryOptions.remoteFor): the artifact, then its referrers by
// digest, then its tagged manifests.
func push(ctx context.Context, a Artifact, ref name.Reference, ro []remote.Option) error {
	var err error
	if a.Index != nil {
		err = remote.WriteIndex(ref, a.Index, ro...)
	} else {
		err = remote.Write(ref, a.Image, ro...)
	}
	if err != nil {
		return err
	}
	for _, r := range a.Referrers {
		d, err := r.Digest()
		if err != nil {
			return err
		}
		at := ref.Context().Digest(d.String())
		if err := remote.Write(at, r, ro...); err != nil {
			return fmt.Errorf("%s (attached): %w", at, err)
		}
	}
	for _, tag := range sortedKeys(a.Tagged) {
		at := ref.Context().Tag(tag)
		if err := remote.Write(at, a.Tagged[tag], ro...); err != nil {
			return fmt.Errorf("%s (attached): %w", at, err)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CheckOutput reports whether Write would accept output, without writing
// anything, so that a mistyped output fails before a build.
func CheckOutput(output string, opts WriteOptions) error {
	_, err := parseOutput(output, opts)
	return err
}

// target is a parsed output: an OCI layout (dir, tag), a docker archive
// (file, archiveTag), an OCI archive (ociArchive, tag) or a registry
// reference (ref).
type target struct {
	dir, tag   string
	file       string
	archiveTag name.Tag
	ociArchive string
	ref        name.Reference
}

func parseOutput(output string, opts WriteOptions) (target, error) {
	var t target
	switch {
	case strings.HasPrefix(output, "oci:"):
		t.dir, t.tag = splitOCI(strings.TrimPrefix(output, "oci:"))
		if t.dir == "" {
			return t, fmt.Errorf("output %q: no directory", output)
		}
	case strings.HasPrefix(output, "docker-archive:"):
		file, ref, err := splitArchive(output, "docker-archive:", opts)
		if err != nil {
			return t, err
		}
		if ref == "" {
			return t, fmt.Errorf("output %q: no image name (docker-archive:FILE:NAME:TAG)", output)
		}
		tag, err := name.NewTag(ref)
		if err != nil {
			return t, fmt.Errorf("output %q: %w", output, err)
		}
		t.file, t.archiveTag = file, tag
	case strings.HasPrefix(output, "oci-archive:"):
		// FILE[:REF], REF a tag or NAME:TAG (the layout's ref.name, which
		// podman load takes for the image's name), as podman and skopeo
		// write it; the default is the docker-archive's.
		file, ref, err := splitArchive(output, "oci-archive:", opts)
		if err != nil {
			return t, err
		}
		if ref == "" {
			ref = "latest"
		}
		if !tagRE.MatchString(ref) {
			if _, err := name.NewTag(ref); err != nil || !strings.Contains(ref, ":") {
				return t, fmt.Errorf("output %q: %q is neither a tag nor NAME:TAG", output, ref)
			}
		}
		t.ociArchive, t.tag = file, ref
		if st, err := os.Stat(t.ociArchive); err == nil && st.IsDir() {
			return t, fmt.Errorf("output %q: %s is a directory (for a layout directory say oci:%s)", output, t.ociArchive, t.ociArchive)
		}
	default:
		ref, err := ParseRegistryRef(output, opts.Registry)
		if err != nil {
			return t, err
		}
		t.ref = ref
	}
	return t, nil
}

// splitArchive splits an archive output "PREFIXFILE[:REF]" into its
// file and its reference, opts.DefaultRef when it names none.
func splitArchive(output, prefix string, opts WriteOptions) (file, ref string, err error) {
	file, ref, _ = strings.Cut(strings.TrimPrefix(output, prefix), ":")
	if file == "" {
		return "", "", fmt.Errorf("output %q: no file", output)
	}
	if ref == "" {
		ref = opts.DefaultRef
	}
	return file, ref, nil
}

// splitOCI splits "DIR[:TAG]"; a suffix after the last colon is a tag
// only if it is a valid one.
func splitOCI(s string) (dir, tag string) {
	if i := strings.LastIndexByte(s, ':'); i >= 0 && tagRE.MatchString(s[i+1:]) {
		return s[:i], s[i+1:]
	}
	return strings.TrimSuffix(s, ":"), "latest"
}

func parseRegistryRef(s string) (name.Reference, error) {
	first, _, hasSlash := strings.Cut(s, "/")
	if !hasSlash || !(strings.ContainsAny(first, ".:") || first == "localhost") {
		return nil, fmt.Errorf("output %q: want oci:DIR[:TAG], oci-archive:FILE[:REF], docker-archive:FILE[:NAME:TAG] or REGISTRY/REPOSITORY:TAG (the registry must be named, e.g. docker.io/…)", s)
	}
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("output %q: %w", s, err)
	}
	return ref, nil
}

// writeArchive writes a docker-archive through a temporary file.
func writeArchive(ctx context.Context, img v1.Image, file string, tag name.Tag) error {
	return atomicfile.Write(file, atomicfile.Options{Pattern: "." + filepath.Base(file) + ".tmp-*", Sync: true}, func(w io.Writer) error {
		return tarball.Write(tag, img, &ctxWriter{ctx, w})
	})
}

// ctxWriter stops a long write when the context ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(b)
}

// LayoutLockName is the lock file that earlier versions kept in every
// OCI layout they wrote. Writers now lock the layout's directory itself
// (see lockLayout) and leave no file of their own in it; a directory
// holding nothing but this file (left by a killed writer of an earlier
// version) is taken for an empty one, and the file goes with the next
// write of the layout.
const LayoutLockName = "index.json.lock"

// writeOCI writes a new layout in a temporary directory next to dir,
// bringing over the images of an existing layout whose tag differs, and
// swaps it into place, holding the layout's lock throughout so that
// concurrent writers of one layout each see the others' tags. Nothing is
// ever written into dir itself: a write that fails or is refused leaves
// dir as it was (and removes it when it made it).
func writeOCI(ctx context.Context, a Artifact, dir, tag string) (err error) {
	dir = filepath.Clean(dir)
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("%s exists and is not a directory", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	lock, created, err := lockLayout(ctx, dir)
	if err != nil {
		return err
	}
	var old *v1.IndexManifest
	defer func() {
		// A directory this writer made for nothing is removed, under the
		// lock (only if still empty: nothing of another tool is removed).
		// A writer waiting for it then finds it gone and starts over.
		if err != nil && created {
			os.Remove(dir)
		}
		lock.Close()
	}()

	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err == nil {
		b, err := os.ReadFile(filepath.Join(dir, "index.json"))
		if err != nil {
			return fmt.Errorf("reading the existing layout: %w", err)
		}
		old = &v1.IndexManifest{}
		if err := json.Unmarshal(b, old); err != nil {
			return fmt.Errorf("reading the existing layout's index.json: %w", err)
		}
	} else {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if e.Name() != LayoutLockName {
				return fmt.Errorf("%s exists and is neither empty nor an OCI image layout; not replacing it", dir)
			}
		}
	}

	if old != nil && layoutHolds(dir, a, tag, old) {
		return nil // nothing to change (unchanged.go)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}()
	lp, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if a.Index != nil {
		err = lp.WriteIndex(a.Index)
	} else {
		err = lp.WriteImage(a.Image)
	}
	if err != nil {
		return err
	}
	desc, err := a.descriptor()
	if err != nil {
		return err
	}
	desc.Annotations = map[string]string{RefNameAnnotation: tag}
	// The new manifests: the artifact under tag, its tagged manifests
	// under theirs, its referrers untagged.
	fresh := []v1.Descriptor{desc}
	for _, t := range sortedKeys(a.Tagged) {
		if err := lp.WriteImage(a.Tagged[t]); err != nil {
			return err
		}
		d, err := describe(a.Tagged[t])
		if err != nil {
			return err
		}
		d.Annotations = map[string]string{RefNameAnnotation: t}
		fresh = append(fresh, d)
	}
	for _, r := range a.Referrers {
		if err := lp.WriteImage(r); err != nil {
			return err
		}
		d, err := describe(r)
		if err != nil {
			return err
		}
		fresh = append(fresh, d)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	if old != nil {
		index.Annotations = old.Annotations
		var detach map[v1.Hash]bool // the attachments of these go
		if a.detached {
			if detach, err = artifactDigests(a); err != nil {
				return err
			}
		}
		kept, err := keptManifests(dir, old.Manifests, fresh, detach)
		if err != nil {
			return err
		}
		for _, m := range kept {
			if err := copyBlobs(dir, tmp, m, 0); err != nil {
				return fmt.Errorf("keeping %s from the existing layout: %w", m.Digest, err)
			}
		}
		// A replaced tag keeps its place in the index.
		placed := map[string]bool{}
		for _, m := range old.Manifests {
			if t, ok := m.Annotations[RefNameAnnotation]; ok {
				for _, f := range fresh {
					if f.Annotations[RefNameAnnotation] == t && !placed[t] {
						index.Manifests = append(index.Manifests, f)
						placed[t] = true
					}
				}
			}
			for _, k := range kept {
				if k.Digest == m.Digest && sameRef(k, m) {
					index.Manifests = append(index.Manifests, m)
					break
				}
			}
		}
		for _, f := range fresh {
			if t, ok := f.Annotations[RefNameAnnotation]; !ok || !placed[t] {
				index.Manifests = append(index.Manifests, f)
			}
		}
	} else {
		index.Manifests = fresh
	}
	b, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "index.json"), b, 0o644); err != nil {
		return err
	}
	if err := finishTree(tmp); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// The new layout's directory is locked before it takes dir's place,
	// so that a writer opening dir after the swap waits for this one to
	// finish; one waiting on the old directory finds it replaced and
	// starts over.
	next, err := lockDir(ctx, tmp)
	if err != nil {
		return err
	}
	defer next.Close()
	// Where directories are swapped by two renames, a writer that came
	// while dir was missing may have made a new dir, which the other's
	// rename replaced: its lock is on a directory that is gone.
	if !isLocked(lock, dir) {
		return fmt.Errorf("%s was replaced while this write held its lock; not writing over it", dir)
	}
	// Swap the new layout in; tmp then holds the old one, removed on return.
	if err := swapDirs(tmp, dir); err != nil {
		return err
	}
	syncDir(filepath.Dir(dir))
	return nil
}

// lockLayout takes the lock of the layout at dir, an exclusive
// flock(2) on the directory itself, waiting while another writer holds
// it, and creates dir (reporting so) if it does not exist. A lock taken
// on a directory that is no longer at dir (it was removed or replaced by
// another writer's swap meanwhile) is let go and taken again.
//
// Where the file system cannot exchange two directories atomically (see
// swapDirs), dir is briefly missing during a swap; a writer arriving just
// then can make a new dir, which the swap's second rename replaces (when
// still empty) or which makes it fail (leaving the earlier layout beside
// dir, .DIR.old-*); the newcomer's write then fails with an error.
func lockLayout(ctx context.Context, dir string) (lock *os.File, created bool, err error) {
	for range 1000 {
		created = false
		if err := os.Mkdir(dir, 0o755); err == nil {
			created = true
			if err := os.Chmod(dir, 0o755); err != nil {
				os.Remove(dir)
				return nil, false, err
			}
		} else if !errors.Is(err, fs.ErrExist) {
			return nil, false, err
		}
		f, err := lockDir(ctx, dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue // dir was removed after the Mkdir
		}
		if err != nil {
			return nil, false, err
		}
		if isLocked(f, dir) {
			return f, created, nil
		}
		f.Close()
	}
	return nil, false, fmt.Errorf("locking %s: it keeps being replaced", dir)
}

// isLocked reports whether lock, a directory's open file, is the
// directory at dir.
func isLocked(lock *os.File, dir string) bool {
	held, err := lock.Stat()
	if err != nil {
		return false
	}
	now, err := os.Stat(dir)
	return err == nil && os.SameFile(held, now)
}

// lockDir opens the directory dir (for reading, which is all flock needs,
// so that one of another user can be locked too) and takes its exclusive
// lock, waiting while another writer holds it, until ctx ends.
func lockDir(ctx context.Context, dir string) (*os.File, error) {
	f, err := openDir(dir)
	if err != nil {
		return nil, err
	}
	if err := waitLock(ctx, f); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return f, nil
}

// openLockFile opens the lock file, creating it (mode 0644) if need be.
// An existing one is opened for reading, which is all flock needs, so
// that one made by another user can be locked too.
func openLockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		if err := f.Chmod(0o644); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return os.Open(path)
}

// waitLock takes the exclusive lock of f, polling while another process
// holds it, until ctx ends.
func waitLock(ctx context.Context, f *os.File) error {
	wait := 5 * time.Millisecond
	for {
		busy, err := tryLock(f)
		if err != nil || !busy {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// copyBlobs brings a descriptor's blob, and those it refers to, from the
// old layout to the new one (a hard link where possible). Blobs a layout
// never held (foreign layers, a subject kept elsewhere) are skipped below
// the top level.
func copyBlobs(from, to string, d v1.Descriptor, depth int) error {
	if depth > 8 {
		return errors.New("descriptors nested too deep")
	}
	if d.Digest.Algorithm == "" || d.Digest.Hex == "" || strings.ContainsAny(d.Digest.Algorithm+d.Digest.Hex, `/\.`) {
		return fmt.Errorf("bad digest %q", d.Digest)
	}
	rel := filepath.Join("blobs", d.Digest.Algorithm, d.Digest.Hex)
	src, dst := filepath.Join(from, rel), filepath.Join(to, rel)
	if _, err := os.Stat(src); err != nil {
		if depth > 0 && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	// A link shares the file's mode: only a blob already 0644 is linked.
	if st, err := os.Stat(src); err != nil || st.Mode().Perm() != 0o644 || os.Link(src, dst) != nil {
		if err := copyFile(src, dst); err != nil {
			return err
		}
	}
	if !isManifestish(d.MediaType) {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	var m struct {
		Config    *v1.Descriptor  `json:"config"`
		Layers    []v1.Descriptor `json:"layers"`
		Manifests []v1.Descriptor `json:"manifests"`
		Subject   *v1.Descriptor  `json:"subject"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	refs := append(m.Layers, m.Manifests...)
	if m.Config != nil {
		refs = append(refs, *m.Config)
	}
	if m.Subject != nil {
		refs = append(refs, *m.Subject)
	}
	for _, r := range refs {
		if err := copyBlobs(from, to, r, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func isManifestish(mt types.MediaType) bool {
	switch mt {
	case types.OCIManifestSchema1, types.OCIImageIndex, types.DockerManifestSchema2, types.DockerManifestList:
		return true
	}
	return false
}

func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err = io.Copy(out, in); err == nil {
		err = out.Chmod(0o644)
	}
	if err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// finishTree gives the files of a freshly written layout mode 0644 and
// its directories 0755, whatever the umask, so that other users can read
// the layout, as skopeo writes them; then it flushes every file to disk.
func finishTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		} else if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		if info, err := d.Info(); err != nil {
			return err
		} else if info.Mode().Perm() != mode {
			if err := os.Chmod(p, mode); err != nil {
				return err
			}
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

// syncDir flushes a directory's entries (a rename in it) to disk; where
// that cannot be done it does nothing.
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}

func sameRef(a, b v1.Descriptor) bool {
	return a.Annotations[RefNameAnnotation] == b.Annotations[RefNameAnnotation]
}

// artifactDigests are the digests of the artifact's manifests: the image,
// or the index and its images.
func artifactDigests(a Artifact) (map[v1.Hash]bool, error) {
	desc, err := a.descriptor()
	if err != nil {
		return nil, err
	}
	ds := map[v1.Hash]bool{desc.Digest: true}
	if a.Index != nil {
		im, err := a.Index.IndexManifest()
		if err != nil {
			return nil, err
		}
		for _, m := range im.Manifests {
			ds[m.Digest] = true
		}
	}
	return ds, nil
}

// keptManifests are the manifests of an existing layout (in dir) that stay
// beside the fresh ones: those tagged with a tag no fresh manifest has,
// and the untagged ones (referrers) whose subject is among the manifests
// that stay or one of their child manifests. A referrer of a replaced
// image goes with it. An untagged manifest without a subject stays. The
// attachments of the manifests in detach go: their referrers and cosign's
// sha256-HEX.sig, .att and .sbom tags.
func keptManifests(dir string, old, fresh []v1.Descriptor, detach map[v1.Hash]bool) ([]v1.Descriptor, error) {
	taken := map[string]bool{}
	for _, f := range fresh {
		if t, ok := f.Annotations[RefNameAnnotation]; ok {
			taken[t] = true
		}
	}
	for d := range detach {
		for _, suffix := range []string{".sig", ".att", ".sbom"} {
			taken[d.Algorithm+"-"+d.Hex+suffix] = true
		}
	}
	live := map[v1.Hash]bool{}
	addLive := func(d v1.Descriptor) error {
		live[d.Digest] = true
		if d.MediaType != types.OCIImageIndex && d.MediaType != types.DockerManifestList {
			return nil
		}
		var ix v1.IndexManifest
		if err := readJSONBlob(dir, d, &ix); err != nil {
			return err
		}
		for _, m := range ix.Manifests {
			live[m.Digest] = true
		}
		return nil
	}
	for _, f := range fresh {
		live[f.Digest] = true
	}
	var kept, pending []v1.Descriptor
	for _, m := range old {
		t, tagged := m.Annotations[RefNameAnnotation]
		switch {
		case tagged && taken[t]:
		case tagged:
			kept = append(kept, m)
			if err := addLive(m); err != nil {
				return nil, fmt.Errorf("reading %s of the existing layout: %w", m.Digest, err)
			}
		default:
			pending = append(pending, m)
		}
	}
	// Referrers of referrers (a signature of an SBOM) follow their
	// subject; go round until nothing changes.
	for changed := true; changed; {
		changed = false
		var rest []v1.Descriptor
		for _, m := range pending {
			var head struct {
				Subject *v1.Descriptor `json:"subject"`
			}
			if !isManifestish(m.MediaType) {
				kept = append(kept, m)
				changed = true
				continue
			}
			if err := readJSONBlob(dir, m, &head); err != nil {
				return nil, fmt.Errorf("reading %s of the existing layout: %w", m.Digest, err)
			}
			switch {
			case head.Subject == nil:
				kept = append(kept, m)
				changed = true
			case detach[head.Subject.Digest]:
				// An attachment of an image written without them.
			case live[head.Subject.Digest] && !live[m.Digest]:
				kept = append(kept, m)
				live[m.Digest] = true
				changed = true
			case live[m.Digest]:
				// The same referrer is among the fresh ones.
			default:
				rest = append(rest, m)
			}
		}
		pending = rest
	}
	return kept, nil
}

// readJSONBlob reads the manifest blob d of the layout at dir into v.
func readJSONBlob(dir string, d v1.Descriptor, v any) error {
	if d.Digest.Algorithm == "" || d.Digest.Hex == "" || strings.ContainsAny(d.Digest.Algorithm+d.Digest.Hex, `/\.`) {
		return fmt.Errorf("bad digest %q", d.Digest)
	}
	b, err := os.ReadFile(filepath.Join(dir, "blobs", d.Digest.Algorithm, d.Digest.Hex))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
