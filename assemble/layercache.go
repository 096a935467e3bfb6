package assemble

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1"
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

// cachedLayer returns the layer with this diffID and tar size, compressed
// with c, from the cache, or nil. For gzip, crc is the CRC-32 of the tar
// stream, which the entry's gzip trailer must hold.
func cachedLayer(cache DerivedCache, c Compression, diffID v1.Hash, tarSize int64, crc uint32) *memLayer {
	if cache == nil {
		return nil
	}
	l := layerEntry(cache, c, diffID, tarSize)
	if l == nil {
		return nil
	}
	blob := l.parts[0]
	switch c {
	case Zstd:
		if !bytes.HasPrefix(blob, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
			return nil
		}
	default:
		t := blob[len(blob)-8:]
		if !bytes.HasPrefix(blob, gzipHeader) || binary.LittleEndian.Uint32(t) != crc || binary.LittleEndian.Uint32(t[4:]) != uint32(tarSize) {
			return nil
		}
	}
	return l
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
	data := make([]byte, 0, layerHeader+int(l.size))
	data = append(data, layerMagic...)
	data = append(data, d...)
	data = append(data, g...)
	data = binary.LittleEndian.AppendUint64(data, uint64(l.tarSize))
	for _, p := range l.parts {
		data = append(data, p...)
	}
	_ = cache.Put(layerKey(c, l.diffID), data)
}
