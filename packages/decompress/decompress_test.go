package decompress

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// content is what every stream of testdata/ decompresses to. The xz and
// bzip2 files were made with the reference tools from it (Go has no
// encoder for either):
//
//	xz -c [--check=crc32|sha256|none] content > content[.CHECK].xz
//	bzip2 -c content > content.bz2
//
// and the .2streams files are two such files concatenated, the first of
// content's first 10000 bytes, the second of the rest. The .blocks files
// have 4096-byte blocks, as xz's threaded encoder (dpkg-deb) cuts them:
//
//	xz -c [--check=sha256] --block-size=4096 content > content.blocks[.sha256].xz
func content() []byte {
	var b bytes.Buffer
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "%05d %x\n", i, sha256.Sum256([]byte(fmt.Sprint(i))))
	}
	return b.Bytes()
}

func gzipOf(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdOf(t testing.TB, b []byte, checksum bool) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderCRC(checksum), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stream is one valid compressed stream of content().
type stream struct {
	name     string
	format   Format
	data     []byte
	checksum bool // the format's checks cover every byte of the data
}

func streams(t testing.TB) []stream {
	c := content()
	half := len(c) / 2
	return []stream{
		{"gzip", Gzip, gzipOf(t, c), true},
		{"gzip 2 members", Gzip, append(gzipOf(t, c[:half]), gzipOf(t, c[half:])...), true},
		{"zstd", Zstd, zstdOf(t, c, true), true},
		{"zstd 2 frames", Zstd, append(zstdOf(t, c[:half], true), zstdOf(t, c[half:], true)...), true},
		{"zstd skippable frame", Zstd, append(zstdOf(t, c, true), 0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'a', 'b', 'c'), true},
		{"zstd no checksum", Zstd, zstdOf(t, c, false), false},
		{"xz crc64", XZ, readFile(t, "content.xz"), true},
		{"xz crc32", XZ, readFile(t, "content.crc32.xz"), true},
		{"xz sha256", XZ, readFile(t, "content.sha256.xz"), true},
		{"xz no check", XZ, readFile(t, "content.none.xz"), false},
		{"xz 2 streams", XZ, readFile(t, "content.2streams.xz"), true},
		{"xz padding", XZ, append(readFile(t, "content.xz"), 0, 0, 0, 0), true},
		{"xz blocks", XZ, readFile(t, "content.blocks.xz"), true},
		{"xz blocks sha256", XZ, readFile(t, "content.blocks.sha256.xz"), true},
		{"bzip2", Bzip2, readFile(t, "content.bz2"), true},
		{"bzip2 2 streams", Bzip2, readFile(t, "content.2streams.bz2"), true},
	}
}

func decode(data []byte, f Format) ([]byte, error) {
	z, err := Open(bytes.NewReader(data), f)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	return io.ReadAll(io.LimitReader(z, 1<<24))
}

func TestValid(t *testing.T) {
	want := content()
	for _, s := range streams(t) {
		// Twice: the second time through a pooled decoder.
		for i := range 2 {
			got, err := decode(s.data, s.format)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s (%d): %d bytes, %v; want %d bytes", s.name, i, len(got), err, len(want))
			}
		}
	}
	got, err := decode(want, None)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("none: %d bytes, %v", len(got), err)
	}
	if got, err := decode(nil, None); err != nil || len(got) != 0 {
		t.Errorf("none, empty: %q, %v", got, err)
	}
}

// flip returns data with the byte at i inverted.
func flip(data []byte, i int) []byte {
	b := bytes.Clone(data)
	b[i] ^= 0xff
	return b
}

func TestCorrupt(t *testing.T) {
	want := content()
	for _, s := range streams(t) {
		n := len(s.data)
		cases := map[string][]byte{
			"truncated by one byte": s.data[:n-1],
			"truncated by half":     s.data[:n/2],
			"header only":           s.data[:min(n, 12)],
			"trailing garbage":      append(bytes.Clone(s.data), "garbage"...),
			"trailing newline":      append(bytes.Clone(s.data), '\n'),
			"trailing zeros":        append(bytes.Clone(s.data), 0, 0, 0),
		}
		if s.format == Gzip {
			cases["another format after"] = append(bytes.Clone(s.data), zstdOf(t, []byte("x"), true)...)
		} else {
			cases["another format after"] = append(bytes.Clone(s.data), gzipOf(t, []byte("x"))...)
		}
		if s.format == Gzip || s.format == Zstd {
			// Formats that allow concatenation: a second stream cut short.
			cases["truncated second stream"] = append(bytes.Clone(s.data), s.data[:n/2]...)
		}
		if s.checksum {
			cases["flipped byte in the middle"] = flip(s.data, n/2)
			cases["flipped last byte"] = flip(s.data, n-1)
			cases["flipped byte 8 from the end"] = flip(s.data, n-8)
			cases["flipped byte 20 from the end"] = flip(s.data, n-20)
		}
		if s.name == "zstd skippable frame" {
			// Its last bytes are the skippable frame's content, which
			// nothing checks.
			delete(cases, "flipped last byte")
			delete(cases, "truncated by one byte")
		}
		for name, data := range cases {
			got, err := decode(data, s.format)
			if err == nil {
				t.Errorf("%s, %s: no error (%d bytes, content %v)", s.name, name, len(got), bytes.Equal(got, want))
				continue
			}
			var e *Error
			if !errors.As(err, &e) || e.Format != s.format || !strings.Contains(err.Error(), s.format.String()) {
				t.Errorf("%s, %s: error %v (%T), want an *Error naming %s", s.name, name, err, err, s.format)
			}
			if s.format == Gzip && strings.HasPrefix(name, "trailing") && !strings.Contains(err.Error(), "data follows the end of the stream") {
				t.Errorf("%s, %s: error %v, want one saying data follows the stream", s.name, name, err)
			}
		}
	}
	for _, f := range []Format{Gzip, XZ, Zstd, Bzip2} {
		if _, err := decode(nil, f); err == nil || err.Error() != f.String()+" stream: empty" {
			t.Errorf("%s, empty: %v", f, err)
		}
		if _, err := decode([]byte("plain text, not compressed at all"), f); err == nil {
			t.Errorf("%s, not compressed: no error", f)
		}
	}
	if _, err := Open(strings.NewReader(""), "lz4"); err == nil || !strings.Contains(err.Error(), `unsupported compression "lz4"`) {
		t.Errorf("lz4: %v", err)
	}
}

