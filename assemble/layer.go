package assemble

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression parameters. They are part of every layer digest: changing
// them changes every image.
const (
	gzipLevel = 3       // klauspost/compress flate level
	chunkSize = 1 << 20 // uncompressed bytes per independently compressed block
	dictSize  = 32 << 10
)

// gzipHeader is the fixed gzip member header: deflate, no flags, no mtime,
// no extra flags, OS unknown.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// stream is a tar stream held as a list of segments: headers and
// padding copied into arenas, file content referenced where it already is
// (in memory, or in the spool file), so a layer is never copied into one
// big buffer.
type stream struct {
	segs       []segment
	size       int64
	arena      []byte
	expect     []byte  // the next Write of exactly this slice is referenced
	expectFile content // ... or, when this is set, stands for this spooled content
}

type segment struct {
	b   []byte
	c   content // when b is nil: spooled bytes
	off int64   // offset in the stream
}

func (sg segment) len() int64 {
	if sg.b == nil {
		return sg.c.n
	}
	return int64(len(sg.b))
}

// zeros stands for spooled content in writes to a stream.
var zeros = make([]byte, spoolBuf)

const arenaSize = 256 << 10

func (s *stream) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(s.expect) > 0 && len(p) == len(s.expect) && &p[0] == &s.expect[0] {
		s.expect = nil
		if s.expectFile.sp != nil {
			c := s.expectFile
			s.expectFile = content{}
			s.segs = append(s.segs, segment{c: c, off: s.size})
		} else {
			s.segs = append(s.segs, segment{b: p, off: s.size})
		}
		s.size += int64(len(p))
		return len(p), nil
	}
	for rest := p; len(rest) > 0; {
		if len(s.arena) == cap(s.arena) {
			s.arena = make([]byte, 0, max(arenaSize, min(len(rest), 16<<20)))
		}
		n := min(len(rest), cap(s.arena)-len(s.arena))
		start := len(s.arena)
		s.arena = append(s.arena, rest[:n]...)
		chunk := s.arena[start : start+n : start+n]
		// Extend the last segment when it ends right where this begins.
		if k := len(s.segs) - 1; k >= 0 && len(s.segs[k].b) > 0 {
			last := s.segs[k].b
			if cap(last) == len(last) && start > 0 && &s.arena[start-1] == &last[len(last)-1] {
				s.segs[k].b = s.arena[start-len(last) : start+n : start+n]
				s.size += int64(n)
				rest = rest[n:]
				continue
			}
		}
		s.segs = append(s.segs, segment{b: chunk, off: s.size})
		s.size += int64(n)
		rest = rest[n:]
	}
	return len(p), nil
}

// readAt copies the stream's bytes at [off, off+len(dst)) into dst.
func (s *stream) readAt(dst []byte, off int64) error {
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].off+s.segs[i].len() > off })
	for n := 0; n < len(dst) && i < len(s.segs); i++ {
		sg := s.segs[i]
		at := off + int64(n) - sg.off
		if sg.b != nil {
			n += copy(dst[n:], sg.b[at:])
			continue
		}
		k := int(min(int64(len(dst)-n), sg.c.n-at))
		if _, err := sg.c.section().ReadAt(dst[n:n+k], at); err != nil {
			return sg.c.readErr(err)
		}
		n += k
	}
	return nil
}

// each calls fn with the stream's bytes in [from, to), in order. Spooled
// bytes are read into a buffer that is valid until fn returns.
func (s *stream) each(from, to int64, fn func([]byte) error) error {
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].off+s.segs[i].len() > from })
	var buf []byte
	for ; i < len(s.segs) && s.segs[i].off < to; i++ {
		sg := s.segs[i]
		lo := max(from-sg.off, 0)
		hi := min(to-sg.off, sg.len())
		if sg.b != nil {
			if err := fn(sg.b[lo:hi]); err != nil {
				return err
			}
			continue
		}
		if buf == nil {
			bp := sg.c.sp.bufs.Get().(*[]byte)
			defer sg.c.sp.bufs.Put(bp)
			buf = *bp
		}
		r := sg.c.section()
		for lo < hi {
			k := int(min(int64(len(buf)), hi-lo))
			if _, err := r.ReadAt(buf[:k], lo); err != nil {
				return sg.c.readErr(err)
			}
			if err := fn(buf[:k]); err != nil {
				return err
			}
			lo += int64(k)
		}
	}
	return nil
}

