package assemble

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
	"strings"

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
	// authn.DefaultKeychain (docker and podman credentials).
	Keychain authn.Keychain
}

// RefNameAnnotation is the OCI layout annotation holding an image's tag.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// Write writes img to output and returns its manifest digest
// ("sha256:…"). Output is one of:
//
//   - oci:DIR[:TAG] — an OCI image layout, the image tagged TAG
//     ("latest" by default) through the org.opencontainers.image.ref.name
//     annotation. An existing layout keeps its other images; one with the
//     same tag is replaced (and its blobs no longer needed dropped).
//   - docker-archive:FILE[:REF] — a tarball docker load and podman load
//     accept, the image named REF (opts.DefaultRef by default).
//   - REGISTRY/REPO[:TAG|@DIGEST] — pushed to a registry. The first
//     component must name a registry (contain a dot or a colon, or be
//     localhost), so that a mistyped file name is never pushed to Docker
//     Hub; write docker.io/… for that.
//
// Files are written next to their target and renamed into place, so an
// interrupted or failed write leaves an earlier output as it was.
func Write(ctx context.Context, img v1.Image, output string, opts WriteOptions) (string, error) {
	t, err := parseOutput(output, opts)
	if err != nil {
		return "", err
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	// Create the output's parent directory, as users expect of -o.
	for _, p := range []string{t.dir, t.file} {
		if p != "" {
			if err := os.MkdirAll(filepath.Dir(filepath.Clean(p)), 0o755); err != nil {
				return "", fmt.Errorf("output %q: %w", output, err)
			}
		}
	}
	switch {
	case t.dir != "":
		if err := writeOCI(ctx, img, t.dir, t.tag); err != nil {
			return "", fmt.Errorf("writing %s: %w", output, err)
		}
	case t.file != "":
		if err := writeArchive(ctx, img, t.file, t.archiveTag); err != nil {
			return "", fmt.Errorf("writing %s: %w", output, err)
		}
	default:
		kc := opts.Keychain
		if kc == nil {
			kc = authn.DefaultKeychain
		}
		if err := remote.Write(t.ref, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)); err != nil {
			return "", fmt.Errorf("pushing %s: %w", t.ref, err)
		}
	}
	return d.String(), nil
}

// CheckOutput reports whether Write would accept output, without writing
// anything, so that a mistyped output fails before a build.
func CheckOutput(output string, opts WriteOptions) error {
	_, err := parseOutput(output, opts)
	return err
}

// target is a parsed output: an OCI layout (dir, tag), a docker archive
// (file, archiveTag) or a registry reference (ref).
type target struct {
	dir, tag   string
	file       string
	archiveTag name.Tag
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
		file, ref, _ := strings.Cut(strings.TrimPrefix(output, "docker-archive:"), ":")
		if file == "" {
			return t, fmt.Errorf("output %q: no file", output)
		}
		if ref == "" {
			ref = opts.DefaultRef
		}
		if ref == "" {
			return t, fmt.Errorf("output %q: no image name (docker-archive:FILE:NAME:TAG)", output)
		}
		tag, err := name.NewTag(ref)
		if err != nil {
			return t, fmt.Errorf("output %q: %w", output, err)
		}
		t.file, t.archiveTag = file, tag
	default:
		ref, err := parseRegistryRef(output)
		if err != nil {
			return t, err
		}
		t.ref = ref
	}
	return t, nil
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
		return nil, fmt.Errorf("output %q: want oci:DIR[:TAG], docker-archive:FILE[:NAME:TAG] or REGISTRY/REPOSITORY:TAG (the registry must be named, e.g. docker.io/…)", s)
	}
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("output %q: %w", s, err)
	}
	return ref, nil
}

// writeArchive writes a docker-archive through a temporary file.
func writeArchive(ctx context.Context, img v1.Image, file string, tag name.Tag) (err error) {
	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := tarball.Write(tag, img, &ctxWriter{ctx, f}); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), file)
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

// writeOCI writes a new layout in a temporary directory next to dir,
// bringing over the images of an existing layout whose tag differs, and
// swaps it into place.
func writeOCI(ctx context.Context, img v1.Image, dir, tag string) (err error) {
	dir = filepath.Clean(dir)
	var old *v1.IndexManifest
	st, statErr := os.Stat(dir)
	switch {
	case statErr == nil && !st.IsDir():
		return fmt.Errorf("%s exists and is not a directory", dir)
	case statErr == nil:
		if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err == nil {
			b, err := os.ReadFile(filepath.Join(dir, "index.json"))
			if err != nil {
				return fmt.Errorf("reading the existing layout: %w", err)
			}
			old = &v1.IndexManifest{}
			if err := json.Unmarshal(b, old); err != nil {
				return fmt.Errorf("reading the existing layout's index.json: %w", err)
			}
		} else if ents, err := os.ReadDir(dir); err != nil || len(ents) > 0 {
			return fmt.Errorf("%s exists and is neither empty nor an OCI image layout; not replacing it", dir)
		}
	case !errors.Is(statErr, fs.ErrNotExist):
		return statErr
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
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	lp, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := lp.WriteImage(img); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	desc := v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: d, Annotations: map[string]string{RefNameAnnotation: tag}}
	if cf, err := img.ConfigFile(); err == nil && cf.Architecture != "" {
		desc.Platform = &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	}

	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	placed := false
	if old != nil {
		index.Annotations = old.Annotations
		for _, m := range old.Manifests {
			if m.Annotations[RefNameAnnotation] == tag {
				if !placed {
					index.Manifests = append(index.Manifests, desc)
					placed = true
				}
				continue
			}
			if err := copyBlobs(dir, tmp, m, 0); err != nil {
				return fmt.Errorf("keeping %s from the existing layout: %w", m.Digest, err)
			}
			index.Manifests = append(index.Manifests, m)
		}
	}
	if !placed {
		index.Manifests = append(index.Manifests, desc)
	}
	b, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "index.json"), b, 0o644); err != nil {
		return err
	}
	if err := syncTree(tmp); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if old == nil && statErr != nil {
		if err := os.Rename(tmp, dir); err != nil {
			return err
		}
		tmp = ""
		return nil
	}
	// Swap the new layout in; tmp then holds the old one, removed on return.
	return swapDirs(tmp, dir)
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
	if err := os.Link(src, dst); err != nil {
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
	if _, err = io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncTree flushes every file of a freshly written directory tree to disk.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}
