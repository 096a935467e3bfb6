package unpackcache

import (
	"archive/tar"
	"bufio"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// An older reader (a plain zstd decoder to EOF, then tar) reads a sealed
// entry: the seal is a skippable frame.
func TestSealedEntryReadsAsPlainZstd(t *testing.T) {
	dst := filepath.Join(t.TempDir(), keyA+".tar.zst")
	w, _ := Create(dst, keyA)
	w.Write(tarOf(t, "./a", "./b"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(dst)
	defer f.Close()
	zr, err := zstd.NewReader(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	n := 0
	for {
		_, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if _, err := io.Copy(io.Discard, zr); err != nil || n != 2 {
		t.Fatalf("%d entries, %v", n, err)
	}
}
