package assemble

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"

	"github.com/distroless-dev/distroless/packages/fetch"
)

// mapCache is a DerivedCache in memory that counts its reads and writes.
// It is safe for concurrent use, as Build needs.
type mapCache struct {
	mu         sync.Mutex
	m          map[string][]byte
	gets, puts int
}

func (c *mapCache) Get(key string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	if b, ok := c.m[key]; ok {
		return bytes.Clone(b), nil
	}
	return nil, fs.ErrNotExist
}

func (c *mapCache) Put(key string, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts++
	c.m[key] = bytes.Clone(data)
	return nil
}

func testStreams() ([][]byte, []*stream) {
	inputs := [][]byte{mixedData(1024, 7), mixedData(3*chunkSize+99, 8)}
	var streams []*stream
	for _, in := range inputs {
		streams = append(streams, streamOf(in))
	}
	return inputs, streams
}

func blobOf(t *testing.T, l *memLayer) []byte {
	t.Helper()
	rc, _ := l.Compressed()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLayerCache: a layer compressed once is taken from the cache the
// next time, with the same bytes and digests as compressing it again;
// gzip and zstd entries are kept apart.
func TestLayerCache(t *testing.T) {
	for _, comp := range []Compression{Gzip, Zstd} {
		_, streams := testStreams()
		plain, err := compressLayersWith(context.Background(), newSpool(t.TempDir()), streams, comp, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := &mapCache{m: map[string][]byte{}}
		first, err := compressLayersWith(context.Background(), newSpool(t.TempDir()), streams, comp, c)
		if err != nil {
			t.Fatal(err)
		}
		if c.puts != len(streams) {
			t.Fatalf("%s: %d entries stored, want %d", comp, c.puts, len(streams))
		}
		second, err := compressLayersWith(context.Background(), newSpool(t.TempDir()), streams, comp, c)
		if err != nil {
			t.Fatal(err)
		}
		if c.puts != len(streams) {
			t.Errorf("%s: the second build stored %d entries more", comp, c.puts-len(streams))
		}
		for i := range streams {
			for _, l := range []*memLayer{first[i], second[i]} {
				if l.digest != plain[i].digest || l.diffID != plain[i].diffID || l.size != plain[i].size ||
					l.mediaType != plain[i].mediaType || !bytes.Equal(blobOf(t, l), blobOf(t, plain[i])) {
					t.Errorf("%s: layer %d differs from one compressed without the cache", comp, i)
				}
			}
			if len(second[i].parts) != 1 {
				t.Errorf("%s: layer %d was compressed again (%d parts)", comp, i, len(second[i].parts))
			}
		}
		other := Gzip
		if comp == Gzip {
			other = Zstd
		}
		if l := cachedLayer(c, newSpool(t.TempDir()), other, plain[0].diffID, streams[0].size, 0); l != nil {
			t.Errorf("%s entry taken for %s", comp, other)
		}
	}
}

// TestLayerCacheRefuses: an entry that does not belong to the layer
// (another layer's, filed under this one's name; a gzip stream whose
// trailer is not this tar's; a cut entry) is not used: the layer is
// compressed again, with the right bytes.
func TestLayerCacheRefuses(t *testing.T) {
	_, streams := testStreams()
	want, err := compressLayersWith(context.Background(), newSpool(t.TempDir()), streams, Gzip, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &mapCache{m: map[string][]byte{}}
	compressLayersWith(context.Background(), newSpool(t.TempDir()), streams, Gzip, c)
	k0, k1 := layerKey(Gzip, want[0].diffID), layerKey(Gzip, want[1].diffID)
	good0, good1 := c.m[k0], c.m[k1]
	// The other layer's entry with this layer's diffID and tar size
	// written in: only the gzip trailer tells.
	forged := bytes.Clone(good1)
	copy(forged[len(layerMagic):], good0[len(layerMagic):len(layerMagic)+32])
	copy(forged[len(layerMagic)+64:], good0[len(layerMagic)+64:layerHeader])
	for name, entry := range map[string][]byte{
		"another layer's entry":           good1,
		"another layer's blob, relabeled": forged,
		"cut":                             good0[:len(good0)-1],
		"header only":                     good0[:layerHeader],
		"not an entry":                    []byte("hello"),
	} {
		c.m[k0] = entry
		got, err := compressLayersWith(context.Background(), newSpool(t.TempDir()), streams[:1], Gzip, c)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].digest != want[0].digest || !bytes.Equal(blobOf(t, got[0]), blobOf(t, want[0])) {
			t.Errorf("%s: used", name)
		}
	}
}

// TestLayerCacheOnDisk: through the download cache, an entry damaged on
// disk is removed and the layer compressed again; a good one is used.
func TestLayerCacheOnDisk(t *testing.T) {
	_, streams := testStreams()
	fc := &fetch.Cache{Dir: t.TempDir(), Log: io.Discard}
	want, err := compressLayersWith(context.Background(), newSpool(t.TempDir()), streams, Gzip, fc)
	if err != nil {
		t.Fatal(err)
	}
	p := fc.NamedPath(layerKey(Gzip, want[1].diffID))
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("no entry on disk: %v", err)
	}
	raw[len(raw)/2] ^= 1
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := compressLayersWith(context.Background(), newSpool(t.TempDir()), streams, Gzip, fc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i].digest != want[i].digest || !bytes.Equal(blobOf(t, got[i]), blobOf(t, want[i])) {
			t.Errorf("layer %d differs", i)
		}
	}
	if len(got[0].parts) != 1 || len(got[1].parts) == 1 {
		t.Errorf("layer 0 from the cache: %v, layer 1 compressed again: %v", len(got[0].parts) == 1, len(got[1].parts) > 1)
	}
	if again, err := os.ReadFile(p); err != nil || bytes.Equal(again, raw) {
		t.Errorf("damaged entry not replaced: %v", err)
	}
}

