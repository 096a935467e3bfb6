package unpackcache

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/distroless-dev/distroless/packages/decompress"
)

// keys memoises package digests by file identity, so a process that walks
// a package and then reads more of it hashes it once.
var keys sync.Map // fileID -> string

type fileID struct {
	path  string
	size  int64
	mtime int64
}

// Key returns the hex SHA-256 of an open package file.
func Key(f *os.File) (string, error) {
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	id := fileID{path: f.Name(), size: st.Size(), mtime: st.ModTime().UnixNano()}
	if k, ok := keys.Load(id); ok {
		return k.(string), nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, st.Size())); err != nil {
		return "", err
	}
	k := hex.EncodeToString(h.Sum(nil))
	keys.Store(id, k)
	return k, nil
}

// Walk calls fn for every entry of the cache entry at path, in order; the
// reader is valid until fn returns. done is false when there is no usable
// entry (and nothing was passed to fn), so the caller reads the package
// itself; an entry found damaged then is removed. An entry found damaged
// after fn was called is removed and reported as an error. An error from
// fn stops the walk and is returned as is.
func Walk(path string, fn func(h *tar.Header, r io.Reader) error) (done bool, err error) {
	cf, err := os.Open(path)
	if err != nil {
		return false, nil
	}
	defer cf.Close()
	zr, err := decompress.Open(cf, decompress.Zstd)
	if err != nil {
		os.Remove(path)
		return false, nil
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for called := false; ; called = true {
		h, err := tr.Next()
		if err != nil && err != io.EOF && !called {
			// Damaged before anything was passed on: read the package.
			os.Remove(path)
			return false, nil
		}
		if err == io.EOF {
			// Read to the end of the file so the zstd frame's checksum
			// is verified and nothing follows it.
			if err := zr.Finish(); err != nil {
				os.Remove(path)
				return true, damaged(path, err)
			}
			return true, nil
		}
		if err != nil {
			os.Remove(path)
			return true, damaged(path, err)
		}
		if err := fn(h, tr); err != nil {
			return true, err
		}
	}
}

func damaged(path string, err error) error {
	return fmt.Errorf("unpack cache entry %s is damaged (removed; run again): %w", filepath.Base(path), err)
}

// Writer writes one cache entry: the bytes of an uncompressed tar stream,
// compressed into a temporary file that Commit renames into place and
// Abort removes. Its errors are kept, never returned by Write: a broken
// cache only costs speed, so it must not fail the walk that feeds it.
type Writer struct {
	f    *os.File
	zw   *zstd.Encoder
	dst  string
	err  error
	done bool
}

// Create starts the entry dst, creating its directory if need be. The
// temporary file is ".tmp-*" plus dst's extensions (".tar.zst" for
// "<hex>.tar.zst"), next to dst.
func Create(dst string) (*Writer, error) {
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ext := ""
	if i := strings.IndexByte(filepath.Base(dst), '.'); i >= 0 {
		ext = filepath.Base(dst)[i:]
	}
	f, err := os.CreateTemp(dir, ".tmp-*"+ext)
	if err != nil {
		return nil, err
	}
	zw, err := zstd.NewWriter(f, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &Writer{f: f, zw: zw, dst: dst}, nil
}

// Write compresses b into the entry. It never fails; an error is kept and
// the entry is then not committed.
func (w *Writer) Write(b []byte) (int, error) {
	if w.err == nil {
		_, w.err = w.zw.Write(b)
	}
	return len(b), nil
}

// Commit completes the entry and renames it into place, or removes the
// temporary file if anything failed (the error is returned, for what it
// is worth). After Commit or Abort it does nothing.
func (w *Writer) Commit() error {
	if w.done {
		return w.err
	}
	w.done = true
	if w.err == nil {
		w.err = w.zw.Close()
	}
	if w.err == nil {
		w.err = w.f.Sync()
	}
	if err := w.f.Close(); w.err == nil {
		w.err = err
	}
	if w.err == nil {
		w.err = os.Rename(w.f.Name(), w.dst)
	}
	if w.err != nil {
		os.Remove(w.f.Name())
	}
	return w.err
}

// Abort removes the temporary file. After Commit or Abort it does nothing.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.zw.Close()
	w.f.Close()
	os.Remove(w.f.Name())
}

// Has reports whether dir holds the entry for the package file, named
// <Key>+ext (ext as ".tar.zst"). An error opening file is returned as is,
// one reading it is prefixed with its name.
func Has(file, dir, ext string) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	key, err := Key(f)
	f.Close()
	if err != nil {
		return false, fmt.Errorf("%s: %w", file, err)
	}
	_, err = os.Stat(filepath.Join(dir, key+ext))
	return err == nil, nil
}
