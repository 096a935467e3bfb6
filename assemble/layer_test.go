package assemble

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/compress/flate"
)

// mixedData is part text, part noise, part zeros: what layers hold.
func mixedData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	words := strings.Fields("the quick brown fox jumps over the lazy dog import os sys def class return None True False")
	for b.Len() < n {
		switch r.IntN(3) {
		case 0:
			for range 200 {
				b.WriteString(words[r.IntN(len(words))] + " ")
			}
		case 1:
			chunk := make([]byte, 1+r.IntN(4096))
			for i := range chunk {
				chunk[i] = byte(r.Uint32())
			}
			b.Write(chunk)
		default:
			b.Write(make([]byte, r.IntN(8192)))
		}
	}
	return b.Bytes()[:n]
}

// streamOf splits data into a stream of odd-sized writes.
func streamOf(data []byte) *stream {
	st := &stream{}
	for i := 0; i < len(data); {
		n := min(len(data)-i, 1+(i*7919)%5000)
		if n > 3000 {
			st.expect = data[i : i+n]
		}
		st.Write(data[i : i+n])
		i += n
	}
	return st
}

func TestStream(t *testing.T) {
	data := mixedData(3*chunkSize+12345, 1)
	st := streamOf(data)
	if st.size != int64(len(data)) {
		t.Fatalf("size %d, want %d", st.size, len(data))
	}
	var got bytes.Buffer
	st.each(0, st.size, func(b []byte) error { got.Write(b); return nil })
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatal("each(0, size) differs from the input")
	}
	for _, r := range [][2]int64{{0, 1}, {1000, 70000}, {chunkSize - 5, chunkSize + 5}, {st.size - 10, st.size}} {
		buf := make([]byte, r[1]-r[0])
		st.readAt(buf, r[0])
		if !bytes.Equal(buf, data[r[0]:r[1]]) {
			t.Errorf("readAt %v differs", r)
		}
		got.Reset()
		st.each(r[0], r[1], func(b []byte) error { got.Write(b); return nil })
		if !bytes.Equal(got.Bytes(), data[r[0]:r[1]]) {
			t.Errorf("each %v differs", r)
		}
	}
}

func TestCompressLayers(t *testing.T) {
	inputs := [][]byte{mixedData(1024, 2), mixedData(chunkSize, 3), mixedData(5*chunkSize+777, 4)}
	var streams []*stream
	for _, in := range inputs {
		streams = append(streams, streamOf(in))
	}
	layers, err := compressLayersWith(context.Background(), newSpool(t.TempDir()), streams, Gzip, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := compressLayersWith(context.Background(), newSpool(t.TempDir()), streams[2:], Gzip, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		rc, _ := l.Compressed()
		gz, _ := io.ReadAll(rc)
		// Readable by the standard library, as one gzip member.
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		out, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		if !bytes.Equal(out, inputs[i]) {
			t.Errorf("layer %d: round trip differs", i)
		}
		if zr.Header.ModTime.Unix() > 0 || zr.Header.Name != "" {
			t.Errorf("layer %d: gzip header %+v", i, zr.Header)
		}
		sum := sha256.Sum256(inputs[i])
		if l.diffID.Hex != hex.EncodeToString(sum[:]) {
			t.Errorf("layer %d: diffID", i)
		}
		sum = sha256.Sum256(gz)
		if l.digest.Hex != hex.EncodeToString(sum[:]) || l.size != int64(len(gz)) {
			t.Errorf("layer %d: digest or size", i)
		}
		u, _ := l.Uncompressed()
		ub, _ := io.ReadAll(u)
		if !bytes.Equal(ub, inputs[i]) {
			t.Errorf("layer %d: Uncompressed differs", i)
		}
	}
	if again[0].digest != layers[2].digest {
		t.Error("compressing alone gave other bytes than compressing with others")
	}
}

// TestDeflateReuse holds klauspost/compress to what the parallel gzip
// relies on: a writer reset with a dictionary encodes exactly as a new
// writer with that dictionary, whatever it compressed before.
func TestDeflateReuse(t *testing.T) {
	data := mixedData(4*chunkSize, 5)
	chunk := func(c int) ([]byte, []byte) {
		start := c * chunkSize
		return data[max(0, start-dictSize):start], data[start : start+chunkSize]
	}
	fresh := map[int][]byte{}
	for c := range 4 {
		dict, in := chunk(c)
		var out bytes.Buffer
		w, _ := flate.NewWriterDict(&out, gzipLevel, dict)
		w.Write(in)
		w.Flush()
		fresh[c] = out.Bytes()
	}
	for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1, 1, 2}} {
		var w *flate.Writer
		for _, c := range order {
			dict, in := chunk(c)
			var out bytes.Buffer
			if err := deflateChunk(&w, &out, dict); err != nil {
				t.Fatal(err)
			}
			w.Write(in)
			w.Flush()
			if !bytes.Equal(out.Bytes(), fresh[c]) {
				t.Fatalf("order %v: chunk %d differs from a fresh writer's", order, c)
			}
		}
	}
}

// BenchmarkBuild builds an image from a synthetic root filesystem of about
// 40 MB in four layers (a few thousand files, text and binary), the size
// of a Python image.
func BenchmarkBuild(b *testing.B) {
	f := newFixture()
	var layers []Layer
	total := 0
	for li, spec := range []struct {
		name        string
		pkgs, files int
		size        int
	}{
		{"static", 4, 400, 2 << 10},
		{"base", 3, 40, 150 << 10},
		{"cc", 2, 10, 250 << 10},
		{"python", 20, 100, 8 << 10},
	} {
		l := Layer{Name: spec.name}
		for p := range spec.pkgs {
			var entries []fakeEntry
			for i := range spec.files {
				n := spec.size/2 + (i*7919)%spec.size
				entries = append(entries, regBytes(fmt.Sprintf("./usr/lib/%s/p%d/f%d", spec.name, p, i), 0o644, mixedData(n, uint64(li*100000+p*1000+i))))
				total += n
			}
			entries = append(entries, reg(fmt.Sprintf("./usr/share/doc/%s-%d/copyright", spec.name, p), 0o644, "license"))
			l.Packages = append(l.Packages, f.pkg(fmt.Sprintf("%s-%d", spec.name, p), entries...))
		}
		layers = append(layers, l)
	}
	s := f.spec(layers...)
	b.SetBytes(int64(total))
	b.ResetTimer()
	for range b.N {
		if _, _, err := Build(context.Background(), s); err != nil {
			b.Fatal(err)
		}
	}
}