// TestZstdLayers: zstd layers decode (as one stream of frames) to the
// tar stream, carry the OCI zstd media type, have the same diffID as the
// gzip ones and are the same bytes on every build.
func TestZstdLayers(t *testing.T) {
	inputs, streams := testStreams()
	layers, err := compressLayersWith(context.Background(), newSpool(t.TempDir()), streams, Zstd, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := compressLayersWith(context.Background(), newSpool(t.TempDir()), streams[1:], Zstd, nil)
	gz, _ := compressLayersWith(context.Background(), newSpool(t.TempDir()), streams, Gzip, nil)
	d, _ := zstd.NewReader(nil)
	defer d.Close()
	for i, l := range layers {
		blob := blobOf(t, l)
		out, err := d.DecodeAll(blob, nil)
		if err != nil || !bytes.Equal(out, inputs[i]) {
			t.Errorf("layer %d: round trip: %v", i, err)
		}
		if mt, _ := l.MediaType(); mt != types.OCILayerZStd || string(mt) != "application/vnd.oci.image.layer.v1.tar+zstd" {
			t.Errorf("layer %d: media type %s", i, mt)
		}
		sum := sha256.Sum256(blob)
		if l.digest.Hex != hex.EncodeToString(sum[:]) || l.size != int64(len(blob)) {
			t.Errorf("layer %d: digest or size", i)
		}
		if l.diffID != gz[i].diffID || l.digest == gz[i].digest {
			t.Errorf("layer %d: diffID %v (gzip %v), digest %v (gzip %v)", i, l.diffID, gz[i].diffID, l.digest, gz[i].digest)
		}
		u, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		ub, err := io.ReadAll(u)
		u.Close()
		if err != nil || !bytes.Equal(ub, inputs[i]) {
			t.Errorf("layer %d: Uncompressed: %v", i, err)
		}
	}
	if again[0].digest != layers[1].digest {
		t.Error("compressing alone gave other bytes than compressing with others")
	}
	if _, err := ParseCompression("lz4"); err == nil {
		t.Error("lz4 accepted")
	}
	if c, err := ParseCompression(""); c != Gzip || err != nil {
		t.Errorf(`"" = %q, %v`, c, err)
	}
}

// BenchmarkCompressLayers compresses 40 MB of layers (the size of a
// Python image's) with gzip and zstd, and with gzip from a warm layer
// cache (hashing the tar streams, reading the entries back).
func BenchmarkCompressLayers(b *testing.B) {
	var streams []*stream
	var total int64
	for i, n := range []int{1 << 20, 4 << 20, 10 << 20, 25 << 20} {
		s := streamOf(mixedData(n, uint64(100+i)))
		streams = append(streams, s)
		total += s.size
	}
	warm := &mapCache{m: map[string][]byte{}}
	if _, err := compressLayersWith(context.Background(), newSpool(b.TempDir()), streams, Gzip, warm); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		comp  Compression
		cache DerivedCache
	}{{"gzip", Gzip, nil}, {"zstd", Zstd, nil}, {"gzip-cached", Gzip, warm}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(total)
			var size int64
			for b.Loop() {
				sp := newSpool(b.TempDir())
				ls, err := compressLayersWith(context.Background(), sp, streams, tc.comp, tc.cache)
				if err != nil {
					b.Fatal(err)
				}
				sp.close()
				size = 0
				for _, l := range ls {
					size += l.size
				}
			}
			b.ReportMetric(float64(size)/float64(total), "ratio")
		})
	}
}
