package assemble

import (
	"os"

	"golang.org/x/sys/unix"
)

// scratchDir is where the root filesystem the interpreter runs in is
// written (bytecode.go): $TMPDIR when it is set; otherwise /tmp, or
// /dev/shm when /tmp is not a tmpfs and /dev/shm is one that may hold
// programs (not noexec) with room for need bytes twice over. Creating a
// few thousand files on a disk's file system costs a cold build up to
// half a second of system time (journalled metadata), on a tmpfs a
// twentieth of that; the files live for the compile only and are
// removed after it. "" means the system's temporary directory.
func scratchDir(need int64) string {
	if os.Getenv("TMPDIR") != "" || isTmpfs(os.TempDir(), 0) {
		return ""
	}
	if isTmpfs("/dev/shm", 2*need+64<<20) {
		return "/dev/shm"
	}
	return ""
}

// isTmpfs says whether dir is a writable tmpfs, not mounted noexec,
// with at least room bytes free.
func isTmpfs(dir string, room int64) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	if st.Type != unix.TMPFS_MAGIC || st.Flags&(unix.ST_NOEXEC|unix.ST_RDONLY) != 0 {
		return false
	}
	if int64(st.Bavail)*int64(st.Bsize) < room {
		return false
	}
	return unix.Access(dir, unix.W_OK|unix.X_OK) == nil
}
