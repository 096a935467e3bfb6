package decompress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// sectionOf is how a .deb's member reaches Open: an *io.SectionReader.
func sectionOf(b []byte) *io.SectionReader {
	return io.NewSectionReader(bytes.NewReader(b), 0, int64(len(b)))
}

// TestXZParallelTaken: a multi-block stream read at offsets goes through
// the parallel reader and decodes to the content; one read as a plain
// stream, a one-block stream and several streams go through the serial
// decoder.
func TestXZParallelTaken(t *testing.T) {
	if xzWorkers() < 2 {
		t.Fatalf("GOMAXPROCS %d: the parallel reader needs two", xzWorkers())
	}
	blocks := readFile(t, "content.blocks.xz")
	for name, tc := range map[string]struct {
		r        io.Reader
		parallel bool
	}{
		"blocks, section":      {sectionOf(blocks), true},
		"blocks, bytes.Reader": {bytes.NewReader(blocks), true},
		"blocks, plain reader": {io.MultiReader(bytes.NewReader(blocks)), false},
		"one block":            {sectionOf(readFile(t, "content.xz")), false},
		"two streams":          {sectionOf(readFile(t, "content.2streams.xz")), false},
		"stream padding":       {sectionOf(append(bytes.Clone(blocks), 0, 0, 0, 0)), false},
	} {
		z, err := Open(tc.r, XZ)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, parallel := z.dec.(*xzParallel)
		got, err := io.ReadAll(z)
		z.Close()
		if err != nil || !bytes.Equal(got, content()) {
			t.Errorf("%s: %d bytes, %v", name, len(got), err)
		}
		if parallel != tc.parallel {
			t.Errorf("%s: parallel = %v, want %v", name, parallel, tc.parallel)
		}
	}
}

// TestXZParallelEveryByte: a multi-block stream with a byte changed (every
// byte of the stream header, the first block header, the index and the
// footer, and every 17th byte elsewhere) either fails with an *Error naming xz or decodes to the content (a byte
// no check covers, such as reserved padding, cannot change it); never
// other content. The parallel and the serial reader agree on which.
func TestXZParallelEveryByte(t *testing.T) {
	if testing.Short() {
		t.Skip("seconds of CPU: skipped with -short; the full test command runs it")
	}
	want := content()
	for _, file := range []string{"content.blocks.xz", "content.blocks.sha256.xz"} {
		data := readFile(t, file)
		for i := range data {
			if i >= 64 && i < len(data)-128 && i%17 != 0 {
				continue
			}
			for _, x := range []byte{0xff} {
				b := bytes.Clone(data)
				b[i] ^= x
				got, perr := decode(b, XZ)
				if perr == nil && !bytes.Equal(got, want) {
					t.Fatalf("%s: byte %d ^%#x: other content without an error", file, i, x)
				}
				if perr != nil {
					var e *Error
					if !errors.As(perr, &e) || e.Format != XZ {
						t.Fatalf("%s: byte %d ^%#x: error %v (%T), want an *Error", file, i, x, perr, perr)
					}
				}
				sz, err := Open(io.MultiReader(bytes.NewReader(b)), XZ)
				var serr error
				if err != nil {
					serr = err
				} else {
					_, serr = io.ReadAll(sz)
					sz.Close()
				}
				if (perr == nil) != (serr == nil) {
					t.Fatalf("%s: byte %d ^%#x: parallel %v, serial %v", file, i, x, perr, serr)
				}
			}
		}
	}
}

