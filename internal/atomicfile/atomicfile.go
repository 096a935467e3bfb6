// Package atomicfile writes a file whole or not at all: into a temporary
// file next to it, which is renamed over it once complete. A reader sees
// the old file or the new one, never part of one; a failed or interrupted
// write leaves the old file as it was (and, at worst, a temporary file
// whose name says what it is, for cache pruning to remove).
package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
)

// Options says how a file is written.
type Options struct {
	// Pattern names the temporary file, as os.CreateTemp's pattern does
	// (its "*" is replaced by a random string); ".tmp-*" if empty.
	Pattern string
	// MkdirAll creates the file's directory (mode 0755) if need be.
	MkdirAll bool
	// Sync flushes the file to disk before it is renamed into place.
	Sync bool
}

// File is a file being written: an open temporary file that Commit
// renames into place and Abort removes.
type File struct {
	*os.File
	dst  string
	sync bool
	done bool
}

// Create starts writing dst.
func Create(dst string, o Options) (*File, error) {
	dir := filepath.Dir(dst)
	if o.MkdirAll {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	pattern := o.Pattern
	if pattern == "" {
		pattern = ".tmp-*"
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &File{File: f, dst: dst, sync: o.Sync}, nil
}

// Commit makes the file mode 0644, flushes it if asked to, closes it and
// renames it over dst. If any of that fails, the temporary file is
// removed and dst left as it was. Commit after Commit or Abort fails.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: " + f.dst + " already committed or aborted")
	}
	f.done = true
	err := f.Chmod(0o644)
	if err == nil && f.sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.dst)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Abort closes and removes the temporary file, leaving dst as it was. It
// does nothing after Commit or Abort.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// Write writes dst with what fill writes; if fill fails, dst is left as
// it was and fill's error returned. fill is given the temporary file, an
// *os.File (for a writer that goes back to fill in a header, WriteAt).
func Write(dst string, o Options, fill func(io.Writer) error) error {
	f, err := Create(dst, o)
	if err != nil {
		return err
	}
	if err := fill(f.File); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}

// WriteFile writes data to dst.
func WriteFile(dst string, data []byte, o Options) error {
	return Write(dst, o, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
