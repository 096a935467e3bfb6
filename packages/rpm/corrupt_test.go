package rpm

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages/decompress"
)

// TestPayloadCorruptStream: a package whose compressed payload is damaged
// (in the middle, in the compressor's trailer, truncated, or followed by
// garbage after the stream) is an error naming the package, and nothing
// of it goes into the unpack cache. Without a keyring the decompressor's
// checks and the header's payload digest find it while decoding (rpm
// writes zstd frames without a checksum: a byte changed in the middle of
// one is found by the digest only); with one, the digest is checked
// before anything is decoded.
func TestPayloadCorruptStream(t *testing.T) {
	fx := needFixture(t)
	// One package of each payload compressor the fixture has.
	byComp := map[string]string{}
	var names []string
	for name := range fx.RPMs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b, err := os.ReadFile(fx.RPMs[name])
		if err != nil {
			t.Fatal(err)
		}
		hd, err := readHeaders(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		// Big enough that the middle is well inside the compressed data.
		if comp := hd.pkg.Header.GetTag(tagPayloadCompressor).String(); byComp[comp] == "" && len(b)-int(hd.payload) > 200 {
			byComp[comp] = name
		}
	}
	for _, want := range []string{"zstd", "xz"} {
		if byComp[want] == "" {
			t.Fatalf("the fixture has no %s payload (has %v)", want, byComp)
		}
	}
	for comp, name := range byComp {
		src, _ := os.ReadFile(fx.RPMs[name])
		hd, _ := readHeaders(bytes.NewReader(src))
		format, err := payloadFormat(comp)
		if err != nil {
			t.Fatal(err)
		}
		pay := int(hd.payload)
		n := len(src)
		for cname, bad := range map[string][]byte{
			"flipped byte in the middle":   flipByte(src, pay+(n-pay)/2),
			"flipped last byte":            flipByte(src, n-1),
			"flipped byte 4 from the end":  flipByte(src, n-4),
			"flipped byte 12 from the end": flipByte(src, n-12),
			"truncated by 1 byte":          src[:n-1],
			"truncated by 10 bytes":        src[:n-10],
			"trailing garbage":             append(bytes.Clone(src), "garbage!"...),
			"trailing zeros":               append(bytes.Clone(src), 0, 0, 0, 0, 0, 0),
		} {
			t.Run(comp+"/"+cname, func(t *testing.T) {
				dir := t.TempDir()
				file := filepath.Join(dir, name)
				if err := os.WriteFile(file, bad, 0o644); err != nil {
					t.Fatal(err)
				}
				cache := filepath.Join(dir, "cache")
				p := Payload{CacheDir: cache}
				_, err := walkAll(t, p, file)
				if err == nil {
					t.Fatal("no error")
				}
				if !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), hd.nevra()) {
					t.Errorf("error %q does not name %s and %s", err, file, hd.nevra())
				}
				var e *decompress.Error
				if errors.As(err, &e) && e.Format != format {
					t.Errorf("error %q names format %s, want %s", err, e.Format, format)
				}
				if err := p.Prepare(file); err == nil {
					t.Error("Prepare: no error")
				}
				if ents, _ := os.ReadDir(cache); len(ents) != 0 {
					t.Errorf("the unpack cache holds %v", ents)
				}
			})
		}
	}
}

func flipByte(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0xff
	return b
}

// TestMetadataFormats: repomd.xml's compression names map to the shared
// decompressors; others are refused by name.
func TestMetadataFormats(t *testing.T) {
	for kind, want := range map[string]decompress.Format{"": decompress.None, "gz": decompress.Gzip, "xz": decompress.XZ, "zst": decompress.Zstd, "bz2": decompress.Bzip2} {
		if f, err := metadataFormat(kind); err != nil || f != want {
			t.Errorf("metadataFormat(%q) = %q, %v", kind, f, err)
		}
	}
	if _, err := metadataFormat("lz4"); err == nil || !strings.Contains(err.Error(), `"lz4"`) {
		t.Errorf("lz4: %v", err)
	}
	for comp, want := range map[string]decompress.Format{"": decompress.Gzip, "gzip": decompress.Gzip, "xz": decompress.XZ, "zstd": decompress.Zstd, "bzip2": decompress.Bzip2} {
		if f, err := payloadFormat(comp); err != nil || f != want {
			t.Errorf("payloadFormat(%q) = %q, %v", comp, f, err)
		}
	}
	if _, err := payloadFormat("lzma"); err == nil || !strings.Contains(err.Error(), `"lzma"`) {
		t.Errorf("lzma: %v", err)
	}
}