// TestXZParallelIndexLies: an index (with a good CRC-32) whose records
// do not match the blocks is refused: the blocks' own sizes are checked
// against the records.
func TestXZParallelIndexLies(t *testing.T) {
	data := readFile(t, "content.blocks.xz")
	ra := bytes.NewReader(data)
	blocks, _, err := xzLayout(ra)
	if err != nil || len(blocks) != 6 {
		t.Fatalf("layout: %d blocks, %v", len(blocks), err)
	}
	// Rewrite the index with the first two blocks' uncompressed sizes
	// swapped by one byte: the total is unchanged.
	rewrite := func(edit func([]xzBlock)) []byte {
		bs := append([]xzBlock(nil), blocks...)
		edit(bs)
		ix := []byte{0}
		ix = appendXZVarint(ix, uint64(len(bs)))
		for _, b := range bs {
			ix = appendXZVarint(ix, uint64(b.unpadded))
			ix = appendXZVarint(ix, uint64(b.uncomp))
		}
		for len(ix)%4 != 0 {
			ix = append(ix, 0)
		}
		ix = binary.LittleEndian.AppendUint32(ix, crc32.ChecksumIEEE(ix))
		end := blocks[len(blocks)-1].off + blocks[len(blocks)-1].padded
		out := append(bytes.Clone(data[:end]), ix...)
		var ftr [12]byte
		binary.LittleEndian.PutUint32(ftr[4:], uint32(len(ix)/4-1))
		copy(ftr[8:10], data[6:8])
		ftr[10], ftr[11] = 'Y', 'Z'
		binary.LittleEndian.PutUint32(ftr[:4], crc32.ChecksumIEEE(ftr[4:10]))
		return append(out, ftr[:]...)
	}
	same := rewrite(func([]xzBlock) {})
	if got, err := decode(same, XZ); err != nil || !bytes.Equal(got, content()) {
		t.Fatalf("index rewritten unchanged: %d bytes, %v", len(got), err)
	}
	for name, edit := range map[string]func([]xzBlock){
		"sizes moved between blocks": func(b []xzBlock) { b[0].uncomp--; b[1].uncomp++ },
		"last block longer":          func(b []xzBlock) { b[5].uncomp++ },
		"last block shorter":         func(b []xzBlock) { b[5].uncomp-- },
		"unpadded sizes moved":       func(b []xzBlock) { b[0].unpadded--; b[1].unpadded++ },
	} {
		got, err := decode(rewrite(edit), XZ)
		var e *Error
		if err == nil || !errors.As(err, &e) {
			t.Errorf("%s: %d bytes, %v; want an *Error", name, len(got), err)
		}
	}
}

// TestXZParallelInputError: an error reading the input at an offset is
// returned as it is, not as a corrupt stream.
func TestXZParallelInputError(t *testing.T) {
	data := readFile(t, "content.blocks.xz")
	boom := errors.New("disk on fire")
	z, err := Open(failingAt{bytes.NewReader(data), 5000, boom}, XZ)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if _, ok := z.dec.(*xzParallel); !ok {
		t.Fatal("not read in parallel")
	}
	if _, err := io.ReadAll(z); err != boom {
		t.Errorf("err = %v, want the input's error", err)
	}
	if z.Err() != boom {
		t.Errorf("Err() = %v", z.Err())
	}
}

// failingAt fails every ReadAt that reaches past off.
type failingAt struct {
	*bytes.Reader
	off int64
	err error
}

func (f failingAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.off && off < f.Size()-12-64 {
		return 0, f.err
	}
	return f.Reader.ReadAt(p, off)
}

// TestXZParallelClose: closing a Reader mid-stream waits for the blocks
// being decoded, so that none reads the input afterwards.
func TestXZParallelClose(t *testing.T) {
	data := readFile(t, "content.blocks.xz")
	for _, n := range []int{0, 1, 5000, 20000} {
		r := &closable{Reader: bytes.NewReader(data)}
		z, err := Open(r, XZ)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(z, make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		z.Close()
		r.closed.Store(true)
		time.Sleep(100 * time.Millisecond) // for a read still under way
		if r.late.Load() {
			t.Errorf("read %d bytes, closed: the input was read after Close", n)
		}
	}
}

// closable records reads at an offset after it was marked closed.
type closable struct {
	*bytes.Reader
	closed, late atomic.Bool
}

func (c *closable) ReadAt(p []byte, off int64) (int, error) {
	time.Sleep(20 * time.Millisecond)
	if c.closed.Load() {
		c.late.Store(true)
	}
	return c.Reader.ReadAt(p, off)
}
