package assemble

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"runtime/debug"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
)

// Compression is how layers are compressed.
type Compression string

// The compressions Build writes.
const (
	Gzip Compression = "gzip" // application/vnd.oci.image.layer.v1.tar+gzip, the default
	Zstd Compression = "zstd" // application/vnd.oci.image.layer.v1.tar+zstd
)

// ParseCompression reads a compression's name ("" is gzip).
func ParseCompression(s string) (Compression, error) {
	switch Compression(s) {
	case "", Gzip:
		return Gzip, nil
	case Zstd:
		return Zstd, nil
	}
	return "", fmt.Errorf("unknown compression %q: want gzip or zstd", s)
}

// zstdLevel is the zstd encoder level: zstd's default (3), as fast as
// gzip level 3 here and smaller. Part of every zstd layer's digest.
const zstdLevel = zstd.SpeedDefault

func newZstdEncoder() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstdLevel), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(true))
}

// The layer cache: a compressed layer is kept in the build's
// DerivedCache (gen's download cache, as a named entry: written through a
// temporary file and a rename, its SHA-256 checked on every read, removed
// by `cache prune` like any entry) under a key naming its uncompressed
// digest (diffID) and everything else its bytes depend on: the
// compression, its parameters, and the version of the compression library.
// A layer whose tar stream is unchanged is then never compressed again.
//
// An entry holds layerMagic, the layer's diffID, its compressed digest,
// the size of its tar stream, and the compressed bytes. It is used only
// when it names the diffID and tar size wanted, and, for gzip, when the
// CRC-32 and size in the gzip trailer are those of the tar stream at hand
// (computed alongside the diffID): so an entry is never taken for another
// layer's, even one filed under the wrong name.
const (
	layerMagic  = "DLLAYER1"
	layerHeader = len(layerMagic) + 32 + 32 + 8
)

// compressionParams names what a layer's compressed bytes depend on
// besides its content.
func (c Compression) params() string {
	if c == Zstd {
		return fmt.Sprintf("zstd/l%d/c%d/%s", zstdLevel, chunkSize, klauspostVersion())
	}
	return fmt.Sprintf("gzip/l%d/c%d/d%d/%s", gzipLevel, chunkSize, dictSize, klauspostVersion())
}

var klauspostVersion = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/klauspost/compress" {
				if d.Replace != nil {
					d = d.Replace
				}
				return d.Version + d.Sum
			}
		}
	}
	return "unknown"
})

func layerKey(c Compression, diffID v1.Hash) string {
	return "layer/" + c.params() + "/" + diffID.Hex
}

// StreamCache is a DerivedCache that also stores and reads an entry as
// a stream, so that a large entry (a compressed layer) is never held
// whole in memory; fetch.Cache is one. Layers go through it when the
// build's cache is one, through Get and Put otherwise.
type StreamCache interface {
	DerivedCache
	// PutFrom stores under key, atomically, what write writes.
	PutFrom(key string, write func(w io.Writer) error) error
	// OpenNamed returns a reader of the entry stored under key and its
	// size; the reader fails at its end (and the entry is removed) when
	// what it read does not match the entry's digest.
	OpenNamed(key string) (io.ReadCloser, int64, error)
}

// cachedLayer returns the layer with this diffID and tar size, compressed
// with c, from the cache (copied into sp), or nil. For gzip, crc is the
// CRC-32 of the tar stream, which the entry's gzip trailer must hold.
func cachedLayer(cache DerivedCache, sp *spool, c Compression, diffID v1.Hash, tarSize int64, crc uint32) *memLayer {
	if cache == nil {
		return nil
	}
	l := layerEntry(cache, sp, c, diffID, tarSize)
	if l == nil {
		return nil
	}
	blob := l.parts[0]
	switch c {
	case Zstd:
		if !bytes.HasPrefix(blob.head(4), []byte{0x28, 0xb5, 0x2f, 0xfd}) {
			return nil
		}
	default:
		if blob.n < int64(len(gzipHeader))+8 || !bytes.HasPrefix(blob.head(len(gzipHeader)), gzipHeader) {
			return nil
		}
		t := make([]byte, 8)
		if _, err := blob.section().ReadAt(t, blob.n-8); err != nil {
			return nil
		}
		if binary.LittleEndian.Uint32(t) != crc || binary.LittleEndian.Uint32(t[4:]) != uint32(tarSize) {
			return nil
		}
	}
	return l
}

// layerEntry is the layer cache's entry for diffID, copied into sp,
// checked against its own header only (its digest is then compared with
// the manifest's, or trusted as the entry's digest was checked).
func layerEntry(cache DerivedCache, sp *spool, c Compression, diffID v1.Hash, tarSize int64) *memLayer {
	var (
		h    []byte
		blob content
	)
	key := layerKey(c, diffID)
	if sc, ok := cache.(StreamCache); ok {
		r, n, err := sc.OpenNamed(key)
		if err != nil {
			return nil
		}
		defer r.Close()
		if n < int64(layerHeader)+8 {
			return nil
		}
		h = make([]byte, layerHeader)
		if _, err := io.ReadFull(r, h); err != nil || string(h[:len(layerMagic)]) != layerMagic {
			return nil
		}
		h = h[len(layerMagic):]
		if hex.EncodeToString(h[:32]) != diffID.Hex || int64(binary.LittleEndian.Uint64(h[64:72])) != tarSize {
			return nil
		}
		if blob, err = sp.read(r, n-int64(layerHeader)); err != nil {
			return nil
		}
		// The end of the entry, where its digest is checked.
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil
		}
	} else {
		data, err := cache.Get(key)
		if err != nil || len(data) < layerHeader+8 || string(data[:len(layerMagic)]) != layerMagic {
			return nil
		}
		h = data[len(layerMagic):layerHeader]
		if hex.EncodeToString(h[:32]) != diffID.Hex || int64(binary.LittleEndian.Uint64(h[64:72])) != tarSize {
			return nil
		}
		blob = memContent(data[layerHeader:])
	}
	mt := types.OCILayer
	if c == Zstd {
		mt = types.OCILayerZStd
	}
	return &memLayer{parts: []content{blob}, size: blob.n, diffID: diffID, tarSize: tarSize, mediaType: mt,
		digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h[32:64])}}
}

// storeLayer keeps a compressed layer in the cache; a failure only costs
// the next build the compression.
func storeLayer(cache DerivedCache, c Compression, l *memLayer) {
	if cache == nil {
		return
	}
	d, err1 := hex.DecodeString(l.diffID.Hex)
	g, err2 := hex.DecodeString(l.digest.Hex)
	if err1 != nil || err2 != nil || len(d) != 32 || len(g) != 32 {
		return
	}
	head := make([]byte, 0, layerHeader)
	head = append(head, layerMagic...)
	head = append(head, d...)
	head = append(head, g...)
	head = binary.LittleEndian.AppendUint64(head, uint64(l.tarSize))
	if sc, ok := cache.(StreamCache); ok {
		_ = sc.PutFrom(layerKey(c, l.diffID), func(w io.Writer) error {
			if _, err := w.Write(head); err != nil {
				return err
			}
			rc, _ := l.Compressed()
			_, err := io.Copy(w, rc)
			return err
		})
		return
	}
	data := head
	for _, p := range l.parts {
		b, err := p.bytes()
		if err != nil {
			return
		}
		data = append(data, b...)
	}
	_ = cache.Put(layerKey(c, l.diffID), data)
}
