package deb

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	debar "pault.ag/go/debian/deb"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/decompress"
	"github.com/distroless-dev/distroless/packages/unpackcache"
)

// Payload reads the file tree of a binary .deb: the data.tar member of
// its ar archive, compressed with xz, zstd, gzip or bzip2, or not at all.
// It implements packages.Payload. The zero value is ready to use; a
// Payload is safe for concurrent use.
//
// Members are read through packages/decompress, to the end: past the
// tar's end-of-archive marker to the compressor's trailer, whose checks
// must pass, with nothing after the stream in the member. A damaged
// member is an error naming the file and the member, and nothing of it
// is cached.
//
// Decompressing xz is by far the slowest step of building an image, so
// with CacheDir set Walk keeps each package's data archive there,
// recompressed with fast zstd, under the SHA-256 of the .deb
// (<CacheDir>/<hex>.tar.zst), and later walks of the same .deb read that
// instead. Entries are written to a temporary file and renamed into place
// once complete, so several processes may share the directory; each
// entry is sealed with the .deb's digest and its own, checked before use,
// and an entry that fails is removed (reported to Warn) and rebuilt.
// fetch.Prune evicts entries. The cache itself is packages/unpackcache,
// shared with packages/rpm.
type Payload struct {
	CacheDir string
	// Warn, when set, is told of a cache entry found damaged (and
	// rebuilt).
	Warn func(string)
}

// WithWarn returns the payload reader with Warn set.
func (p Payload) WithWarn(warn func(string)) packages.Payload {
	p.Warn = warn
	return p
}

// payloadMaxMembers bounds the ar members a .deb may have; real ones have
// three (debian-binary, control.tar.*, data.tar.*), a few tools add some.
const payloadMaxMembers = 64

// payloadMaxControl bounds a control-archive member read into memory.
const payloadMaxControl = 64 << 20

// Walk calls fn for every entry of the package's data archive, in archive
// order. The names are as the package has them ("./usr/bin/x"); the
// reader is valid until fn returns. An error from fn stops the walk and is
// returned as is.
//
// A complete walk also records the package's docs for Describe
// (walkdocs.go).
func (p Payload) Walk(file string, fn func(h *tar.Header, r io.Reader) error) error {
	return p.walk(file, fn, true)
}

func (p Payload) walk(file string, fn func(h *tar.Header, r io.Reader) error, record bool) (err error) {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if record {
		if st, serr := f.Stat(); serr == nil {
			rec := newDocRecorder()
			fn = rec.wrap(fn)
			defer func() {
				if err == nil {
					walkDocs(idOfInfo(file, st), rec)
				}
			}()
		}
	}
	var cached string
	if p.CacheDir != "" {
		key, err := unpackcache.Key(f)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		cached = filepath.Join(p.CacheDir, key+".tar.zst")
		if done, err := unpackcache.Walk(cached, key, p.Warn, fn); done {
			return err
		}
	}
	m, err := payloadMember(f, "data.tar")
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	zr, err := payloadDecompress(m)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", file, m.Name, err)
	}
	defer zr.Close()
	var r io.Reader = zr
	var save *unpackcache.Writer
	if cached != "" {
		// A cache that cannot be written only costs speed.
		if save, err = unpackcache.Create(cached, filepath.Base(cached)[:64]); err == nil {
			defer save.Abort()
			r = io.TeeReader(r, save)
		}
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %s: %w", file, m.Name, err)
		}
		if err := fn(h, tr); err != nil {
			if zerr := zr.Err(); zerr != nil && errors.Is(err, zerr) {
				// fn read the damaged stream: say whose it is.
				return fmt.Errorf("%s: %s: %w", file, m.Name, err)
			}
			return err
		}
	}
	// The tar reader stops at the end-of-archive marker: read on to the
	// end of the member, which checks the compressor's trailer, and keep
	// the archive's trailing padding in the cache entry too.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("%s: %s: %w", file, m.Name, err)
	}
	if save != nil {
		save.Commit()
	}
	return nil
}

// Prepare decodes the package's data archive into CacheDir unless it is
// there already, so that a later Walk reads the fast copy. (gen does not
// need it: its build walks each .deb as its download completes, which
// fills the cache as it decodes.) Without CacheDir it does nothing.
func (p Payload) Prepare(file string) error {
	return unpackcache.Prepare(file, p.CacheDir, ".tar.zst", p.Walk)
}

// ControlFile returns one member of the package's control archive, e.g.
// "control", "md5sums", "conffiles". A member the package does not have
// gives an error wrapping fs.ErrNotExist. With CacheDir set the control
// archive is kept there uncompressed (<CacheDir>/<hex>.control.tar).
func (p Payload) ControlFile(file, name string) ([]byte, error) {
	m, err := p.controlFiles(file, name)
	if err != nil {
		return nil, err
	}
	return controlMember(m, file, name)
}

// controlMember is the member name of file's control archive, from
// controlFiles' m; one the package does not have is an error wrapping
// fs.ErrNotExist.
func controlMember(m map[string][]byte, file, name string) ([]byte, error) {
	b, ok := m[name]
	if !ok {
		return nil, fmt.Errorf("%s: control member %s: %w", file, name, fs.ErrNotExist)
	}
	return b, nil
}

