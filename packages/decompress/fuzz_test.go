package decompress

import (
	"bytes"
	"io"
	"testing"
)

var fuzzFormats = []Format{None, Gzip, XZ, Zstd, Bzip2}

// FuzzOpen: any input in any format decodes or fails with an error; it
// never panics, and a Reader that fails keeps failing.
//
//	go test -run '^$' -fuzz FuzzOpen ./packages/decompress/
func FuzzOpen(f *testing.F) {
	for _, s := range streams(f) {
		for i, ff := range fuzzFormats {
			if ff == s.format {
				f.Add(uint8(i), s.data)
				f.Add(uint8(i), s.data[:len(s.data)/3])
			}
		}
	}
	f.Add(uint8(1), []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add(uint8(2), []byte{0xfd, '7', 'z', 'X', 'Z', 0})
	f.Add(uint8(3), []byte{0x28, 0xb5, 0x2f, 0xfd})
	f.Add(uint8(4), []byte("BZh91AY&SY"))
	f.Fuzz(func(t *testing.T, fi uint8, data []byte) {
		format := fuzzFormats[int(fi)%len(fuzzFormats)]
		z, err := Open(bytes.NewReader(data), format)
		if err != nil {
			if z != nil {
				t.Fatal("Open returned a Reader and an error")
			}
			return
		}
		defer z.Close()
		_, err = io.Copy(io.Discard, io.LimitReader(z, 4<<20))
		if err != nil {
			if _, err2 := z.Read(make([]byte, 1)); err2 == nil || err2 == io.EOF {
				t.Fatalf("error %v, then %v", err, err2)
			}
		}
		if format == None && (err != nil) {
			t.Fatalf("uncompressed input failed: %v", err)
		}
	})
}

// FuzzCorrupt: a stream whose format checks every byte, with any one
// byte changed, decodes to the original content or fails; it never
// yields different content without an error.
//
//	go test -run '^$' -fuzz FuzzCorrupt ./packages/decompress/
func FuzzCorrupt(f *testing.F) {
	all := streams(f)
	for i, s := range all {
		if !s.checksum {
			continue
		}
		n := uint32(len(s.data))
		for _, pos := range []uint32{0, 3, 6, 9, 12, n / 2, n - 20, n - 12, n - 8, n - 4, n - 1} {
			f.Add(uint8(i), pos, uint8(0xff))
			f.Add(uint8(i), pos, uint8(0x01))
		}
	}
	want := content()
	f.Fuzz(func(t *testing.T, si uint8, pos uint32, xor uint8) {
		s := all[int(si)%len(all)]
		if !s.checksum || xor == 0 {
			return
		}
		data := bytes.Clone(s.data)
		data[int(pos%uint32(len(data)))] ^= xor
		got, err := decode(data, s.format)
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("%s: byte %d ^ %#x: wrong content (%d bytes) without an error", s.name, pos%uint32(len(data)), xor, len(got))
		}
	})
}
