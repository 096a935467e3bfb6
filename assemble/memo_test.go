package assemble

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
)

// memoBuild builds a two-layer image with a layer cache, as gen does.
func memoBuild(t *testing.T, comp Compression, c *mapCache) (v1.Image, *Report) {
	t.Helper()
	f := newFixture()
	spec := f.spec(layer("one", f.pkg("a", reg("./usr/bin/a", 0o755, "aaa"))), layer("two", f.pkg("b", reg("./usr/lib/b", 0o644, "bbb"))))
	spec.Compression = comp
	spec.Cache = c
	return mustBuild(t, spec)
}

func rawOf(t *testing.T, img v1.Image) (manifest, config []byte, layers [][]byte) {
	t.Helper()
	m, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		layers = append(layers, b)
	}
	return m, cf, layers
}

// TestMemo: an image kept with StoreImage comes back from LoadImage with
// the same manifest, config, layer bytes and report, for gzip and zstd.
func TestMemo(t *testing.T) {
	for _, comp := range []Compression{Gzip, Zstd} {
		c := &mapCache{m: map[string][]byte{}}
		img, rep := memoBuild(t, comp, c)
		if err := StoreImage(c, "image/k", img, rep); err != nil {
			t.Fatal(err)
		}
		got, grep, ok := LoadImage(c, "image/k", t.TempDir())
		if !ok {
			t.Fatalf("%s: no memo", comp)
		}
		m1, c1, l1 := rawOf(t, img)
		m2, c2, l2 := rawOf(t, got)
		if !bytes.Equal(m1, m2) || !bytes.Equal(c1, c2) || len(l1) != len(l2) {
			t.Fatalf("%s: manifest or config differs", comp)
		}
		for i := range l1 {
			if !bytes.Equal(l1[i], l2[i]) {
				t.Errorf("%s: layer %d differs", comp, i)
			}
		}
		d1, _ := img.Digest()
		d2, _ := got.Digest()
		if d1 != d2 {
			t.Errorf("%s: digest %v, want %v", comp, d2, d1)
		}
		r1, _ := json.Marshal(rep)
		r2, _ := json.Marshal(grep)
		if !bytes.Equal(r1, r2) {
			t.Errorf("%s: report %s, want %s", comp, r2, r1)
		}
		if _, _, ok := LoadImage(c, "image/other", t.TempDir()); ok {
			t.Errorf("%s: a memo for a key never stored", comp)
		}
	}
}

// TestMemoRefuses: a memo is not used when anything it refers to is
// missing or does not match: a layer entry gone, a layer entry of other
// bytes, a config that is not the manifest's, a damaged memo.
func TestMemoRefuses(t *testing.T) {
	c := &mapCache{m: map[string][]byte{}}
	img, rep := memoBuild(t, Gzip, c)
	if err := StoreImage(c, "image/k", img, rep); err != nil {
		t.Fatal(err)
	}
	ls, _ := img.Layers()
	d0, _ := ls[0].DiffID()
	d1, _ := ls[1].DiffID()
	k0, k1 := layerKey(Gzip, d0), layerKey(Gzip, d1)
	var e memoEntry
	if err := json.Unmarshal(c.m["image/k"], &e); err != nil {
		t.Fatal(err)
	}
	withEntry := func(f func(*memoEntry)) []byte {
		x := e
		x.Manifest, x.Config = bytes.Clone(e.Manifest), bytes.Clone(e.Config)
		f(&x)
		b, _ := json.Marshal(x)
		return b
	}
	saved := map[string][]byte{"image/k": c.m["image/k"], k0: c.m[k0], k1: c.m[k1]}
	for name, edit := range map[string]func(){
		"layer entry gone":               func() { delete(c.m, k1) },
		"layer entry of the other layer": func() { c.m[k1] = saved[k0] },
		"layer entry cut":                func() { c.m[k0] = saved[k0][:len(saved[k0])-3] },
		"layer entry with another digest": func() {
			b := bytes.Clone(saved[k0])
			b[len(layerMagic)+32] ^= 1
			c.m[k0] = b
		},
		"config changed": func() {
			c.m["image/k"] = withEntry(func(x *memoEntry) { x.Config = bytes.Replace(x.Config, []byte(`"amd64"`), []byte(`"arm64"`), 1) })
		},
		"tar size changed": func() {
			c.m["image/k"] = withEntry(func(x *memoEntry) {
				x.Report.Layers = append([]LayerReport(nil), x.Report.Layers...)
				x.Report.Layers[0].TarSize++
			})
		},
		"memo version": func() { c.m["image/k"] = withEntry(func(x *memoEntry) { x.Version++ }) },
		"not JSON":     func() { c.m["image/k"] = []byte("{") },
	} {
		for k, v := range saved {
			c.m[k] = v
		}
		if _, _, ok := LoadImage(c, "image/k", t.TempDir()); !ok {
			t.Fatalf("%s: the unchanged memo is not used", name)
		}
		edit()
		if _, _, ok := LoadImage(c, "image/k", t.TempDir()); ok {
			t.Errorf("%s: memo used", name)
		}
	}
}
