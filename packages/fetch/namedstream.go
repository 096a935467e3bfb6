package fetch

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
)

// PutFrom is Put for a large entry: what write writes is stored under
// key, streamed to a temporary file (its digest computed on the way and
// written into the header last) and renamed into place, never held in
// memory. A failed write leaves the entry as it was.
func (c *Cache) PutFrom(key string, write func(w io.Writer) error) error {
	c.sweep()
	return writeAtomic(c.namedPath(key), func(w io.Writer) error {
		f, ok := w.(*os.File)
		if !ok {
			return errors.New("cache: a streamed entry needs a file")
		}
		if _, err := f.Write(append([]byte(namedMagic), make([]byte, sha256.Size)...)); err != nil {
			return err
		}
		h := sha256.New()
		if err := write(io.MultiWriter(f, h)); err != nil {
			return err
		}
		_, err := f.WriteAt(h.Sum(nil), int64(len(namedMagic)))
		return err
	})
}

// OpenNamed is Get for a large entry: it returns a reader of the data
// stored under key and the data's size. The data is checked against the
// entry's digest as it is read: the read that reaches its end fails (and
// the entry is removed, as Get removes a damaged one) when they differ, so
// a caller must read to the end before trusting what it read. A missing
// entry is an error that wraps fs.ErrNotExist.
func (c *Cache) OpenNamed(key string) (io.ReadCloser, int64, error) {
	c.sweep()
	p := c.namedPath(key)
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, c.missing(key)
		}
		return nil, 0, fmt.Errorf("cache: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("cache: %w", err)
	}
	head := make([]byte, namedHeader)
	if _, err := io.ReadFull(f, head); err != nil || !bytes.HasPrefix(head, []byte(namedMagic)) {
		f.Close()
		os.Remove(p)
		if bytes.HasPrefix(head, []byte(namedMagic[:4])) {
			c.logf("warning: cache entry %s (%s) was damaged (short header): removed", p, key)
		}
		return nil, 0, c.missing(key)
	}
	touch(p, st)
	n := st.Size() - int64(namedHeader)
	return &namedReader{c: c, key: key, p: p, f: f, r: io.LimitReader(f, n), h: sha256.New(), want: head[len(namedMagic):]}, n, nil
}

// namedReader reads a named entry's data, checking its digest at the end.
type namedReader struct {
	c      *Cache
	key, p string
	f      *os.File
	r      io.Reader
	h      hash.Hash
	want   []byte
	err    error
}

func (r *namedReader) Read(b []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.r.Read(b)
	r.h.Write(b[:n])
	if err == io.EOF && !bytes.Equal(r.h.Sum(nil), r.want) {
		r.c.evict(r.p, r.key+": its content does not match its digest", "making it again")
		err = fmt.Errorf("cache entry %s (%s): its content does not match its digest: %w", r.p, r.key, r.c.missing(r.key))
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

func (r *namedReader) Close() error { return r.f.Close() }
