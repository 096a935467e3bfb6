//go:build !unix

package publish

import "os"

// tryLock cannot lock where flock(2) does not exist: concurrent writers
// of one layout are not serialised there.
func tryLock(*os.File) (busy bool, err error) { return false, nil }

// openDir opens the directory dir for reading, to lock it.
func openDir(dir string) (*os.File, error) { return os.Open(dir) }
