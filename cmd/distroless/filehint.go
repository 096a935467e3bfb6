package main

import (
	"fmt"
	"os"
	"strings"
)

// hostFileHint refuses an -f/--file value shaped as --add-file's SRC:DEST
// (DEST an absolute path) that names no file: -f is the profile file, so
// say which flag copies a host file into the image.
func (pf *profileFlags) hostFileHint() error {
	i := strings.LastIndexByte(pf.file, ':')
	if i <= 0 || !strings.HasPrefix(pf.file[i+1:], "/") {
		return nil
	}
	if _, err := os.Lstat(pf.file); err == nil {
		return nil
	}
	return &usageError{fmt.Errorf("-f/--file %q: -f names a profile file, and there is no such file; to copy a file or directory of this host into the image, use --add-file SRC:DEST", pf.file)}
}
