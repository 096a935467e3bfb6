package decompress

import (
	"bufio"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/therootcompany/xz"
)

// Format is a compression format, named as the usual file extension
// without its dot.
type Format string

// The formats Open reads.
const (
	None  Format = ""    // not compressed
	Gzip  Format = "gz"  // gzip (RFC 1952)
	XZ    Format = "xz"  // xz (.xz container, LZMA2)
	Zstd  Format = "zst" // Zstandard (RFC 8878)
	Bzip2 Format = "bz2" // bzip2
)

// String names the format for messages ("gzip", "xz", "zstd", "bzip2",
// "uncompressed").
func (f Format) String() string {
	switch f {
	case None:
		return "uncompressed"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	case Bzip2:
		return "bzip2"
	}
	return string(f)
}

// FromExt returns the format of a file name extension (".gz", ".xz",
// ".zst", ".bz2"); ok is false for any other.
func FromExt(ext string) (f Format, ok bool) {
	switch ext {
	case ".gz":
		return Gzip, true
	case ".xz":
		return XZ, true
	case ".zst":
		return Zstd, true
	case ".bz2":
		return Bzip2, true
	}
	return None, false
}

// Error is a stream that does not decode: corrupt, truncated, empty, or
// followed by bytes that are not part of it.
type Error struct {
	Format Format
	Err    error
}

