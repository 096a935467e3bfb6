package deb

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"

	"github.com/distroless-dev/distroless/internal/bigbuf"
	"github.com/distroless-dev/distroless/packages/decompress"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// A decompressed Packages file is cached content-addressed (by the SHA-256
// its Release file lists for the uncompressed file) together with a
// sidecar index, so that a warm open maps the file and reads the sidecar
// instead of parsing 60,000 stanzas. Stanzas are parsed lazily, when the
// resolver asks for a name.
//
// Sidecar layout (little-endian):
//
//	header, 64 bytes:
//	  magic "DLDEBIX1" | version u32 | flags u32 | data sha256 [32]
//	  data length u64 | crc32c of the body u32 | reserved u32
//	body:
//	  nStanzas u32 | nProvides u32 | strtab length u32 | reserved u32
//	  stanzas  nStanzas × {offset u32, length u32, name ref u32, arch ref u32}
//	  names    nStanzas × {stanza u32}            sorted by (name, stanza)
//	  provides nProvides × {name ref u32, stanza u32} sorted by (name, stanza)
//	  strtab   strings as {length u16, bytes}; a ref is an offset into it
//	  digests  nStanzas × SHA-256 of the stanza's bytes (lazy.go)
const (
	sidecarMagic   = "DLDEBIX1"
	sidecarVersion = 2
	sidecarHeader  = 64
	stanzaRecSize  = 16
	maxPackagesLen = 1<<32 - 1 // offsets are u32
	decodeChunk    = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sidecar is a parsed, validated sidecar index.
type sidecar struct {
	n, nProv int
	stanzas  []byte
	names    []byte
	provs    []byte
	strtab   []byte
	digests  []byte
}

func (s *sidecar) stanza(i int) (off, length, nameRef, archRef uint32) {
	r := s.stanzas[i*stanzaRecSize:]
	return binary.LittleEndian.Uint32(r), binary.LittleEndian.Uint32(r[4:]),
		binary.LittleEndian.Uint32(r[8:]), binary.LittleEndian.Uint32(r[12:])
}

func (s *sidecar) str(ref uint32) []byte {
	n := uint32(binary.LittleEndian.Uint16(s.strtab[ref:]))
	return s.strtab[ref+2 : ref+2+n]
}

func (s *sidecar) nameOf(stanza int) []byte {
	_, _, ref, _ := s.stanza(stanza)
	return s.str(ref)
}

func (s *sidecar) archOf(stanza int) []byte {
	_, _, _, ref := s.stanza(stanza)
	return s.str(ref)
}

func (s *sidecar) sortedName(i int) int {
	return int(binary.LittleEndian.Uint32(s.names[i*4:]))
}

func (s *sidecar) prov(i int) (nameRef uint32, stanza int) {
	r := s.provs[i*8:]
	return binary.LittleEndian.Uint32(r), int(binary.LittleEndian.Uint32(r[4:]))
}

// byName returns the stanzas of packages called name.
func (s *sidecar) byName(name string) []int {
	key := []byte(name)
	lo, hi := 0, s.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(s.nameOf(s.sortedName(m)), key) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	var out []int
	for j := lo; j < s.n; j++ {
		st := s.sortedName(j)
		if !bytes.Equal(s.nameOf(st), key) {
			break
		}
		out = append(out, st)
	}
	return out
}

// byProvides returns the stanzas whose Provides name name.
func (s *sidecar) byProvides(name string) []int {
	key := []byte(name)
	lo, hi := 0, s.nProv
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		ref, _ := s.prov(m)
		if bytes.Compare(s.str(ref), key) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	var out []int
	for j := lo; j < s.nProv; j++ {
		ref, st := s.prov(j)
		if !bytes.Equal(s.str(ref), key) {
			break
		}
		out = append(out, st)
	}
	return out
}

// parseSidecar validates b as the sidecar of a Packages file with the given
// digest and length; every offset is checked so that later lookups cannot
// go out of bounds.
func parseSidecar(b []byte, dataSHA string, dataLen int64) (*sidecar, error) {
	if len(b) < sidecarHeader+16 || string(b[:8]) != sidecarMagic {
		return nil, errors.New("not a sidecar index")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != sidecarVersion {
		return nil, fmt.Errorf("sidecar version %d", v)
	}
	if hex.EncodeToString(b[16:48]) != dataSHA {
		return nil, errors.New("sidecar is for another file")
	}
	if int64(binary.LittleEndian.Uint64(b[48:])) != dataLen {
		return nil, errors.New("sidecar length mismatch")
	}
	body := b[sidecarHeader:]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[56:]) {
		return nil, errors.New("sidecar checksum mismatch")
	}
	n := int(binary.LittleEndian.Uint32(body))
	nProv := int(binary.LittleEndian.Uint32(body[4:]))
	strLen := int(binary.LittleEndian.Uint32(body[8:]))
	want := 16 + n*stanzaRecSize + n*4 + nProv*8 + strLen + n*digestSize
	if n < 0 || nProv < 0 || strLen < 0 || n > len(body) || nProv > len(body) || strLen > len(body) || want != len(body) {
		return nil, errors.New("sidecar size mismatch")
	}
	s := &sidecar{n: n, nProv: nProv}
	p := body[16:]
	s.stanzas, p = p[:n*stanzaRecSize], p[n*stanzaRecSize:]
	s.names, p = p[:n*4], p[n*4:]
	s.provs, p = p[:nProv*8], p[nProv*8:]
	s.strtab, s.digests = p[:strLen], p[strLen:]
	okRef := func(ref uint32) bool {
		if uint64(ref)+2 > uint64(len(s.strtab)) {
			return false
		}
		l := uint64(binary.LittleEndian.Uint16(s.strtab[ref:]))
		return uint64(ref)+2+l <= uint64(len(s.strtab))
	}
	for i := 0; i < n; i++ {
		off, length, name, arch := s.stanza(i)
		if uint64(off)+uint64(length) > uint64(dataLen) || !okRef(name) || !okRef(arch) {
			return nil, errors.New("sidecar stanza out of bounds")
		}
		if st := s.sortedName(i); st >= n {
			return nil, errors.New("sidecar name entry out of bounds")
		}
	}
	for i := 0; i < nProv; i++ {
		ref, st := s.prov(i)
		if !okRef(ref) || st >= n {
			return nil, errors.New("sidecar provides entry out of bounds")
		}
	}
	return s, nil
}

// sidecarBuilder scans a Packages file, possibly while it is still being
// decompressed, and records stanza boundaries, names, architectures and
// provided names.
type sidecarBuilder struct {
	pos     int // start of the next stanza not yet scanned
	recs    []byte
	provs   []provRec
	strtab  []byte
	intern  map[string]uint32
	nameSeq []uint32 // name ref per stanza, for sorting
	digests []byte   // SHA-256 per stanza
	err     error
}

type provRec struct {
	ref    uint32
	stanza uint32
}

func newSidecarBuilder(sizeHint int) *sidecarBuilder {
	n := sizeHint/700 + 16
	return &sidecarBuilder{
		recs:    make([]byte, 0, n*stanzaRecSize),
		nameSeq: make([]uint32, 0, n),
		strtab:  make([]byte, 0, n*16),
		intern:  make(map[string]uint32, n),
	}
}

func (b *sidecarBuilder) ref(s []byte) uint32 {
	if len(s) > 0xffff {
		s = s[:0xffff]
	}
	if r, ok := b.intern[string(s)]; ok {
		return r
	}
	r := uint32(len(b.strtab))
	b.strtab = binary.LittleEndian.AppendUint16(b.strtab, uint16(len(s)))
	b.strtab = append(b.strtab, s...)
	b.intern[string(s)] = r
	return r
}

// scan indexes the complete stanzas in data[b.pos:]; with final set the
// data is complete and a last stanza without a blank line counts too.
func (b *sidecarBuilder) scan(data []byte, final bool) {
	for b.err == nil && b.pos < len(data) {
		// Skip blank lines between stanzas.
		for b.pos < len(data) && data[b.pos] == '\n' {
			b.pos++
		}
		if b.pos >= len(data) {
			return
		}
		rest := data[b.pos:]
		end := bytes.Index(rest, []byte("\n\n"))
		var stanza []byte
		next := 0
		switch {
		case end >= 0:
			stanza, next = rest[:end+1], end+2
		case final:
			stanza, next = rest, len(rest)
		default:
			return
		}
		b.add(b.pos, stanza)
		b.pos += next
	}
}

func (b *sidecarBuilder) add(off int, stanza []byte) {
	var name, arch []byte
	var provides []byte
	for p := 0; p < len(stanza); {
		nl := bytes.IndexByte(stanza[p:], '\n')
		var line []byte
		if nl < 0 {
			line, p = stanza[p:], len(stanza)
		} else {
			line, p = stanza[p:p+nl], p+nl+1
		}
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		switch line[0] {
		case 'P':
			if v, ok := fieldValue(line, "Package"); ok {
				name = v
			} else if v, ok := fieldValue(line, "Provides"); ok {
				// Provides may continue on the following lines.
				provides = v
				for p < len(stanza) && (stanza[p] == ' ' || stanza[p] == '\t') {
					nl := bytes.IndexByte(stanza[p:], '\n')
					cont := stanza[p:]
					if nl >= 0 {
						cont = stanza[p : p+nl]
						p += nl + 1
					} else {
						p = len(stanza)
					}
					provides = append(append(append([]byte(nil), provides...), ' '), cont...)
				}
			}
		case 'A':
			if v, ok := fieldValue(line, "Architecture"); ok {
				arch = v
			}
		}
	}
	if len(name) == 0 {
		// Not a package stanza; an index with such a stanza is damaged
		// but the rest of it is still usable, so it is only skipped.
		return
	}
	idx := uint32(len(b.nameSeq))
	nameRef := b.ref(name)
	b.nameSeq = append(b.nameSeq, nameRef)
	b.recs = binary.LittleEndian.AppendUint32(b.recs, uint32(off))
	b.recs = binary.LittleEndian.AppendUint32(b.recs, uint32(len(stanza)))
	b.recs = binary.LittleEndian.AppendUint32(b.recs, nameRef)
	b.recs = binary.LittleEndian.AppendUint32(b.recs, b.ref(arch))
	sum := sha256.Sum256(stanza)
	b.digests = append(b.digests, sum[:]...)
	for len(provides) > 0 {
		var item []byte
		if i := bytes.IndexByte(provides, ','); i >= 0 {
			item, provides = provides[:i], provides[i+1:]
		} else {
			item, provides = provides, nil
		}
		item = bytes.TrimLeft(item, " \t")
		if i := bytes.IndexAny(item, " \t(:["); i >= 0 {
			item = item[:i]
		}
		if len(item) > 0 {
			b.provs = append(b.provs, provRec{b.ref(item), idx})
		}
	}
}

// fieldValue returns the value of line when it is field name.
func fieldValue(line []byte, name string) ([]byte, bool) {
	if len(line) <= len(name) || line[len(name)] != ':' || string(line[:len(name)]) != name {
		return nil, false
	}
	return bytes.TrimSpace(line[len(name)+1:]), true
}

// finish serialises the sidecar for a Packages file of the given digest
// and length.
func (b *sidecarBuilder) finish(dataSHA string, dataLen int64) ([]byte, error) {
	n := len(b.nameSeq)
	str := func(ref uint32) []byte {
		l := uint32(binary.LittleEndian.Uint16(b.strtab[ref:]))
		return b.strtab[ref+2 : ref+2+l]
	}
	order := make([]uint32, n)
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(x, y uint32) int {
		if c := bytes.Compare(str(b.nameSeq[x]), str(b.nameSeq[y])); c != 0 {
			return c
		}
		return int(x) - int(y)
	})
	slices.SortFunc(b.provs, func(x, y provRec) int {
		if c := bytes.Compare(str(x.ref), str(y.ref)); c != 0 {
			return c
		}
		return int(x.stanza) - int(y.stanza)
	})
	size := sidecarHeader + 16 + len(b.recs) + 4*n + 8*len(b.provs) + len(b.strtab) + len(b.digests)
	out := make([]byte, sidecarHeader, size)
	copy(out, sidecarMagic)
	binary.LittleEndian.PutUint32(out[8:], sidecarVersion)
	sum, err := hex.DecodeString(dataSHA)
	if err != nil || len(sum) != 32 {
		return nil, fmt.Errorf("bad digest %q", dataSHA)
	}
	copy(out[16:48], sum)
	binary.LittleEndian.PutUint64(out[48:], uint64(dataLen))
	out = binary.LittleEndian.AppendUint32(out, uint32(n))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b.provs)))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b.strtab)))
	out = binary.LittleEndian.AppendUint32(out, 0)
	out = append(out, b.recs...)
	for _, i := range order {
		out = binary.LittleEndian.AppendUint32(out, i)
	}
	for _, p := range b.provs {
		out = binary.LittleEndian.AppendUint32(out, p.ref)
		out = binary.LittleEndian.AppendUint32(out, p.stanza)
	}
	out = append(out, b.strtab...)
	out = append(out, b.digests...)
	putCRC(out)
	return out, nil
}

