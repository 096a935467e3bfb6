//go:build !linux

package fetch

import (
	"os"
	"time"
)

func inode(os.FileInfo) (uint64, int64) { return 0, 0 }

func atime(st os.FileInfo) time.Time { return st.ModTime() }
