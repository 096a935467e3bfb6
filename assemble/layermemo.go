package assemble

import (
	"context"
	"crypto/sha256"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// LayerMemo keeps the compressed layers of the builds of one process by
// the digest of their tar stream, so that builds sharing a layer (the
// static, base and cc layers of every image of a release, a profile's
// layers in its debug variant) compress it once. It holds at most about
// Max bytes of compressed layers, dropping the least recently used. It is
// safe for concurrent use.
type LayerMemo struct {
	Max int64 // bytes of compressed layers kept; 0 means 1 GB

	mu    sync.Mutex
	size  int64
	tick  uint64
	items map[v1.Hash]*memoItem
	hits  int
}

type memoItem struct {
	l    *memLayer
	used uint64
}

// Hits is how many layers the memo has given instead of compressing them.
func (m *LayerMemo) Hits() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hits
}

func (m *LayerMemo) get(id v1.Hash, tarSize int64) *memLayer {
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[id]
	if it == nil || it.l.tarSize != tarSize {
		return nil
	}
	m.tick++
	it.used = m.tick
	m.hits++
	return it.l
}

func (m *LayerMemo) put(l *memLayer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.items == nil {
		m.items = map[v1.Hash]*memoItem{}
	}
	if _, ok := m.items[l.diffID]; ok {
		return
	}
	max := m.Max
	if max <= 0 {
		max = 1 << 30
	}
	if l.size > max {
		return
	}
	m.tick++
	m.items[l.diffID] = &memoItem{l: l, used: m.tick}
	m.size += l.size
	for m.size > max {
		var oldest v1.Hash
		var at uint64
		for id, it := range m.items {
			if at == 0 || it.used < at {
				oldest, at = id, it.used
			}
		}
		m.size -= m.items[oldest].l.size
		delete(m.items, oldest)
	}
}

// compress is compressLayers through the memo: each tar stream is hashed
// first, and only those the memo lacks are compressed.
func (m *LayerMemo) compress(ctx context.Context, tars []*stream) ([]*memLayer, error) {
	layers := make([]*memLayer, len(tars))
	var todo []*stream
	var at []int
	for i, t := range tars {
		h := sha256.New()
		t.each(0, t.size, func(b []byte) error {
			h.Write(b)
			return nil
		})
		if l := m.get(hashOf(h), t.size); l != nil {
			layers[i] = l
			continue
		}
		todo = append(todo, t)
		at = append(at, i)
	}
	if len(todo) > 0 {
		made, err := compressLayers(ctx, todo)
		if err != nil {
			return nil, err
		}
		for j, l := range made {
			layers[at[j]] = l
			m.put(l)
		}
	}
	return layers, nil
}
