package bigbuf

import "golang.org/x/sys/unix"

// Make returns a zeroed buffer of n bytes and the function that frees it;
// nothing may use the buffer (or a slice of it) after free. When the
// memory cannot be mapped the buffer is an ordinary slice and free does
// nothing.
func Make(n int) (buf []byte, free func()) {
	if n < minSize {
		return make([]byte, n), func() {}
	}
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return make([]byte, n), func() {}
	}
	// Advice only: without transparent huge pages the mapping works as
	// one of small pages.
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	return b, func() { _ = unix.Munmap(b) }
}
