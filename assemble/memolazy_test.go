package assemble

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages/fetch"
)

// TestMemoLazy: through the download cache, a kept image's layers are
// checked by their entries' headers when it is loaded and read only when
// wanted, the same bytes; an entry whose bytes were damaged after the
// check is an error when read (and removed), one whose header or size is
// wrong refuses the memo.
func TestMemoLazy(t *testing.T) {
	for _, comp := range []Compression{Gzip, Zstd} {
		fc := &fetch.Cache{Dir: t.TempDir(), Log: io.Discard}
		f := newFixture()
		spec := f.spec(layer("one", f.pkg("a", reg("./usr/bin/a", 0o755, "aaa"))), layer("two", f.pkg("b", reg("./usr/lib/b", 0o644, "bbb"))))
		spec.Compression = comp
		spec.Cache = fc
		img, rep := mustBuild(t, spec)
		if err := StoreImage(fc, "image/k", img, rep); err != nil {
			t.Fatal(err)
		}
		got, _, ok := LoadImage(fc, "image/k", t.TempDir())
		if !ok {
			t.Fatalf("%s: no memo", comp)
		}
		_, _, l1 := rawOf(t, img)
		_, _, l2 := rawOf(t, got)
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

		orig, _ := img.Layers()
		diffID, _ := orig[1].DiffID()
		p := fc.NamedPath(layerKey(comp, diffID))
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// The bytes damaged: loaded (the header holds), an error when read.
		bad := bytes.Clone(raw)
		bad[len(bad)-10] ^= 1
		os.WriteFile(p, bad, 0o644)
		got, _, ok = LoadImage(fc, "image/k", t.TempDir())
		if !ok {
			t.Fatalf("%s: memo refused for damage past the header", comp)
		}
		ls, _ := got.Layers()
		if _, err := ls[0].Compressed(); err != nil {
			t.Errorf("%s: the good layer: %v", comp, err)
		}
		rc, err := ls[1].Compressed()
		if err == nil {
			_, err = io.ReadAll(rc)
		}
		if err == nil || !strings.Contains(err.Error(), "damaged or gone") {
			t.Errorf("%s: damaged layer read: %v", comp, err)
		}
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s: the damaged entry is still there", comp)
		}
		// Header or size wrong: the memo is not used.
		for name, b := range map[string][]byte{
			"cut":       raw[:len(raw)-3],
			"header":    func() []byte { b := bytes.Clone(raw); b[len(layerMagic)+40] ^= 1; return b }(),
			"tar size":  func() []byte { b := bytes.Clone(raw); b[len(layerMagic)+64] ^= 1; return b }(),
			"not layer": append([]byte("XXXXXXXX"), raw[8:]...),
		} {
			os.WriteFile(p, b, 0o644)
			if _, _, ok := LoadImage(fc, "image/k", t.TempDir()); ok {
				t.Errorf("%s: %s: memo used", comp, name)
			}
		}
		os.WriteFile(p, raw, 0o644)
		if _, _, ok := LoadImage(fc, "image/k", t.TempDir()); !ok {
			t.Errorf("%s: the entry restored, the memo is not used", comp)
		}
	}
}