// writeTar renders a layer's entries as a tar stream.
func writeTar(entries []tarEntry) (*stream, int64, error) {
	st := &stream{}
	tw := tar.NewWriter(st)
	var content int64
	for _, e := range entries {
		h := &tar.Header{
			Name:     e.path,
			Mode:     e.n.mode,
			Uid:      e.n.uid,
			Gid:      e.n.gid,
			ModTime:  time.Unix(e.n.mtime, 0),
			Typeflag: e.n.typ,
			Format:   tar.FormatPAX,
		}
		switch {
		case e.n.typ == tar.TypeDir:
			h.Name += "/"
		case e.n.typ == tar.TypeSymlink:
			h.Linkname = e.n.link
		case e.linkTo != "":
			h.Typeflag, h.Linkname = tar.TypeLink, e.linkTo
		default:
			h.Size = e.n.c.size()
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, 0, fmt.Errorf("/%s: %w", e.path, err)
		}
		if h.Size > 0 {
			if err := writeContentTo(tw, st, e.n.c); err != nil {
				return nil, 0, err
			}
			content += h.Size
		}
	}
	if err := tw.Close(); err != nil {
		return nil, 0, err
	}
	return st, content, nil
}

// writeContentTo writes a file's content through the tar writer into the
// stream, by reference: content in memory as it is, spooled content as
// runs of zeros that the stream takes for pieces of it.
func writeContentTo(tw *tar.Writer, st *stream, c content) error {
	if c.sp == nil {
		st.expect = c.b
		_, err := tw.Write(c.b)
		st.expect = nil
		return err
	}
	for done := int64(0); done < c.n; {
		k := min(int64(len(zeros)), c.n-done)
		st.expect, st.expectFile = zeros[:k], content{sp: c.sp, off: c.off + done, n: k}
		_, err := tw.Write(zeros[:k])
		taken := st.expect == nil
		st.expect, st.expectFile = nil, content{}
		if err != nil {
			return err
		}
		if !taken {
			return errors.New("the tar writer did not pass file content through as it was written")
		}
		done += k
	}
	return nil
}

// deflateChunk readies *zw to compress a chunk into out primed with dict,
// reusing the writer's tables (a reset writer encodes exactly as a new one
// does; TestDeflateReuse holds the library to that).
func deflateChunk(zw **flate.Writer, out io.Writer, dict []byte) error {
	if *zw == nil {
		w, err := flate.NewWriterDict(out, gzipLevel, dict)
		*zw = w
		return err
	}
	(*zw).ResetDict(out, dict)
	return nil
}

// memLayer is a layer whose compressed bytes are kept as the parts it was
// compressed in (in the spool file, but for the gzip header and
// trailer), its digests computed once.
type memLayer struct {
	parts          []content
	size           int64
	digest, diffID v1.Hash
	tarSize        int64
	mediaType      types.MediaType
}

var _ v1.Layer = (*memLayer)(nil)

