package assemble

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image memo: a build whose inputs are all the same as an earlier
// one's (the caller's key says so: see the root package's memo.go) is
// given the earlier image, read back from the cache instead of built
// again. What is kept is small: the raw manifest and config and the
// build's Report; the layers are the layer cache's entries (layercache.go),
// found by diffID. LoadImage uses a memo only when everything it refers
// to is there and consistent: the config's digest is the one the
// manifest names, each layer entry names the diffID the config lists at
// its place and holds a blob whose digest, size and media type are those
// the manifest lists; otherwise it reports no memo and the caller builds.

const memoVersion = 1

type memoEntry struct {
	Version  int
	Manifest []byte
	Config   []byte
	Report   Report
}

// StoreImage keeps img, as Build made it with rep, under key; an image
// whose layers are not in the layer cache (a build without a cache) is
// not kept. Failures only cost the next build its time.
func StoreImage(cache DerivedCache, key string, img v1.Image, rep *Report) error {
	if cache == nil {
		return nil
	}
	m, err := img.RawManifest()
	if err != nil {
		return err
	}
	c, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	b, err := json.Marshal(memoEntry{Version: memoVersion, Manifest: m, Config: c, Report: *rep})
	if err != nil {
		return err
	}
	return cache.Put(key, b)
}

// LoadImage returns the image kept under key, and the Report of the build
// that made it, when it and all its layers are in the cache and agree.
// The layers are copied into a spool file in spoolDir (the system's
// temporary directory when empty), as a build's are, so the image does
// not hold them in memory.
func LoadImage(cache DerivedCache, key, spoolDir string) (v1.Image, *Report, bool) {
	if cache == nil {
		return nil, nil, false
	}
	b, err := cache.Get(key)
	if err != nil {
		return nil, nil, false
	}
	var e memoEntry
	if json.Unmarshal(b, &e) != nil || e.Version != memoVersion {
		return nil, nil, false
	}
	sp := newSpool(spoolDir)
	img, err := memoImageOf(cache, sp, e)
	if err == nil {
		err = sp.err()
	}
	if err != nil {
		sp.close()
		return nil, nil, false
	}
	return img, &e.Report, true
}

func memoImageOf(cache DerivedCache, sp *spool, e memoEntry) (v1.Image, error) {
	m, err := v1.ParseManifest(bytes.NewReader(e.Manifest))
	if err != nil {
		return nil, err
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(e.Config))
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(e.Config); m.Config.Digest.Hex != hex.EncodeToString(sum[:]) || m.Config.Size != int64(len(e.Config)) {
		return nil, fmt.Errorf("config digest")
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) || len(m.Layers) != len(e.Report.Layers) {
		return nil, fmt.Errorf("layer count")
	}
	mi := &memoImage{manifest: e.Manifest, config: e.Config, mediaType: m.MediaType, layers: map[v1.Hash]partial.CompressedLayer{}}
	// With a StreamCache, each layer entry's header is checked here and its
	// bytes are read (their digest checked) only when they are wanted: a
	// gen whose output already holds the image never reads them. Otherwise
	// the layers are read now, side by side.
	sc, lazy := cache.(StreamCache)
	got := make([]partial.CompressedLayer, len(m.Layers))
	var wg sync.WaitGroup
	for i, d := range m.Layers {
		c := Gzip
		if d.MediaType == types.OCILayerZStd {
			c = Zstd
		} else if d.MediaType != types.OCILayer {
			return nil, fmt.Errorf("media type %s", d.MediaType)
		}
		if lazy {
			if layerEntryHolds(sc, c, cfg.RootFS.DiffIDs[i], e.Report.Layers[i].TarSize, d.Digest, d.Size) {
				got[i] = &lazyLayer{cache: cache, sp: sp, c: c, diffID: cfg.RootFS.DiffIDs[i], tarSize: e.Report.Layers[i].TarSize,
					digest: d.Digest, size: d.Size, mediaType: d.MediaType}
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l := layerEntry(cache, sp, c, cfg.RootFS.DiffIDs[i], e.Report.Layers[i].TarSize); l != nil && l.digest == d.Digest && l.size == d.Size {
				got[i] = l
			}
		}()
	}
	wg.Wait()
	for i, d := range m.Layers {
		if got[i] == nil {
			return nil, fmt.Errorf("layer %d", i)
		}
		mi.layers[d.Digest] = got[i]
	}
	return partial.CompressedToImage(mi)
}

// memoImage is an image read back from the memo.
type memoImage struct {
	manifest, config []byte
	mediaType        types.MediaType
	layers           map[v1.Hash]partial.CompressedLayer
}

func (m *memoImage) RawManifest() ([]byte, error)        { return m.manifest, nil }
func (m *memoImage) RawConfigFile() ([]byte, error)      { return m.config, nil }
func (m *memoImage) MediaType() (types.MediaType, error) { return m.mediaType, nil }
func (m *memoImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := m.layers[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("no layer %s", h)
}
