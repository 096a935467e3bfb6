package assemble

import (
	"fmt"
	"os"
	"syscall"
)

// OpenHostFile opens a regular file HostFiles listed (File.Source) for
// reading, as it is now: a path swapped for a symlink since the walk is
// not followed (O_NOFOLLOW), one swapped for a FIFO does not block the
// open (O_NONBLOCK, which regular files ignore), and anything but a
// regular file is refused, naming the path.
func OpenHostFile(p string) (*os.File, error) {
	r, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot be read: %w", p, err)
	}
	st, err := r.Stat()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if !st.Mode().IsRegular() {
		r.Close()
		return nil, fmt.Errorf("%s: no longer a regular file (%v)", p, st.Mode().Type())
	}
	return r, nil
}
