package decompress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"runtime"
	"sync"

	"github.com/therootcompany/xz"
)

// Parallel xz: dpkg-deb compresses with xz's threaded encoder, which cuts
// the data into independent blocks (24 MiB each at the default preset)
// and records each block's sizes in the stream's index. When the input
// can be read at any offset (a .deb's ar member can), such a stream is
// decoded a few blocks at a time, each block on its own goroutine, and
// the blocks are returned in order.
//
// The whole structure is checked before anything is decoded: the stream
// header, the index (its CRC-32 and that its blocks tile the stream
// exactly), the footer (its CRC-32, its flags equal to the header's) and
// that nothing follows it. Each block is then decoded by the same decoder
// as a serial read, as a one-block stream of its own (the original stream
// header, the block, an index of its one record and a footer), so the
// decoder checks the block header, the block's check (CRC-32, CRC-64 or
// SHA-256) and that the block's sizes are those the index records. A
// stream that is anything but a single well-formed multi-block stream
// (several streams, stream padding, one block, a block larger than
// xzMaxParallelBlock, or any inconsistency) is read serially, which
// reports what is wrong with it.

// xzMaxParallelBlock bounds the uncompressed size of a block decoded
// ahead: each block in flight is held whole in memory, so at most
// xzWorkers() of them (a 24 MiB block at dpkg's default preset).
const xzMaxParallelBlock = 32 << 20

var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0}

// sizedReaderAt is an input that can be read at any offset: an
// *io.SectionReader (a .deb's ar member), a *bytes.Reader.
type sizedReaderAt interface {
	io.ReaderAt
	Size() int64
}

// xzWorkers is how many blocks are decoded at once.
func xzWorkers() int { return min(runtime.GOMAXPROCS(0), 4) }

type xzBlock struct {
	off, padded      int64 // in the input
	unpadded, uncomp int64 // as the index records them
}

// xzLayout reads a stream's header, index and footer and returns its
// blocks and header, or nil when the stream is not one the parallel
// reader takes (the serial reader then decodes it and says what is
// wrong, if anything is). An error is one of the input.
func xzLayout(ra sizedReaderAt) ([]xzBlock, []byte, error) {
	size := ra.Size()
	if size < 24 {
		return nil, nil, nil
	}
	var hdr, ftr [12]byte
	if _, err := ra.ReadAt(hdr[:], 0); err != nil {
		return nil, nil, err
	}
	if _, err := ra.ReadAt(ftr[:], size-12); err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(hdr[:6], xzMagic) || crc32.ChecksumIEEE(hdr[6:8]) != binary.LittleEndian.Uint32(hdr[8:]) ||
		ftr[10] != 'Y' || ftr[11] != 'Z' || crc32.ChecksumIEEE(ftr[4:10]) != binary.LittleEndian.Uint32(ftr[:4]) ||
		!bytes.Equal(ftr[8:10], hdr[6:8]) {
		return nil, nil, nil
	}
	indexSize := (int64(binary.LittleEndian.Uint32(ftr[4:8])) + 1) * 4
	indexOff := size - 12 - indexSize
	if indexOff < 12 || indexSize > 1<<20 {
		return nil, nil, nil
	}
	index := make([]byte, indexSize)
	if _, err := ra.ReadAt(index, indexOff); err != nil {
		return nil, nil, err
	}
	if index[0] != 0 || crc32.ChecksumIEEE(index[:indexSize-4]) != binary.LittleEndian.Uint32(index[indexSize-4:]) {
		return nil, nil, nil
	}
	p := index[1 : indexSize-4]
	n, ok := xzVarint(&p)
	if !ok || n < 2 || n > uint64(len(p)/2) {
		return nil, nil, nil
	}
	blocks := make([]xzBlock, n)
	off := int64(12)
	for i := range blocks {
		unpadded, ok1 := xzVarint(&p)
		uncomp, ok2 := xzVarint(&p)
		// The smallest block: a 8-byte header, a byte of data and no check.
		if !ok1 || !ok2 || unpadded < 9 || unpadded > uint64(size) || uncomp == 0 || uncomp > xzMaxParallelBlock {
			return nil, nil, nil
		}
		padded := (int64(unpadded) + 3) &^ 3
		blocks[i] = xzBlock{off: off, padded: padded, unpadded: int64(unpadded), uncomp: int64(uncomp)}
		off += padded
	}
	// Index padding: zeros up to a multiple of four.
	for _, b := range p {
		if b != 0 {
			return nil, nil, nil
		}
	}
	if len(p) > 3 || off != indexOff {
		return nil, nil, nil
	}
	return blocks, hdr[:], nil
}

// xzVarint reads one of the xz format's variable-length integers.
func xzVarint(p *[]byte) (uint64, bool) {
	var v uint64
	for i := 0; i < 9 && i < len(*p); i++ {
		b := (*p)[i]
		v |= uint64(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			if b == 0 && i > 0 {
				return 0, false // not the shortest encoding
			}
			*p = (*p)[i+1:]
			return v, true
		}
	}
	return 0, false
}

func appendXZVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// xzOneBlock makes the one-block stream block b decodes as: the original
// stream header (head), the block, then an index of its one record and a
// footer (tail).
func xzOneBlock(hdr []byte, b xzBlock) (head, tail []byte) {
	ix := []byte{0}
	ix = appendXZVarint(ix, 1)
	ix = appendXZVarint(ix, uint64(b.unpadded))
	ix = appendXZVarint(ix, uint64(b.uncomp))
	for len(ix)%4 != 0 {
		ix = append(ix, 0)
	}
	ix = binary.LittleEndian.AppendUint32(ix, crc32.ChecksumIEEE(ix))
	var ftr [12]byte
	binary.LittleEndian.PutUint32(ftr[4:], uint32(len(ix)/4-1))
	copy(ftr[8:10], hdr[6:8])
	ftr[10], ftr[11] = 'Y', 'Z'
	binary.LittleEndian.PutUint32(ftr[:4], crc32.ChecksumIEEE(ftr[4:10]))
	return hdr, append(ix, ftr[:]...)
}

// xzBlockResult is one decoded block, or why it did not decode (input:
// the input failed, rather than the data).
type xzBlockResult struct {
	data  []byte
	err   error
	input bool
}

// xzParallel returns the blocks of a multi-block stream in order,
// decoding up to xzWorkers() of them ahead.
type xzParallel struct {
	ra      io.ReaderAt
	hdr     []byte
	blocks  []xzBlock
	pending []chan xzBlockResult
	next    int    // the next block to start
	cur     int    // the block being read
	buf     []byte // the block being read, from off on
	off     int
	src     *source // an input error is recorded here, as a serial read would
	err     error
}

func newXZParallel(ra io.ReaderAt, hdr []byte, blocks []xzBlock, src *source) *xzParallel {
	p := &xzParallel{ra: ra, hdr: hdr, blocks: blocks, src: src, pending: make([]chan xzBlockResult, len(blocks))}
	p.fill()
	return p
}

// fill starts blocks until xzWorkers() are in flight past the one read.
func (p *xzParallel) fill() {
	for p.next < len(p.blocks) && p.next < p.cur+xzWorkers() {
		ch := make(chan xzBlockResult, 1)
		p.pending[p.next] = ch
		go func(b xzBlock) { ch <- p.decode(b) }(p.blocks[p.next])
		p.next++
	}
}

func (p *xzParallel) decode(b xzBlock) xzBlockResult {
	// The block is read from the input as the decoder asks for it; an
	// input error is told from corruption by sourceAt.
	in := &sourceAt{r: io.NewSectionReader(p.ra, b.off, b.padded)}
	head, tail := xzOneBlock(p.hdr, b)
	stream := io.MultiReader(bytes.NewReader(head), in, bytes.NewReader(tail))
	var xr *xz.Reader
	var err error
	if x, ok := xzPool.Get().(*xz.Reader); ok {
		if err = x.Reset(stream); err == nil {
			xr = x
		}
	} else {
		xr, err = xz.NewReader(stream, 0)
	}
	if err == nil {
		defer xzPool.Put(xr)
		xr.Multistream(false)
	}
	out := getBlockBuf(b.uncomp)
	if err == nil {
		_, err = io.ReadFull(xr, out)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	}
	if in.err != nil {
		putBlockBuf(out)
		return xzBlockResult{err: in.err, input: true}
	}
	if err != nil {
		putBlockBuf(out)
		return xzBlockResult{err: err}
	}
	// The end: the block's check, then the index the sizes are checked
	// against, then the footer.
	var one [1]byte
	if n, err := xr.Read(one[:]); n != 0 || err != io.EOF {
		putBlockBuf(out)
		if in.err != nil {
			return xzBlockResult{err: in.err, input: true}
		}
		if err == nil || err == io.EOF {
			err = errors.New("block larger than its index record")
		}
		return xzBlockResult{err: err}
	}
	return xzBlockResult{data: out}
}

// close waits for the blocks still being decoded, so that nothing reads
// the input once the Reader is closed (the caller may then close or unmap
// it).
func (p *xzParallel) close() {
	for i := p.cur; i < p.next; i++ {
		if ch := p.pending[i]; ch != nil {
			if r := <-ch; r.data != nil {
				putBlockBuf(r.data)
			}
			p.pending[i] = nil
		}
	}
	p.cur = p.next
	if p.err == nil {
		p.err = errClosed
	}
}

// sourceAt records the first error of a block's input other than io.EOF.
type sourceAt struct {
	r   io.Reader
	err error
}

func (s *sourceAt) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// blockBufs holds the decoded blocks' buffers for reuse (*[]byte of
// capacity xzMaxParallelBlock).
var blockBufs sync.Pool

func getBlockBuf(n int64) []byte {
	if n <= 1<<20 {
		return make([]byte, n) // small blocks are not kept
	}
	if b, ok := blockBufs.Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, xzMaxParallelBlock)
}

func putBlockBuf(b []byte) {
	if cap(b) == xzMaxParallelBlock {
		b = b[:0]
		blockBufs.Put(&b)
	}
}

func (p *xzParallel) Read(b []byte) (int, error) {
	for len(p.buf) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		if p.cur == len(p.blocks) {
			p.err = io.EOF
			return 0, io.EOF
		}
		r := <-p.pending[p.cur]
		p.pending[p.cur] = nil
		p.cur++
		if r.err != nil {
			if r.input && p.src.err == nil {
				p.src.err = r.err
			}
			p.err = r.err
			return 0, r.err
		}
		p.buf = r.data
		p.fill()
	}
	n := copy(b, p.buf[p.off:])
	p.off += n
	if p.off == len(p.buf) {
		putBlockBuf(p.buf)
		p.buf, p.off = nil, 0
	}
	return n, nil
}
