package fetch

import (
	"os"
	"syscall"
	"time"
)

// inode is a file's inode number and status change time, which every
// write, rename or chmod of it sets and no user program can set back.
func inode(st os.FileInfo) (uint64, int64) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino, time.Unix(s.Ctim.Sec, s.Ctim.Nsec).UnixNano()
	}
	return 0, 0
}

// atime is a file's access time (its modification time where unknown).
func atime(st os.FileInfo) time.Time {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return time.Unix(s.Atim.Sec, s.Atim.Nsec)
	}
	return st.ModTime()
}
