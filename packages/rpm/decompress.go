package rpm

import (
	"fmt"

	"github.com/distroless-dev/distroless/packages/decompress"
)

// metadataFormat is the format of a metadata file compressed as kind (gz,
// xz, zst, bz2, or "" for none), as repomd.go names them.
func metadataFormat(kind string) (decompress.Format, error) {
	if kind == "" {
		return decompress.None, nil
	}
	if f, ok := decompress.FromExt("." + kind); ok {
		return f, nil
	}
	return "", fmt.Errorf("unsupported compression %q", kind)
}

// payloadFormat is the format of a payload by the header's compressor tag
// (none means gzip, rpm's historical default).
func payloadFormat(comp string) (decompress.Format, error) {
	switch comp {
	case "", "gzip":
		return decompress.Gzip, nil
	case "xz":
		return decompress.XZ, nil
	case "zstd":
		return decompress.Zstd, nil
	case "bzip2":
		return decompress.Bzip2, nil
	}
	return "", fmt.Errorf("unsupported payload compressor %q", comp)
}
