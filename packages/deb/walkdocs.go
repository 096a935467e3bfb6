package deb

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
)

// What a walk saw of the docs, for Describe. Describe reads a package's
// data up to /usr/share/doc/NAME/copyright, which for most packages means
// decoding most of it; a build walks every package it places whole
// anyway. So each complete walk of a .deb records, for every
// /usr/share/doc/X, the first of its copyright file (the bytes) or
// symlink (the target) in archive order, and Describe of the same file
// (the same path, size, modification time and inode) takes its answer
// from there, once, instead of walking the data again.

// docSeen is the first doc entry of one directory: a copyright file or
// a symlink.
type docSeen struct {
	link      string // a symlink's target
	copyright []byte // a copyright file's bytes (nil when larger than maxCopyright)
	isLink    bool
}

// fileID names one version of a file.
type fileID struct {
	path       string
	size, mod  int64
	ino, devno uint64
}

func idOf(file string) (fileID, bool) {
	st, err := os.Stat(file)
	if err != nil {
		return fileID{}, false
	}
	return idOfInfo(file, st), true
}

func idOfInfo(file string, st os.FileInfo) fileID {
	id := fileID{path: file, size: st.Size(), mod: st.ModTime().UnixNano()}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		id.ino, id.devno = uint64(s.Ino), uint64(s.Dev)
	}
	return id
}

// walkedDocs holds the docs of the complete walks not yet described;
// walkedBytes counts their copyright bytes, which stay under
// maxWalkedDocs (past it, walks record nothing and Describe reads the
// package).
var (
	walkedMu    sync.Mutex
	walkedDocs  = map[fileID]map[string]docSeen{}
	walkedBytes int64
)

const maxWalkedDocs = 32 << 20

// docRecorder wraps a walk's fn to record the docs it passes.
type docRecorder struct {
	seen  map[string]docSeen
	bytes int64
}

func newDocRecorder() *docRecorder { return &docRecorder{seen: map[string]docSeen{}} }

func (d *docRecorder) wrap(fn func(*tar.Header, io.Reader) error) func(*tar.Header, io.Reader) error {
	return func(h *tar.Header, r io.Reader) error {
		n := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if rest, ok := strings.CutPrefix(n, "usr/share/doc/"); ok {
			switch {
			case h.Typeflag == tar.TypeSymlink && !strings.Contains(rest, "/"):
				if _, had := d.seen[rest]; !had {
					d.seen[rest] = docSeen{link: h.Linkname, isLink: true}
				}
			case h.Typeflag == tar.TypeReg && strings.HasSuffix(rest, "/copyright") && strings.Count(rest, "/") == 1:
				dir := strings.TrimSuffix(rest, "/copyright")
				if _, had := d.seen[dir]; !had {
					data, err := io.ReadAll(io.LimitReader(r, maxCopyright+1))
					if err != nil {
						return err
					}
					s := docSeen{}
					if len(data) <= maxCopyright {
						s.copyright = data
						d.bytes += int64(len(data))
					}
					d.seen[dir] = s
					// fn reads the file as it is.
					r = io.MultiReader(bytes.NewReader(data), r)
				}
			}
		}
		return fn(h, r)
	}
}

// walkDocs records a complete walk's docs for file.
func walkDocs(id fileID, d *docRecorder) {
	walkedMu.Lock()
	defer walkedMu.Unlock()
	if old, ok := walkedDocs[id]; ok {
		walkedBytes -= docBytes(old)
	}
	if walkedBytes+d.bytes > maxWalkedDocs {
		delete(walkedDocs, id)
		return
	}
	walkedDocs[id] = d.seen
	walkedBytes += d.bytes
}

func docBytes(m map[string]docSeen) int64 {
	var n int64
	for _, s := range m {
		n += int64(len(s.copyright))
	}
	return n
}

// takeDocs returns (and forgets) what a complete walk of file saw.
func takeDocs(file string) (map[string]docSeen, bool) {
	id, ok := idOf(file)
	if !ok {
		return nil, false
	}
	walkedMu.Lock()
	defer walkedMu.Unlock()
	m, ok := walkedDocs[id]
	if ok {
		delete(walkedDocs, id)
		walkedBytes -= docBytes(m)
	}
	return m, ok
}
