package publish

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// swapDirs puts directory a at b's place and b at a's in one atomic step
// (renameat2 RENAME_EXCHANGE), then removes a (the old b). Where the
// kernel or file system cannot exchange, it falls back to two renames.
func swapDirs(a, b string) error {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	if err == nil {
		os.RemoveAll(a) // the old b; the caller retries on failure
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EOPNOTSUPP) {
		return &os.LinkError{Op: "renameat2", Old: a, New: b, Err: err}
	}
	return swapByRename(a, b)
}