// putCRC sets the checksum of a sidecar's body.
func putCRC(side []byte) {
	binary.LittleEndian.PutUint32(side[56:], crc32.Checksum(side[sidecarHeader:], castagnoli))
}

// buildSidecar indexes a complete Packages file.
func buildSidecar(data []byte, dataSHA string) ([]byte, error) {
	b := newSidecarBuilder(len(data))
	b.scan(data, true)
	return b.finish(dataSHA, int64(len(data)))
}

// indexPackages decompresses the Packages file at compressed (compression
// kind "gz", "xz" or "" for none) into the cache as the blob unpacked.SHA256,
// verifying size and digest against the Release entry, and builds its
// sidecar index. Decompression, hashing and writing, and indexing run
// concurrently. name is the file's name for errors.
func indexPackages(c *fetch.Cache, compressed, kind string, unpacked releaseEntry, name string) (blobPath string, side []byte, err error) {
	if unpacked.Size > maxPackagesLen {
		return "", nil, fmt.Errorf("%s: %d bytes is too large", name, unpacked.Size)
	}
	f, err := os.Open(compressed)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	zr, err := decompress.Open(f, decompress.Format(kind))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %v", name, err)
	}
	defer zr.Close()
	return indexStream(c, zr, unpacked, name)
}

func indexStream(c *fetch.Cache, zr io.Reader, unpacked releaseEntry, name string) (blobPath string, side []byte, err error) {
	size := int(unpacked.Size)
	// Every goroutine below is done with buf before this returns; nothing
	// keeps a slice of it (the sidecar copies what it records).
	buf, free := bigbuf.Make(size)
	defer free()
	nChunks := size/decodeChunk + 2
	hashCh := make(chan int, nChunks)
	idxCh := make(chan int, nChunks)

	// Stage 1: decompress into buf, announcing progress.
	var decErr error
	go func() {
		defer close(hashCh)
		defer close(idxCh)
		for off := 0; off < size; {
			end := min(off+decodeChunk, size)
			n, err := io.ReadFull(zr, buf[off:end])
			off += n
			if err != nil {
				if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
					decErr = fmt.Errorf("%s: size mismatch: expected %d bytes, got %d", name, size, off)
				} else {
					decErr = fmt.Errorf("%s: decompress: %v", name, err)
				}
				return
			}
			hashCh <- off
			idxCh <- off
		}
		// The stream must end here; reading on also makes the
		// decompressor check its trailer (gzip CRC, xz check) and that
		// nothing follows it.
		var extra [1]byte
		n, err := io.ReadFull(zr, extra[:])
		if n > 0 {
			decErr = fmt.Errorf("%s: size mismatch: expected %d bytes, got more", name, size)
		} else if err != nil && !errors.Is(err, io.EOF) {
			decErr = fmt.Errorf("%s: decompress: %v", name, err)
		}
	}()

	// Stage 2: hash and write the blob.
	type result struct {
		path   string
		hashed bool
		err    error
	}
	wres := make(chan result, 1)
	go func() {
		hashed := false
		p, err := c.WriteBlob(unpacked.SHA256, func(w io.Writer) error {
			hashed = true
			prev := 0
			for end := range hashCh {
				if _, err := w.Write(buf[prev:end]); err != nil {
					for range hashCh {
					}
					return err
				}
				prev = end
			}
			return decErr
		})
		if !hashed {
			for range hashCh {
			}
		}
		wres <- result{p, hashed, err}
	}()

	// Stage 3 (this goroutine): index.
	b := newSidecarBuilder(size)
	avail := 0
	for end := range idxCh {
		avail = end
		b.scan(buf[:avail], false)
	}
	r := <-wres
	if decErr != nil {
		return "", nil, decErr
	}
	if r.err != nil {
		return "", nil, fmt.Errorf("%s: %v", name, r.err)
	}
	if !r.hashed {
		// Another process stored the blob meanwhile: check what we
		// decompressed all the same, since it is what we index.
		if sum := sha256.Sum256(buf); hex.EncodeToString(sum[:]) != unpacked.SHA256 {
			return "", nil, fmt.Errorf("%s: sha256 mismatch: expected %s, got %s", name, unpacked.SHA256, hex.EncodeToString(sum[:]))
		}
	}
	b.scan(buf, true)
	side, err = b.finish(unpacked.SHA256, unpacked.Size)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %v", name, err)
	}
	return r.path, side, nil
}
