package rpm

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"
)

// walkCached walks a cache entry. done is false when there is no usable
// entry (and nothing was passed to fn), so the caller reads the package.
func walkCached(cached string, fn func(h *tar.Header, r io.Reader) error) (done bool, err error) {
	cf, err := os.Open(cached)
	if err != nil {
		return false, nil
	}
	defer cf.Close()
	zr, err := zstd.NewReader(bufio.NewReaderSize(cf, 256<<10), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return false, nil
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for called := false; ; called = true {
		h, err := tr.Next()
		if err != nil && err != io.EOF && !called {
			os.Remove(cached)
			return false, nil
		}
		if err == io.EOF {
			// Reach the end of the zstd frame so its checksum is verified.
			if _, err := io.Copy(io.Discard, zr); err != nil {
				os.Remove(cached)
				return true, fmt.Errorf("unpack cache entry %s is damaged (removed; run again): %w", filepath.Base(cached), err)
			}
			return true, nil
		}
		if err != nil {
			os.Remove(cached)
			return true, fmt.Errorf("unpack cache entry %s is damaged (removed; run again): %w", filepath.Base(cached), err)
		}
		if err := fn(h, tr); err != nil {
			return true, err
		}
	}
}

// cacheWriter writes one cache entry to a temporary file that commit
// renames into place and abort removes. Its errors are kept, never
// returned: a broken cache only costs speed.
type cacheWriter struct {
	f    *os.File
	zw   *zstd.Encoder
	tw   *tar.Writer
	dst  string
	err  error
	done bool
}

func newCacheWriter(dst string) (*cacheWriter, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*.rpm.tar.zst")
	if err != nil {
		return nil, err
	}
	zw, err := zstd.NewWriter(f, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &cacheWriter{f: f, zw: zw, tw: tar.NewWriter(zw), dst: dst}, nil
}

func (c *cacheWriter) add(h *tar.Header, data []byte) {
	if c.err != nil {
		return
	}
	hh := *h
	if hh.Typeflag != tar.TypeReg {
		hh.Size = 0
	}
	if c.err = c.tw.WriteHeader(&hh); c.err == nil && len(data) > 0 {
		_, c.err = io.Copy(c.tw, bytes.NewReader(data))
	}
}

func (c *cacheWriter) commit() {
	if c.done {
		return
	}
	if c.err == nil {
		c.err = c.tw.Close()
	}
	if c.err == nil {
		c.err = c.zw.Close()
	}
	if c.err == nil {
		c.err = c.f.Sync()
	}
	if err := c.f.Close(); c.err == nil {
		c.err = err
	}
	if c.err == nil {
		c.err = os.Rename(c.f.Name(), c.dst)
	}
	if c.err != nil {
		os.Remove(c.f.Name())
	}
	c.done = true
}

func (c *cacheWriter) abort() {
	if c.done {
		return
	}
	c.done = true
	c.zw.Close()
	c.f.Close()
	os.Remove(c.f.Name())
}
