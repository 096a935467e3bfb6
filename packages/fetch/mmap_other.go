//go:build !unix

package fetch

import "os"

// MapFile reads a cache file into memory (no mapping here); unmap does
// nothing.
func MapFile(path string) (data []byte, unmap func(), err error) {
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return data, func() {}, nil
}
