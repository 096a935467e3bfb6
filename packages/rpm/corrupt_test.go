package rpm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/distroless-dev/distroless/packages/decompress"
	"github.com/distroless-dev/distroless/packages/fetch"
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

// compressAs compresses b as kind (gz, xz, zst, bz2), with the reference
// tools where Go has no encoder (scripts/test.sh installs them).
func compressAs(t *testing.T, kind string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch kind {
	case "gz":
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
	case "zst":
		zw, _ := zstd.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
	case "xz", "bz2":
		cmd := exec.Command(map[string]string{"xz": "xz", "bz2": "bzip2"}[kind], "-c")
		cmd.Stdin, cmd.Stdout = bytes.NewReader(b), &buf
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	return buf.Bytes()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestMetadataCorruptStream: a metadata file whose compressed stream is
// damaged is refused while it is decompressed, even when repomd.xml's
// checksum of the download is the damaged file's and (trailing garbage)
// the decompressed bytes are right; nothing is cached for it.
func TestMetadataCorruptStream(t *testing.T) {
	plain := []byte(strings.Repeat("<package type=\"rpm\"><name>demo</name></package>\n", 500))
	for _, kind := range []string{"gz", "xz", "zst", "bz2"} {
		comp := compressAs(t, kind, plain)
		n := len(comp)
		for cname, bad := range map[string][]byte{
			"intact":                       comp,
			"flipped byte in the middle":   flipByte(comp, n/2),
			"flipped last byte":            flipByte(comp, n-1),
			"flipped byte 6 from the end":  flipByte(comp, n-6),
			"flipped byte 12 from the end": flipByte(comp, n-12),
			"truncated by 1 byte":          comp[:n-1],
			"trailing garbage":             append(bytes.Clone(comp), "garbage!"...),
		} {
			c := &fetch.Cache{Dir: t.TempDir()}
			// The download is in the cache, as if fetched and verified.
			if _, err := c.WriteBlob(sha256Hex(bad), func(w io.Writer) error { _, err := w.Write(bad); return err }); err != nil {
				t.Fatal(err)
			}
			e := &repoData{Type: "primary", Href: "repodata/primary.xml." + kind, SHA256: sha256Hex(bad), Size: int64(len(bad)),
				OpenSHA256: sha256Hex(plain), OpenSize: int64(len(plain)), Compression: kind}
			p, err := metadataBlob(context.Background(), c, Repo{Name: "test", URL: "http://127.0.0.1:9/repo"}, e)
			if cname == "intact" {
				if got, _ := os.ReadFile(p); err != nil || !bytes.Equal(got, plain) {
					t.Errorf("%s, intact: %v", kind, err)
				}
				continue
			}
			if err == nil || !strings.Contains(err.Error(), "primary.xml."+kind) {
				t.Errorf("%s, %s: err = %v, want an error naming the file", kind, cname, err)
			}
			if _, ok := c.Blob(sha256Hex(plain)); ok {
				t.Errorf("%s, %s: the decompressed file was cached", kind, cname)
			}
		}
	}
}