func (e *Error) Error() string {
	switch {
	case errors.Is(e.Err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("truncated %s stream", e.Format)
	case errors.Is(e.Err, errEmpty), errors.Is(e.Err, errTrailing):
		return fmt.Sprintf("%s stream: %v", e.Format, e.Err)
	}
	return fmt.Sprintf("corrupt %s stream: %v", e.Format, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

var (
	errClosed   = errors.New("decompress: read after Close")
	errEmpty    = errors.New("empty")
	errTrailing = errors.New("data follows the end of the stream")
)

// bufSize is the read buffer between the input and the decoder.
const bufSize = 256 << 10

// Reader decompresses one stream; see the package documentation for what
// it checks. It is not safe for concurrent use.
type Reader struct {
	format Format
	src    *source
	br     *bufio.Reader
	dec    io.Reader
	put    func() // returns the decoder to its pool
	whole  bool   // dec checked that the stream fills the input (parallel xz)
	err    error  // sticky: io.EOF once the stream ended cleanly
}

// source records the first error of the input other than io.EOF, so that
// it is reported as it is rather than as corruption.
type source struct {
	r   io.Reader
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// Open starts decompressing r as format f. The stream header is read
// here, so a stream that is empty or not of format f fails now.
func Open(r io.Reader, f Format) (*Reader, error) {
	switch f {
	case None, Gzip, XZ, Zstd, Bzip2:
	default:
		return nil, fmt.Errorf("unsupported compression %q", string(f))
	}
	z := &Reader{format: f, src: &source{r: r}, put: func() {}}
	if br, ok := bufPool.Get().(*bufio.Reader); ok {
		br.Reset(z.src)
		z.br = br
	} else {
		z.br = bufio.NewReaderSize(z.src, bufSize)
	}
	if f == None {
		z.dec = z.br
		return z, nil
	}
	if _, err := z.br.Peek(1); err != nil {
		if err == io.EOF {
			err = errEmpty
		}
		return nil, z.wrap(err)
	}
	var err error
	switch f {
	case Gzip:
		var gr *gzip.Reader
		if g, ok := gzipPool.Get().(*gzip.Reader); ok {
			if err = g.Reset(z.br); err == nil {
				gr = g
			}
		} else {
			gr, err = gzip.NewReader(z.br)
		}
		if gr != nil {
			gr.Multistream(false)
			z.dec, z.put = &gzipMembers{gr, z.br}, func() { gr.Close(); gzipPool.Put(gr) }
		}
	case XZ:
		if ra, ok := r.(sizedReaderAt); ok && xzWorkers() > 1 {
			blocks, hdr, lerr := xzLayout(ra)
			if lerr != nil {
				z.src.err = lerr
				return nil, lerr
			}
			if blocks != nil {
				z.dec, z.whole = newXZParallel(ra, hdr, blocks, z.src), true
				return z, nil
			}
		}
		var xr *xz.Reader
		if x, ok := xzPool.Get().(*xz.Reader); ok {
			if err = x.Reset(z.br); err == nil {
				xr = x
			}
		} else {
			xr, err = xz.NewReader(z.br, 0)
		}
		if xr != nil {
			z.dec, z.put = xr, func() { xzPool.Put(xr) }
		}
	case Zstd:
		var d *zstd.Decoder
		if d, err = getZstd(z.br); err == nil {
			z.dec, z.put = d, func() { putZstd(d) }
		}
	case Bzip2:
		z.dec = bzip2.NewReader(z.br)
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, z.wrap(err)
	}
	return z, nil
}

// Read reads decompressed bytes. It returns io.EOF only at the checked end
// of the input; any other error is sticky.
func (z *Reader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	n, err := z.dec.Read(p)
	if err == io.EOF {
		err = z.atEnd()
	}
	if err != nil {
		if err != io.EOF {
			err = z.wrap(err)
		}
		z.err = err
	}
	return n, err
}

// atEnd checks, once the decoder says its stream ended, that the input
// ended there too (the decoders read concatenated streams, so this only
// catches what one leaves unread).
func (z *Reader) atEnd() error {
	if z.format == None || z.whole {
		return io.EOF
	}
	if _, err := z.br.Peek(1); err == nil {
		return errTrailing
	} else if err != io.EOF {
		return err
	}
	return io.EOF
}

// wrap reports an error of the input as it is and any other as an *Error.
func (z *Reader) wrap(err error) error {
	if z.src.err != nil {
		return z.src.err
	}
	if z.format == None {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	return &Error{Format: z.format, Err: err}
}

// Err returns the error that stopped the stream, or nil while it reads
// and after it ended cleanly. A reader of an archive inside the stream
// hands the entries' readers to a caller, which may get the stream's
// error from them: Err tells such an error from the caller's own.
func (z *Reader) Err() error {
	if z.err == io.EOF || z.err == errClosed {
		return nil
	}
	return z.err
}

// Finish reads the rest of the stream, discarding it, and returns nil when
// it ended cleanly: call it after a reader of an archive inside the
// stream stopped at its end marker, so that the trailer is checked too.
func (z *Reader) Finish() error {
	_, err := io.Copy(io.Discard, z)
	return err
}

// Close releases the decoder; the Reader must not be used afterwards.
// It does not close the input.
func (z *Reader) Close() {
	if p, ok := z.dec.(*xzParallel); ok {
		p.close()
	}
	if z.put != nil {
		z.put()
		z.put = nil
	}
	if z.br != nil {
		z.br.Reset(nil)
		bufPool.Put(z.br)
	}
	z.dec, z.br = nil, nil
	z.err = errClosed
}

// gzipMembers reads concatenated gzip members, as gzip(1) does, telling
// bytes after the last member that do not start one from a member cut
// short.
type gzipMembers struct {
	zr *gzip.Reader
	br *bufio.Reader
}

func (g *gzipMembers) Read(p []byte) (int, error) {
	for {
		n, err := g.zr.Read(p)
		if err != io.EOF {
			return n, err
		}
		// A member ended, its CRC-32 and size checked.
		if _, err := g.br.Peek(1); err != nil {
			return n, err // io.EOF: the end
		}
		if b, _ := g.br.Peek(2); len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			return n, errTrailing
		}
		if err := g.zr.Reset(g.br); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
		g.zr.Multistream(false)
		if n > 0 {
			return n, nil
		}
	}
}

var (
	bufPool  sync.Pool // *bufio.Reader of bufSize
	gzipPool sync.Pool // *gzip.Reader
	xzPool   sync.Pool // *xz.Reader: a dictionary of up to 64 MiB each
	zstdPool sync.Pool // *zstd.Decoder: a large history buffer each
)

// maxZstdWindow bounds the window a zstd frame may need.
const maxZstdWindow = 1 << 27

func getZstd(r io.Reader) (*zstd.Decoder, error) {
	if d, ok := zstdPool.Get().(*zstd.Decoder); ok {
		if err := d.Reset(r); err == nil {
			return d, nil
		}
		d.Close()
	}
	// Checksums are verified by default (zstd.IgnoreChecksum not set).
	// The decoder allocates the window a frame asks for before reading
	// any data, so the window is bounded as zstd(1) and libzstd bound it
	// by default (ZSTD_WINDOWLOG_LIMIT_DEFAULT, 27: 128 MiB, which covers
	// rpm's long-distance payloads); a 12-byte stream must not cost
	// gigabytes.
	return zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow))
}

func putZstd(d *zstd.Decoder) {
	if d.Reset(nil) == nil {
		zstdPool.Put(d)
	} else {
		d.Close()
	}
}
