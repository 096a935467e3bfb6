package decompress

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkDecode decodes each test stream through Open (pooled
// decoders), to the end.
//
//	go test -run '^$' -bench . -benchmem ./packages/decompress/
func BenchmarkDecode(b *testing.B) {
	for _, s := range streams(b) {
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(content())))
			for b.Loop() {
				z, err := Open(bytes.NewReader(s.data), s.format)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, z); err != nil {
					b.Fatal(err)
				}
				z.Close()
			}
		})
	}
}