// controlFiles returns the members names of the package's control
// archive that it has, read once, as ControlFile reads each.
func (p Payload) controlFiles(file string, names ...string) (map[string][]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ctl []byte
	var cached, key string
	if p.CacheDir != "" {
		if key, err = unpackcache.Key(f); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		cached = filepath.Join(p.CacheDir, key+".control.tar")
		if b, ok := controlMemo.Load(memoKey(cached, key)); ok {
			return controlMembers(file, b.([]byte), names, nil)
		}
		ctl = unpackcache.ReadFile(cached, key, p.Warn)
	}
	fromCache := ctl != nil
	if !fromCache {
		m, err := payloadMember(f, "control.tar")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		zr, err := payloadDecompress(m)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", file, m.Name, err)
		}
		// Read to the end (not only to the tar's end marker), so that
		// the compressor's trailer is checked.
		ctl, err = io.ReadAll(io.LimitReader(zr, payloadMaxControl+1))
		zr.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", file, m.Name, err)
		}
		if len(ctl) > payloadMaxControl {
			return nil, fmt.Errorf("%s: %s: larger than %d bytes", file, m.Name, payloadMaxControl)
		}
	}
	out, err := controlMembers(file, ctl, names, func() {
		if fromCache {
			os.Remove(cached)
		}
	})
	if err != nil {
		return nil, err
	}
	if cached != "" && !fromCache {
		_ = unpackcache.WriteFile(cached, key, ctl) // a cache that cannot be written only costs speed
	}
	if mk := memoKey(cached, key); mk != "" && controlMemoSize.Add(int64(len(ctl))) <= controlMemoMax {
		controlMemo.Store(mk, ctl)
	}
	return out, nil
}

// memoKey is the key of a cached control archive in controlMemo: the
// SHA-256 of its package and the cache file's identity (a file replaced
// since is read, and checked, again); "" when there is no cache file.
func memoKey(cached, key string) string {
	if cached == "" {
		return ""
	}
	st, err := os.Stat(cached)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s %d %d", key, st.Size(), st.ModTime().UnixNano())
}

// controlMemo keeps the control archives this process read and checked
// from the cache (or wrote there), by memoKey, up to controlMemoMax bytes
// in all: the package database of every layer names the packages of the
// layers below it again.
var (
	controlMemo     sync.Map
	controlMemoSize atomic.Int64
)

const controlMemoMax = 64 << 20

// controlMembers finds names in the control archive ctl (those it has);
// a damaged archive calls damaged (when set) before it fails.
func controlMembers(file string, ctl []byte, names []string, damaged func()) (map[string][]byte, error) {
	out := make(map[string][]byte, len(names))
	for _, name := range names {
		b, err := payloadControlMember(ctl, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			if damaged != nil {
				damaged()
			}
			return nil, fmt.Errorf("%s: control archive: %w", file, err)
		}
		out[name] = b
	}
	return out, nil
}

// payloadControlMember finds a regular file in an uncompressed tar.
func payloadControlMember(ctl []byte, name string) ([]byte, error) {
	tr := tar.NewReader(bytes.NewReader(ctl))
	want := path.Clean(name)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fs.ErrNotExist
		}
		if err != nil {
			return nil, err
		}
		if path.Clean(strings.TrimPrefix(h.Name, "/")) != want || h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size < 0 || h.Size > payloadMaxControl {
			return nil, fmt.Errorf("member %s: size %d out of range", name, h.Size)
		}
		return io.ReadAll(tr)
	}
}

// payloadMember finds the ar member whose name starts with prefix
// ("data.tar", "control.tar") after checking the debian-binary member.
func payloadMember(r io.ReaderAt, prefix string) (*debar.ArEntry, error) {
	ar, err := debar.LoadAr(r)
	if err != nil {
		return nil, fmt.Errorf("not a .deb (ar) archive: %w", err)
	}
	sawVersion := false
	for i := 0; ; i++ {
		if i >= payloadMaxMembers {
			return nil, errors.New("too many ar members")
		}
		e, err := ar.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading ar archive: %w", err)
		}
		if e.Size < 0 {
			return nil, fmt.Errorf("ar member %q has a negative size", e.Name)
		}
		if i == 0 {
			if e.Name != "debian-binary" {
				return nil, fmt.Errorf("first ar member is %q, not debian-binary", e.Name)
			}
			v := make([]byte, min(e.Size, 16))
			if _, err := io.ReadFull(e.Data, v); err != nil {
				return nil, fmt.Errorf("reading debian-binary: %w", err)
			}
			if !bytes.HasPrefix(v, []byte("2.")) {
				return nil, fmt.Errorf("unsupported .deb format version %q", strings.TrimSpace(string(v)))
			}
			sawVersion = true
			continue
		}
		if e.Name == prefix || strings.HasPrefix(e.Name, prefix+".") {
			return e, nil
		}
	}
	if !sawVersion {
		return nil, errors.New("no debian-binary member")
	}
	return nil, fmt.Errorf("no %s member", prefix)
}

// payloadDecompress opens an ar member, decompressing it by its name's
// extension (none for ".tar"). The reader checks the stream's integrity
// and that it fills the member; Close releases it.
func payloadDecompress(m *debar.ArEntry) (*decompress.Reader, error) {
	ext := path.Ext(m.Name)
	f, ok := decompress.FromExt(ext)
	if !ok && ext != ".tar" {
		return nil, fmt.Errorf("unsupported compression %q", ext)
	}
	return decompress.Open(m.Data, f)
}
