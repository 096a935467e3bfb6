package publish

import (
	"archive/tar"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/distroless-dev/distroless/internal/atomicfile"
)

// writeOCIArchive writes an oci-archive: a tar of an OCI image layout
// holding a tagged tag, as podman, skopeo and buildah read one
// (oci-archive:FILE[:REF]). The layout is written in a temporary
// directory next to file, then archived to a temporary file renamed over
// file; both are removed on failure. The tar is the same for the same
// artifact: entries in name order, oci-layout and index.json first,
// owners 0, mtimes the epoch, modes 0644 and 0755.
func writeOCIArchive(ctx context.Context, a Artifact, file, tag string) (err error) {
	file = filepath.Clean(file)
	tmpDir, err := os.MkdirTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmpDir)
	layoutDir := filepath.Join(tmpDir, "layout")
	if err := writeOCI(ctx, a, layoutDir, tag); err != nil {
		return err
	}
	if err := atomicfile.Write(file, atomicfile.Options{Pattern: "." + filepath.Base(file) + ".tmp-*", Sync: true}, func(w io.Writer) error {
		return tarLayout(ctx, layoutDir, &ctxWriter{ctx, w})
	}); err != nil {
		return err
	}
	syncDir(filepath.Dir(file))
	return nil
}

// tarLayout writes the layout at dir as a tar, leaving out its lock file.
func tarLayout(ctx context.Context, dir string, w io.Writer) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." || rel == layoutLockName {
			return err
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return err
	}
	rank := func(n string) int {
		switch n {
		case "oci-layout":
			return 0
		case "index.json":
			return 1
		}
		return 2
	}
	sort.Slice(names, func(i, j int) bool {
		if ri, rj := rank(names[i]), rank(names[j]); ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	tw := tar.NewWriter(w)
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(n))
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: n, ModTime: time.Unix(0, 0)}
		switch {
		case st.IsDir():
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, n+"/", 0o755
		case st.Mode().IsRegular():
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o644, st.Size()
		default:
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if err := copyInto(tw, p); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

func copyInto(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
