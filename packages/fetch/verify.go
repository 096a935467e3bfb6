package fetch

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Temporary files: every cache entry is written to one of these next to
// it and renamed into place. A killed process leaves them behind; they
// are removed once older than StaleTemp (by the first cache use of a
// process, and by Prune).
const (
	tempPrefix = ".partial-"
	// StaleTemp is the age after which a temporary file in the cache is
	// taken for the leftover of a killed process: no write takes that
	// long.
	StaleTemp = time.Hour
)

// isTemp reports whether a file name in the cache is a temporary file
// (of this package, ".partial-*", or of packages/unpackcache, ".tmp-*").
func isTemp(name string) bool {
	return strings.HasPrefix(name, tempPrefix) || strings.HasPrefix(name, ".tmp-")
}

// fileID identifies one version of a file: a file replaced by rename
// or rewritten has another.
type fileID struct {
	path         string
	size         int64
	mtime, ctime int64
	ino          uint64
}

func idOf(path string, st os.FileInfo) fileID {
	ino, ctime := inode(st)
	return fileID{path: path, size: st.Size(), mtime: st.ModTime().UnixNano(), ctime: ctime, ino: ino}
}

// digests memoises file digests by fileID, so that a process hashes each
// file once however many times it is verified or keyed.
var digests sync.Map // fileID -> string

// FileSHA256 returns the hex SHA-256 of an open file's content, computed
// once per process for each version of the file.
func FileSHA256(f *os.File) (string, error) {
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	id := idOf(f.Name(), st)
	if d, ok := digests.Load(id); ok {
		return d.(string), nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, st.Size())); err != nil {
		return "", err
	}
	d := hex.EncodeToString(h.Sum(nil))
	digests.Store(id, d)
	return d, nil
}

// remember records the digest of a file this process just wrote and
// verified, so that its first use does not hash it again.
func (c *Cache) remember(path, h string) {
	if st, err := os.Stat(path); err == nil {
		digests.Store(idOf(path, st), h)
	}
}

// checkBlob verifies the cached blob at p against digest h and size
// (negative: any). ok means present and good; bad, when not empty, says
// what is wrong with a present file. A good blob's access time is set to
// now, which Prune reads as its last use.
func (c *Cache) checkBlob(p, h string, size int64) (ok bool, bad string) {
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, ""
		}
		return false, err.Error()
	}
	defer f.Close()
	st, err := f.Stat()
	if err == nil && touch(p, st) {
		st, err = f.Stat() // the status change time moved
	}
	switch {
	case err != nil:
		return false, err.Error()
	case !st.Mode().IsRegular():
		return false, "not a regular file"
	case size >= 0 && st.Size() != size:
		return false, fmt.Sprintf("size %d, want %d", st.Size(), size)
	}
	got, err := FileSHA256(f)
	if err != nil {
		return false, err.Error()
	}
	if got != h {
		return false, "its content has sha256 " + got
	}
	return true, ""
}

// touch sets a file's access time to now, keeping its modification time
// (Prune reads the later of the two as the last use), unless it was set
// in the last minute; it reports whether it did. A read-only cache is
// fine.
func touch(p string, st os.FileInfo) bool {
	if now := time.Now(); now.Sub(atime(st)) > time.Minute {
		return os.Chtimes(p, now, st.ModTime()) == nil
	}
	return false
}

// evict removes a damaged entry and says so on Log, with what happens
// next.
func (c *Cache) evict(p, why, next string) {
	os.RemoveAll(p)
	c.logf("warning: cache entry %s was damaged (%s): removed, %s", p, why, next)
}

// evictBlob removes a damaged blob, unless another goroutine or process
// has put a good one in its place since it was checked.
func (c *Cache) evictBlob(p, h, why, next string) {
	if ok, _ := c.checkBlob(p, h, -1); ok {
		return
	}
	c.evict(p, why, next)
}

// Warn writes a warning to Log (for the users of the cache that find
// damage in their own entries).
func (c *Cache) Warn(msg string) { c.logf("warning: %s", msg) }

// swept holds the cache directories this process has swept.
var swept sync.Map

