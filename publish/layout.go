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
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layoutLockName is the lock file that earlier versions kept in every
// OCI layout they wrote. Writers now lock the layout's directory itself
// (see lockLayout) and leave no file of their own in it; a directory
// holding nothing but this file (left by a killed writer of an earlier
// version) is taken for an empty one, and the file goes with the next
// write of the layout.
const layoutLockName = "index.json.lock"

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
			if e.Name() != layoutLockName {
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
