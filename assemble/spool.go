package assemble

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// Memory bounds. A build holds the file contents of the image (and its
// compressed layers) in a spool file on disk rather than in memory, so
// its memory does not grow with the image: only small files are kept in
// memory, up to inlineBudget bytes of them in all.
const (
	inlineMax    = 16 << 10 // a file this small may stay in memory
	inlineBudget = 32 << 20 // the most small-file bytes kept in memory
	spoolBuf     = 256 << 10
)

// Default limits on what a build unpacks (Spec.MaxImageSize,
// Spec.MaxFileSize): well above the largest built-in image (java25:
// 283 MB of files) and its largest file (the JDK's lib/modules, 145 MB).
const (
	DefaultMaxImageSize = 2 << 30
	DefaultMaxFileSize  = 1 << 30
)

// LimitError is a package payload refused for its size: a file larger
// than the per-file limit, or the file at which the payloads of all
// packages together passed the image limit.
type LimitError struct {
	Package string // "name version"
	File    string // the package file
	Path    string // the entry, absolute in the image
	Size    int64  // the entry's size
	Total   int64  // for the image limit: the payloads' size up to and including the entry
	Limit   int64
	Image   bool // the image limit (else the per-file one)
}

func (e *LimitError) Error() string {
	if e.Package == "" { // a file from the build host
		if e.Image {
			return fmt.Sprintf("%s (/%s in the image, %d bytes) brings the files of the image to %d bytes, more than the image may have (%d bytes)",
				e.File, e.Path, e.Size, e.Total, e.Limit)
		}
		return fmt.Sprintf("%s (/%s in the image) has %d bytes, more than a file may have (%d bytes)", e.File, e.Path, e.Size, e.Limit)
	}
	if e.Image {
		return fmt.Sprintf("package %s (%s): /%s (%d bytes) brings the files of the packages to %d bytes, more than the image may have (%d bytes)",
			e.Package, e.File, e.Path, e.Size, e.Total, e.Limit)
	}
	return fmt.Sprintf("package %s (%s): /%s has %d bytes, more than a file may have (%d bytes)",
		e.Package, e.File, e.Path, e.Size, e.Limit)
}

// content is a regular file's bytes: in memory (b), or n bytes at off in
// the build's spool file.
type content struct {
	b   []byte
	sp  *spool
	off int64
	n   int64
}

func memContent(b []byte) content { return content{b: b, n: int64(len(b))} }

func (c content) size() int64 { return c.n }

// section reads the content.
func (c content) section() *io.SectionReader {
	if c.sp == nil {
		return io.NewSectionReader(bytes.NewReader(c.b), 0, c.n)
	}
	return io.NewSectionReader(c.sp.f, c.off, c.n)
}

// bytes returns the whole content, read into memory when it is spooled.
func (c content) bytes() ([]byte, error) {
	if c.sp == nil {
		return c.b, nil
	}
	b := make([]byte, c.n)
	if _, err := c.sp.f.ReadAt(b, c.off); err != nil {
		return nil, c.sp.readErr(err)
	}
	return b, nil
}

// head returns up to n bytes of the start of the content (fewer when it
// is shorter); a read error is kept in the spool and reported by the
// build.
func (c content) head(n int) []byte {
	n = int(min(int64(n), c.n))
	if c.sp == nil {
		return c.b[:n]
	}
	b := make([]byte, n)
	if _, err := c.sp.f.ReadAt(b, c.off); err != nil {
		c.sp.fail(c.sp.readErr(err))
		return nil
	}
	return b
}

// same reports whether two contents are the same bytes in the same place.
func (c content) same(d content) bool {
	if c.n != d.n || c.sp != d.sp {
		return false
	}
	if c.sp != nil {
		return c.off == d.off
	}
	return c.n == 0 || &c.b[0] == &d.b[0]
}

// contentEqual reports whether two contents hold the same bytes.
func contentEqual(a, b content) (bool, error) {
	if a.n != b.n {
		return false, nil
	}
	if a.same(b) {
		return true, nil
	}
	if a.sp == nil && b.sp == nil {
		return bytes.Equal(a.b, b.b), nil
	}
	ra, rb := a.section(), b.section()
	ba, bb := make([]byte, spoolBuf), make([]byte, spoolBuf)
	for off := int64(0); off < a.n; {
		k := int(min(int64(spoolBuf), a.n-off))
		if _, err := ra.ReadAt(ba[:k], off); err != nil {
			return false, a.readErr(err)
		}
		if _, err := rb.ReadAt(bb[:k], off); err != nil {
			return false, b.readErr(err)
		}
		if !bytes.Equal(ba[:k], bb[:k]) {
			return false, nil
		}
		off += int64(k)
	}
	return true, nil
}

