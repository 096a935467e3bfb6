package assemble

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layerEntryHolds says whether the layer cache's entry for diffID is there
// with the header of the layer the manifest names (diffID, tar size,
// digest) and its size; its bytes are not read.
func layerEntryHolds(sc StreamCache, c Compression, diffID v1.Hash, tarSize int64, digest v1.Hash, size int64) bool {
	r, n, err := sc.OpenNamed(layerKey(c, diffID))
	if err != nil {
		return false
	}
	defer r.Close()
	if n-int64(layerHeader) != size || n < int64(layerHeader)+8 {
		return false
	}
	h := make([]byte, layerHeader)
	if _, err := io.ReadFull(r, h); err != nil || string(h[:len(layerMagic)]) != layerMagic {
		return false
	}
	h = h[len(layerMagic):]
	return hex.EncodeToString(h[:32]) == diffID.Hex && hex.EncodeToString(h[32:64]) == digest.Hex &&
		int64(binary.LittleEndian.Uint64(h[64:72])) == tarSize && digest.Algorithm == "sha256"
}

// lazyLayer is a kept image's layer whose bytes are read from the layer
// cache into the spool, and their digest checked, the first time they
// are wanted. An entry found damaged then (removed by the cache) is an
// error that says to run again.
type lazyLayer struct {
	cache          DerivedCache
	sp             *spool
	c              Compression
	diffID, digest v1.Hash
	tarSize, size  int64
	mediaType      types.MediaType

	once sync.Once
	l    *memLayer
	err  error
}

func (l *lazyLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *lazyLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *lazyLayer) Size() (int64, error)                { return l.size, nil }
func (l *lazyLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

func (l *lazyLayer) load() (*memLayer, error) {
	l.once.Do(func() {
		m := layerEntry(l.cache, l.sp, l.c, l.diffID, l.tarSize)
		if m == nil || m.digest != l.digest || m.size != l.size {
			l.err = fmt.Errorf("layer %s of the image kept in the cache is damaged or gone (run again to build it)", l.digest)
			return
		}
		if err := l.sp.err(); err != nil {
			l.err = err
			return
		}
		l.l = m
	})
	return l.l, l.err
}

func (l *lazyLayer) Compressed() (io.ReadCloser, error) {
	m, err := l.load()
	if err != nil {
		return nil, err
	}
	return m.Compressed()
}

func (l *lazyLayer) Uncompressed() (io.ReadCloser, error) {
	m, err := l.load()
	if err != nil {
		return nil, err
	}
	return m.Uncompressed()
}