func (l *memLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *memLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *memLayer) Size() (int64, error)                { return l.size, nil }
func (l *memLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

func (l *memLayer) Compressed() (io.ReadCloser, error) {
	rs := make([]io.Reader, len(l.parts))
	for i, p := range l.parts {
		rs[i] = p.section()
	}
	return io.NopCloser(io.MultiReader(rs...)), nil
}

func (l *memLayer) Uncompressed() (io.ReadCloser, error) {
	rc, _ := l.Compressed()
	if l.mediaType == types.OCILayerZStd {
		zr, err := zstd.NewReader(rc, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		return zr.IOReadCloser(), nil
	}
	return gzip.NewReader(rc)
}

func hashOf(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// compressLayersWith compresses several tar streams at once, into the
// spool. Every stream's uncompressed digest (its diffID) is computed
// first; a layer the cache holds compressed with the same compression is
// taken from it (copied into the spool, see layercache.go), and only the
// others are compressed, then stored there. Compression cuts every stream
// into chunkSize blocks that are compressed in parallel: for gzip, each
// block deflated primed with the dictSize bytes before it and ended with a
// sync flush (the last with the final block), joined into one gzip
// member; for zstd, each block one zstd frame (with its checksum), the
// frames concatenated. The output depends only on the input, never on
// scheduling or on the cache.
func compressLayersWith(ctx context.Context, sp *spool, tars []*stream, comp Compression, cache DerivedCache) ([]*memLayer, error) {
	diffIDs := make([]v1.Hash, len(tars))
	crcs := make([]uint32, len(tars))
	herrs := make([]error, len(tars))
	var hw sync.WaitGroup
	for i, t := range tars {
		hw.Add(1)
		go func() {
			defer hw.Done()
			h := sha256.New()
			var crc uint32
			herrs[i] = t.each(0, t.size, func(b []byte) error {
				h.Write(b)
				if comp != Zstd {
					crc = crc32.Update(crc, crc32.IEEETable, b)
				}
				return nil
			})
			diffIDs[i], crcs[i] = hashOf(h), crc
		}()
	}
	hw.Wait()
	if err := errors.Join(herrs...); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	layers := make([]*memLayer, len(tars))
	var todo []int // the layers to compress
	for i, t := range tars {
		if l := cachedLayer(cache, sp, comp, diffIDs[i], t.size, crcs[i]); l != nil {
			layers[i] = l
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return layers, nil
	}
	type job struct{ layer, chunk int }
	var jobs []job
	chunks := make([][]content, len(tars))
	for _, i := range todo {
		n := max(1, int((tars[i].size+chunkSize-1)/chunkSize))
		chunks[i] = make([]content, n)
		for c := range n {
			jobs = append(jobs, job{i, c})
		}
	}
	var (
		mu       sync.Mutex
		next     int
		firstErr error
		wg       sync.WaitGroup
	)
	work := func() {
		defer wg.Done()
		var out bytes.Buffer
		var zw *flate.Writer
		var ze *zstd.Encoder
		var buf, enc []byte
		dict := make([]byte, dictSize)
		for {
			mu.Lock()
			if next >= len(jobs) || firstErr != nil {
				mu.Unlock()
				return
			}
			j := jobs[next]
			next++
			mu.Unlock()
			if err := ctx.Err(); err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				return
			}
			t := tars[j.layer]
			start := int64(j.chunk) * chunkSize
			end := min(start+chunkSize, t.size)
			var (
				c   content
				err error
			)
			if comp == Zstd {
				if ze == nil {
					ze, err = newZstdEncoder()
				}
				if err == nil {
					if int64(cap(buf)) < end-start {
						buf = make([]byte, chunkSize)
					}
					buf = buf[:end-start]
					err = t.readAt(buf, start)
				}
				if err == nil {
					enc = ze.EncodeAll(buf, enc[:0])
					c, err = sp.put(enc)
				}
			} else {
				d := dict[:min(start, dictSize)]
				err = t.readAt(d, start-int64(len(d)))
				out.Reset()
				if err == nil {
					err = deflateChunk(&zw, &out, d)
				}
				if err == nil {
					err = t.each(start, end, func(b []byte) error {
						_, err := zw.Write(b)
						return err
					})
				}
				if err == nil {
					if end == t.size {
						err = zw.Close()
					} else {
						err = zw.Flush()
					}
				}
				if err == nil {
					c, err = sp.put(out.Bytes())
				}
			}
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				return
			}
			chunks[j.layer][j.chunk] = c
		}
	}
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Add(1)
		go work()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	for _, i := range todo {
		t := tars[i]
		parts := chunks[i]
		mt := types.OCILayerZStd
		if comp != Zstd {
			trailer := binary.LittleEndian.AppendUint32(nil, crcs[i])
			trailer = binary.LittleEndian.AppendUint32(trailer, uint32(t.size))
			parts = append(append([]content{memContent(gzipHeader)}, parts...), memContent(trailer))
			mt = types.OCILayer
		}
		l := &memLayer{parts: parts, diffID: diffIDs[i], tarSize: t.size, mediaType: mt}
		for _, p := range parts {
			l.size += p.size()
		}
		layers[i] = l
	}
	// The compressed digests, one layer per goroutine; each layer is then
	// kept in the cache.
	errs := make([]error, len(layers))
	for _, i := range todo {
		l := layers[i]
		hw.Add(1)
		go func() {
			defer hw.Done()
			h := sha256.New()
			rc, _ := l.Compressed()
			if _, err := io.Copy(h, rc); err != nil {
				errs[i] = err
				return
			}
			l.digest = hashOf(h)
			storeLayer(cache, comp, l)
		}()
	}
	hw.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return layers, nil
}
