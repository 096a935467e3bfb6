package assemble

import (
	"slices"
	"strings"
	"testing"
)

// TestLayerMemo: builds through one memo give the images builds without
// it give, byte for byte, and the layers they share are compressed once;
// a memo too small to hold a layer keeps nothing and still builds right.
func TestLayerMemo(t *testing.T) {
	f := newFixture()
	base := f.pkg("base", reg("./etc/base", 0o644, strings.Repeat("base", 1<<16)))
	cc := f.pkg("cc", reg("./usr/lib/libcc.so", 0o644, "cc"))
	py := f.pkg("py", reg("./usr/bin/python", 0o755, "py"))
	js := f.pkg("js", reg("./usr/bin/node", 0o755, "js"))
	specs := func() []Spec {
		return []Spec{
			f.spec(layer("base", base), layer("cc", cc), layer("python", py)),
			f.spec(layer("base", base), layer("cc", cc), layer("node", js)),
			f.spec(layer("base", base), layer("cc", cc), layer("python", py)),
		}
	}
	var want []string
	for _, s := range specs() {
		img, _ := mustBuild(t, s)
		d, _ := img.Digest()
		want = append(want, d.String()+" "+strings.Join(layerDigests(t, img), ","))
	}
	for _, c := range []struct {
		max  int64
		hits int
	}{{0, 3 + 4}, {1, 0}} {
		memo := &LayerMemo{Max: c.max}
		var got []string
		for _, s := range specs() {
			s.LayerMemo = memo
			img, rep := mustBuild(t, s)
			d, _ := img.Digest()
			got = append(got, d.String()+" "+strings.Join(layerDigests(t, img), ","))
			if rep.Layers[0].CompressedSize == 0 || rep.Layers[0].Digest == "" {
				t.Errorf("report of a memo layer: %+v", rep.Layers[0])
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("max %d: images through the memo\n%v\nwant\n%v", c.max, got, want)
		}
		// The second image shares base, cc and os-release with the first;
		// the third is the first again (4 layers).
		if memo.Hits() != c.hits {
			t.Errorf("max %d: %d layers from the memo, want %d", c.max, memo.Hits(), c.hits)
		}
		if c.max > 0 && memo.size > c.max {
			t.Errorf("memo holds %d bytes, more than its maximum %d", memo.size, c.max)
		}
	}
}