func (c content) readErr(err error) error {
	if c.sp == nil {
		return err
	}
	return c.sp.readErr(err)
}

// spool is the file a build keeps file contents in. It is made in dir
// (the system's temporary directory when empty) on first use and removed
// from the directory at once, so nothing is left behind whatever happens
// to the process; the space is given back when the file is closed (by
// close, or when the garbage collector finds the image that reads from it
// unreachable).
type spool struct {
	dir string

	mu   sync.Mutex
	f    *os.File
	end  int64
	ferr error // the first error of a read that could not report it

	inline atomic.Int64 // bytes of small files kept in memory
	bufs   sync.Pool
}

func newSpool(dir string) *spool {
	s := &spool{dir: dir}
	s.bufs.New = func() any { b := make([]byte, spoolBuf); return &b }
	return s
}

func (s *spool) where() string {
	if s.dir == "" {
		return os.TempDir()
	}
	return s.dir
}

// reserve returns the offset of n new bytes of the spool file.
func (s *spool) reserve(n int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		if s.dir != "" {
			if err := os.MkdirAll(s.dir, 0o755); err != nil {
				return 0, fmt.Errorf("spool file for file contents: %w", err)
			}
		}
		f, err := os.CreateTemp(s.dir, ".spool-*")
		if err != nil {
			return 0, fmt.Errorf("spool file for file contents: %w", err)
		}
		os.Remove(f.Name())
		s.f = f
	}
	off := s.end
	s.end += n
	return off, nil
}

func (s *spool) writeErr(err error) error {
	return fmt.Errorf("writing file contents to a spool file in %s: %w", s.where(), err)
}

func (s *spool) readErr(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reading file contents back from the spool file in %s: %w", s.where(), err)
}

func (s *spool) fail(err error) {
	s.mu.Lock()
	if s.ferr == nil {
		s.ferr = err
	}
	s.mu.Unlock()
}

// err returns the first read error that could not be returned where it
// happened.
func (s *spool) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ferr
}

// spoolInline is the largest file kept in memory: inlineMax, or -1 in
// tests that spool every file.
var spoolInline int64 = inlineMax

// read takes n bytes from r: into memory when they are few (and the
// memory budget allows), else into the spool file, streamed.
func (s *spool) read(r io.Reader, n int64) (content, error) {
	if n <= spoolInline {
		if s.inline.Add(n) <= inlineBudget {
			b := make([]byte, n)
			if _, err := io.ReadFull(r, b); err != nil {
				return content{}, err
			}
			return memContent(b), nil
		}
		s.inline.Add(-n)
	}
	off, err := s.reserve(n)
	if err != nil {
		return content{}, err
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := *bp
	for done := int64(0); done < n; {
		k := int(min(int64(len(buf)), n-done))
		if _, err := io.ReadFull(r, buf[:k]); err != nil {
			return content{}, err
		}
		if _, err := s.f.WriteAt(buf[:k], off+done); err != nil {
			return content{}, s.writeErr(err)
		}
		done += int64(k)
	}
	return content{sp: s, off: off, n: n}, nil
}

// put keeps a copy of b in the spool file.
func (s *spool) put(b []byte) (content, error) {
	off, err := s.reserve(int64(len(b)))
	if err != nil {
		return content{}, err
	}
	if _, err := s.f.WriteAt(b, off); err != nil {
		return content{}, s.writeErr(err)
	}
	return content{sp: s, off: off, n: int64(len(b))}, nil
}

// close gives the spool file's space back. Contents read from it are
// invalid afterwards.
func (s *spool) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// sha256 returns the SHA-256 of the content.
func (c content) sha256() ([32]byte, error) {
	if c.sp == nil {
		return sha256.Sum256(c.b), nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, c.section()); err != nil {
		return [32]byte{}, c.readErr(err)
	}
	return [32]byte(h.Sum(nil)), nil
}

// copyBufs are writeContent's copy buffers.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// writeContent writes the content to a new file.
func writeContent(dst string, c content, mode os.FileMode) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	// Not through f's ReadFrom, which would allocate a buffer per file.
	bp := copyBufs.Get().(*[]byte)
	_, err = io.CopyBuffer(struct{ io.Writer }{f}, c.section(), *bp)
	copyBufs.Put(bp)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
