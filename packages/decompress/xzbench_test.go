package decompress

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/therootcompany/xz"
	xi2xz "github.com/xi2/xz"
	debar "pault.ag/go/debian/deb"
)

// BenchmarkXZDebs decodes the data.tar.xz member of real .deb files
// (DISTROLESS_BENCH_DEBS: paths separated by spaces; scripts/bench.sh sets
// it to the libnode and openjdk-21-jre-headless packages of its cache)
// with each decoder: github.com/xi2/xz (the decoder used before),
// github.com/therootcompany/xz (its maintained fork, used now) serially,
// Open (which decodes dpkg's multi-block streams a few blocks at once),
// and xz(1) -T1 and -T0 for reference.
//
//	DISTROLESS_BENCH_DEBS="a.deb b.deb" go test -run '^$' -bench XZDebs -benchtime 3x ./packages/decompress/
func BenchmarkXZDebs(b *testing.B) {
	files := strings.Fields(os.Getenv("DISTROLESS_BENCH_DEBS"))
	if len(files) == 0 {
		b.Skip("set DISTROLESS_BENCH_DEBS to .deb files with an xz data member")
	}
	for _, file := range files {
		data := dataMember(b, file)
		size := decodedSize(b, data)
		// pool names (libnode115_…) or cache blobs (a sha256).
		name := strings.SplitN(filepath.Base(file), "_", 2)[0]
		if len(name) > 12 {
			name = name[:12]
		}
		run := func(dec string, fn func() (int64, error)) {
			b.Run(name+"/"+dec, func(b *testing.B) {
				b.SetBytes(size)
				for b.Loop() {
					n, err := fn()
					if err != nil || n != size {
						b.Fatalf("%d bytes, %v; want %d", n, err, size)
					}
				}
			})
		}
		run("xi2", func() (int64, error) {
			r, err := xi2xz.NewReader(bytes.NewReader(data), 0)
			if err != nil {
				return 0, err
			}
			return io.Copy(io.Discard, r)
		})
		run("therootcompany", func() (int64, error) {
			r, err := xz.NewReader(bytes.NewReader(data), 0)
			if err != nil {
				return 0, err
			}
			return io.Copy(io.Discard, r)
		})
		run("Open", func() (int64, error) {
			z, err := Open(io.NewSectionReader(bytes.NewReader(data), 0, int64(len(data))), XZ)
			if err != nil {
				return 0, err
			}
			defer z.Close()
			return io.Copy(io.Discard, z)
		})
		for _, threads := range []string{"-T1", "-T0"} {
			run("xz"+threads, func() (int64, error) {
				cmd := exec.Command("xz", "-dc", threads)
				cmd.Stdin = bytes.NewReader(data)
				out, err := cmd.StdoutPipe()
				if err != nil {
					return 0, err
				}
				if err := cmd.Start(); err != nil {
					return 0, err
				}
				n, err := io.Copy(io.Discard, out)
				if werr := cmd.Wait(); err == nil {
					err = werr
				}
				return n, err
			})
		}
	}
}

func dataMember(b *testing.B, file string) []byte {
	f, err := os.Open(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	ar, err := debar.LoadAr(f)
	if err != nil {
		b.Fatalf("%s: %v", file, err)
	}
	for {
		e, err := ar.Next()
		if err != nil {
			b.Fatalf("%s: no data.tar.xz member (%v)", file, err)
		}
		if e.Name == "data.tar.xz" {
			data, err := io.ReadAll(e.Data)
			if err != nil {
				b.Fatal(err)
			}
			return data
		}
	}
}

func decodedSize(b *testing.B, data []byte) int64 {
	r, err := xz.NewReader(bytes.NewReader(data), 0)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
