package unpackcache

import (
	"archive/tar"
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestWriterPieces: an entry written in pieces of every size, across the
// compressing goroutine's buffers, holds the stream's bytes in order; an
// entry aborted after many buffers leaves nothing behind.
func TestWriterPieces(t *testing.T) {
	dir := t.TempDir()
	var stream bytes.Buffer
	tw := tar.NewWriter(&stream)
	rng := rand.New(rand.NewPCG(1, 2))
	var want [][]byte
	for i := range 20 {
		b := make([]byte, rng.IntN(3*writeBuf))
		for j := range b {
			b[j] = byte(rng.IntN(16))
		}
		want = append(want, b)
		tw.WriteHeader(&tar.Header{Name: string(rune('a' + i)), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write(b)
	}
	tw.Close()
	dst := filepath.Join(dir, keyA+".tar.zst")
	w, err := Create(dst, keyA)
	if err != nil {
		t.Fatal(err)
	}
	for rest := stream.Bytes(); len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(2*writeBuf))
		if k, err := w.Write(rest[:n]); k != n || err != nil {
			t.Fatalf("Write: %d, %v", k, err)
		}
		rest = rest[n:]
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	i := 0
	done, err := Walk(dst, keyA, nil, func(h *tar.Header, r io.Reader) error {
		b, _ := io.ReadAll(r)
		if i >= len(want) || !bytes.Equal(b, want[i]) {
			t.Errorf("entry %s: %d bytes, not what was written", h.Name, len(b))
		}
		i++
		return nil
	})
	if !done || err != nil || i != len(want) {
		t.Fatalf("Walk: %v, %v, %d of %d entries", done, err, i, len(want))
	}

	other := filepath.Join(dir, keyB+".tar.zst")
	w, err = Create(other, keyB)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(stream.Bytes())
	w.Abort()
	w.Write([]byte("after")) // does nothing
	if err := w.Commit(); err != nil {
		t.Errorf("Commit after Abort: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != filepath.Base(dst) {
		t.Errorf("dir holds %v, want only %s", ents, filepath.Base(dst))
	}
}
