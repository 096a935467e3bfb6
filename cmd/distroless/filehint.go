package main

import (
	"fmt"
	"os"
	"strings"
)

// sortFiles sorts -f/--file's values: one that is shaped SRC:DEST (DEST
// an absolute path) and names no file is a host file to copy into the
// image, as --add-file's (gen only: elsewhere a usage error saying so);
// the one other value is the profile file.
func (pf *profileFlags) sortFiles(gen bool) error {
	pf.file, pf.hostFiles = "", nil
	for _, v := range pf.fileArgs {
		if !isHostFileSpec(v) {
			if pf.file != "" {
				return &usageError{fmt.Errorf("-f/--file %q and %q: one profile file (on gen, SRC:DEST copies a host file)", pf.file, v)}
			}
			pf.file = v
			continue
		}
		if !gen {
			return &usageError{fmt.Errorf("-f/--file %q: -f names a profile file, and there is no such file; copying a host file into the image (SRC:DEST) is gen's", v)}
		}
		pf.hostFiles = append(pf.hostFiles, v)
	}
	return nil
}

// isHostFileSpec reports whether v reads as SRC:DEST, DEST an absolute
// path, and is not itself the name of a file.
func isHostFileSpec(v string) bool {
	i := strings.LastIndexByte(v, ':')
	if i <= 0 || !strings.HasPrefix(v[i+1:], "/") {
		return false
	}
	_, err := os.Lstat(v)
	return err != nil
}