// TestUnsupportedCheck: an xz stream whose check type the decoder does
// not implement is refused, not read unchecked.
func TestUnsupportedCheck(t *testing.T) {
	b := bytes.Clone(readFile(t, "content.crc32.xz"))
	// Stream header: magic (6), flags (2: 0, check ID), CRC-32 of the flags.
	b[7] = 0x02 // a reserved 4-byte check
	binary.LittleEndian.PutUint32(b[8:], crc32.ChecksumIEEE(b[6:8]))
	if got, err := decode(b, XZ); err == nil {
		t.Fatalf("unsupported check type: no error, %d bytes", len(got))
	}
}

// TestFinish: a reader of an archive inside the stream stops at its end
// marker; Finish checks the rest, and reports corruption after it.
func TestFinish(t *testing.T) {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	body := content()
	tw.WriteHeader(&tar.Header{Name: "f", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write(body)
	tw.Close()
	// GNU tar pads archives to 10240-byte records; so would a hostile one.
	tb.Write(make([]byte, 10240))
	good := gzipOf(t, tb.Bytes())
	for name, tc := range map[string]struct {
		data []byte
		ok   bool
	}{
		"whole":               {good, true},
		"flipped CRC":         {flip(good, len(good)-5), false},
		"flipped size":        {flip(good, len(good)-1), false},
		"trailing garbage":    {append(bytes.Clone(good), 1, 2, 3), false},
		"truncated padding":   {good[:len(good)-10], false},
		"garbage then member": {append(append(bytes.Clone(good), 'x'), good...), false},
	} {
		z, err := Open(bytes.NewReader(tc.data), Gzip)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tr := tar.NewReader(z)
		h, err := tr.Next()
		if err != nil || h.Name != "f" {
			t.Fatalf("%s: %v", name, err)
		}
		if b, err := io.ReadAll(tr); err != nil || !bytes.Equal(b, body) {
			t.Fatalf("%s: body %d bytes, %v", name, len(b), err)
		}
		if _, err := tr.Next(); err != io.EOF {
			t.Fatalf("%s: tar end: %v", name, err)
		}
		err = z.Finish()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Finish = %v, want ok=%v", name, err, tc.ok)
		}
		// Errors are sticky.
		if err2 := z.Finish(); (err2 == nil) != tc.ok {
			t.Errorf("%s: second Finish = %v", name, err2)
		}
		z.Close()
	}
}

// TestInputError: an error reading the input is returned as it is, not
// as a corrupt stream.
func TestInputError(t *testing.T) {
	boom := errors.New("disk on fire")
	data := gzipOf(t, content())
	r := io.MultiReader(bytes.NewReader(data[:len(data)/2]), iotestErr{boom})
	z, err := Open(r, Gzip)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if _, err := io.ReadAll(z); err != boom {
		t.Errorf("err = %v, want the input's error", err)
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

func TestFromExt(t *testing.T) {
	for ext, want := range map[string]Format{".gz": Gzip, ".xz": XZ, ".zst": Zstd, ".bz2": Bzip2} {
		if f, ok := FromExt(ext); !ok || f != want {
			t.Errorf("FromExt(%q) = %q, %v", ext, f, ok)
		}
	}
	for _, ext := range []string{"", ".tar", ".lzma", ".Z", "gz"} {
		if _, ok := FromExt(ext); ok {
			t.Errorf("FromExt(%q) accepted", ext)
		}
	}
}

// TestZstdWindow: the decoder allocates the window a frame declares
// before it reads any data, so a frame may declare at most 128 MiB (what
// zstd(1) accepts by default); a few bytes asking for 1 GiB are refused.
func TestZstdWindow(t *testing.T) {
	for _, tc := range []struct {
		wd byte // Window_Descriptor: exponent<<3 | mantissa; log = 10 + exponent
		ok bool
	}{
		{0x50, true},  // 2^20
		{0x88, true},  // 2^27, the limit
		{0x89, false}, // 2^27 + 2^24
		{0xa0, false}, // 2^30
		{0xf8, false}, // 2^41
	} {
		// Magic, frame header descriptor 0 (window descriptor present,
		// no checksum), the window descriptor, then a last raw block of
		// "abc".
		d := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, tc.wd, 0x19, 0x00, 0x00, 'a', 'b', 'c'}
		got, err := decode(d, Zstd)
		if tc.ok && (err != nil || string(got) != "abc") {
			t.Errorf("window %#x: %q, %v", tc.wd, got, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("window %#x: accepted", tc.wd)
		}
	}
}
