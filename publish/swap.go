package publish

import (
	"os"
	"path/filepath"
)

// swapByRename replaces directory b with a by moving b aside, a into
// place and removing the old b; should the second rename fail, b is
// moved back.
func swapByRename(a, b string) error {
	aside, err := os.MkdirTemp(filepath.Dir(b), "."+filepath.Base(b)+".old-*")
	if err != nil {
		return err
	}
	os.Remove(aside)
	if err := os.Rename(b, aside); err != nil {
		return err
	}
	if err := os.Rename(a, b); err != nil {
		if rerr := os.Rename(aside, b); rerr != nil {
			return &os.LinkError{Op: "rename", Old: a, New: b, Err: err}
		}
		return err
	}
	return os.RemoveAll(aside)
}
