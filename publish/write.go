package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/distroless-dev/distroless/internal/atomicfile"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
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
	if err := checkOutput(output); err != nil {
		return t, err
	}
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
		ref, err := registryRef(output, opts.Registry)
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