// sweep removes, once per process and directory, the temporary files
// killed processes left in the cache.
func (c *Cache) sweep() {
	c.sweepOnce.Do(func() {
		if _, done := swept.LoadOrStore(c.Dir, true); !done {
			sweepTemp(c.Dir, StaleTemp)
		}
	})
}

// sweepTemp removes the temporary files under dir older than age and
// returns how many it removed. Younger ones may be another process's
// writes in progress and are kept.
func sweepTemp(dir string, age time.Duration) int {
	n := 0
	now := time.Now()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isTemp(d.Name()) {
			return nil
		}
		if st, err := d.Info(); err == nil && now.Sub(st.ModTime()) > age {
			if os.Remove(p) == nil {
				n++
			}
		}
		return nil
	})
	return n
}

// Named entries are stored with a header: namedMagic, the SHA-256 of the
// data, then the data. A read checks it; an entry that fails is removed
// (with a warning, unless it predates the header) and reported missing,
// so the caller fetches or rebuilds it.
const namedMagic = "DLNAMED1"

const namedHeader = len(namedMagic) + sha256.Size

// NamedPath is the file that holds the entry stored under key. It may
// not exist; its content is the entry with a header (use Get or MapNamed).
func (c *Cache) NamedPath(key string) string { return c.namedPath(key) }

func (c *Cache) namedPath(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.Dir, namedDir, hex.EncodeToString(sum[:]))
}

func (c *Cache) missing(key string) error {
	return fmt.Errorf("%q is not in the cache %s: %w", key, c.Dir, fs.ErrNotExist)
}

// unseal checks a named entry's header and returns its data.
func (c *Cache) unseal(key, p string, raw []byte) ([]byte, error) {
	if !bytes.HasPrefix(raw, []byte(namedMagic)) || len(raw) < namedHeader {
		// Written before entries had a digest, or cut: rebuild quietly
		// if it is the former, say so if it looks like ours.
		os.Remove(p)
		if bytes.HasPrefix(raw, []byte(namedMagic[:4])) {
			c.logf("warning: cache entry %s (%s) was damaged (short header): removed", p, key)
		}
		return nil, c.missing(key)
	}
	data := raw[namedHeader:]
	if sum := sha256.Sum256(data); !bytes.Equal(sum[:], raw[len(namedMagic):namedHeader]) {
		c.evict(p, key+": its content does not match its digest", "making it again")
		return nil, c.missing(key)
	}
	return data, nil
}

// Get returns the entry stored under key by Put, verified. A missing (or
// damaged, hence removed) entry is an error that wraps fs.ErrNotExist.
func (c *Cache) Get(key string) ([]byte, error) {
	data, _, err := c.GetTime(key)
	return data, err
}

// GetTime is Get, also returning when the entry was stored.
func (c *Cache) GetTime(key string) ([]byte, time.Time, error) {
	c.sweep()
	p := c.namedPath(key)
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, time.Time{}, c.missing(key)
		}
		return nil, time.Time{}, fmt.Errorf("cache: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("cache: %w", err)
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("cache: %w", err)
	}
	data, err := c.unseal(key, p, raw)
	if err != nil {
		return nil, time.Time{}, err
	}
	touch(p, st)
	return data, st.ModTime(), nil
}

// MapNamed is Get for a large entry: the data is mapped, not read (see
// MapFile), and verified; unmap releases it.
func (c *Cache) MapNamed(key string) (data []byte, unmap func(), err error) {
	c.sweep()
	p := c.namedPath(key)
	raw, unmap, err := MapFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, c.missing(key)
		}
		return nil, nil, fmt.Errorf("cache: %w", err)
	}
	data, err = c.unseal(key, p, raw)
	if err != nil {
		unmap()
		return nil, nil, err
	}
	if st, err := os.Stat(p); err == nil {
		touch(p, st)
	}
	return data, unmap, nil
}

// Put stores data under key (any string, e.g. a URL), replacing what was
// there, atomically, with its digest.
func (c *Cache) Put(key string, data []byte) error {
	c.sweep()
	sum := sha256.Sum256(data)
	return writeAtomic(c.namedPath(key), func(w io.Writer) error {
		if _, err := io.WriteString(w, namedMagic); err != nil {
			return err
		}
		if _, err := w.Write(sum[:]); err != nil {
			return err
		}
		_, err := w.Write(data)
		return err
	})
}
