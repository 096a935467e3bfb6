package rpm

import (
	"bufio"
	"compress/bzip2"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/xi2/xz"
)

// openCompressed reads a metadata file compressed as kind (gz, xz, zst,
// bz2, or "" for none).
func openCompressed(r io.Reader, kind string) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 256<<10)
	switch kind {
	case "":
		return br, func() {}, nil
	case "gz":
		gr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return gr, func() { gr.Close() }, nil
	case "xz":
		xr, err := xz.NewReader(br, 0)
		if err != nil {
			return nil, nil, err
		}
		return xr, func() {}, nil
	case "zst":
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<31))
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	case "bz2":
		return bzip2.NewReader(br), func() {}, nil
	}
	return nil, nil, fmt.Errorf("unsupported compression %q", kind)
}
