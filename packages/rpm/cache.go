package rpm

import (
	"archive/tar"
	"bytes"
	"io"

	"github.com/distroless-dev/distroless/packages/unpackcache"
)

// cacheWriter writes one unpack cache entry as a tar of the entries Walk
// yields. Its errors are kept, never returned: a broken cache only costs
// speed, and an entry with an error is not committed.
type cacheWriter struct {
	w   *unpackcache.Writer
	tw  *tar.Writer
	err error
}

func newCacheWriter(dst, key string) (*cacheWriter, error) {
	w, err := unpackcache.Create(dst, key)
	if err != nil {
		return nil, err
	}
	return &cacheWriter{w: w, tw: tar.NewWriter(w)}, nil
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
	if c.err == nil {
		c.err = c.tw.Close()
	}
	if c.err == nil {
		c.w.Commit()
	} else {
		c.w.Abort()
	}
}

func (c *cacheWriter) abort() { c.w.Abort() }
