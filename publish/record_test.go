package publish

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestRecordRoundTrip: the record manifest a release pushes reads back
// as the same record, of the same inputs only; its tag is among the
// record's tagged manifests and holds it; manifests that are not a
// record of these inputs, or carry a hostile record, are not one.
func TestRecordRoundTrip(t *testing.T) {
	inputs := strings.Repeat("ab", 32)
	rec := Record{Digest: "sha256:" + strings.Repeat("1", 64), Referrers: []string{"sha256:" + strings.Repeat("2", 64)}, Tagged: []string{"sha256-" + strings.Repeat("3", 64) + ".sig"}}
	var art Artifact
	if err := WithRecord(&art, &rec, inputs); err != nil {
		t.Fatal(err)
	}
	tag := RecordTagPrefix + inputs
	img := art.Tagged[tag]
	if img == nil || len(rec.Tagged) != 2 || rec.Tagged[0] != tag {
		t.Fatalf("tagged %v, record's %v", art.Tagged, rec.Tagged)
	}
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	got, ok := parseRecord(raw, inputs)
	if !ok || got.Digest != rec.Digest || strings.Join(got.Referrers, ",") != strings.Join(rec.Referrers, ",") || strings.Join(got.Tagged, ",") != strings.Join(rec.Tagged, ",") {
		t.Fatalf("read back %+v, %v; wrote %+v\n%s", got, ok, rec, raw)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if !recordHeld(tag, got, d.String()) || recordHeld(tag, got, "sha256:"+strings.Repeat("4", 64)) || !recordHeld("sha256-x.sig", got, "anything") {
		t.Error("recordHeld")
	}
	if _, ok := parseRecord(raw, strings.Repeat("cd", 32)); ok {
		t.Error("a record of other inputs was taken")
	}
	for name, m := range map[string][]byte{
		"not JSON": []byte("{"),
		"an image": func() []byte {
			b, _ := mutate.MediaType(empty.Image, types.OCIManifestSchema1).RawManifest()
			return b
		}(),
		"bad digest": []byte(strings.Replace(string(raw), `sha256:1111`, `sha256:zz11`, 1)),
		"bad tag":    []byte(strings.Replace(string(raw), `.sig`, `.sig/../x`, 1)),
	} {
		if _, ok := parseRecord(m, inputs); ok {
			t.Errorf("%s: taken for a record", name)
		}
	}
}
