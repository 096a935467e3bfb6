//go:build unix

package fetch

import (
	"fmt"
	"os"
	"syscall"
)

// MapFile maps a cache file read-only; unmap releases it (data must not
// be used after). Where mapping fails, or off unix, the file is read into
// memory instead and unmap does nothing. The cache replaces files only by
// rename, never in place, so the mapping stays valid.
func MapFile(path string) (data []byte, unmap func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if size == 0 {
		return []byte{}, func() {}, nil
	}
	if size != int64(int(size)) {
		return nil, nil, fmt.Errorf("%s: too large to map", path)
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		// Fall back to reading it.
		data, err = os.ReadFile(path)
		if err != nil {
			return nil, nil, err
		}
		return data, func() {}, nil
	}
	return data, func() { syscall.Munmap(data) }, nil
}
