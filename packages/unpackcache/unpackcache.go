package unpackcache

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/distroless-dev/distroless/internal/atomicfile"
	"github.com/distroless-dev/distroless/packages/decompress"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// Key returns the hex SHA-256 of an open package file (computed once per
// process for each version of the file; the download cache verifying the
// file computes the same).
func Key(f *os.File) (string, error) { return fetch.FileSHA256(f) }

// Every entry ends with a seal: a zstd skippable frame (which zstd
// readers pass over) of sealMagic, the key of the package the entry was
// made from, and the SHA-256 of the entry's bytes before the seal. A read
// checks the seal before it uses anything, so an entry that was damaged,
// cut, or replaced (by another package's entry too) is never used: it is
// removed, with a warning, and the package is decoded again.
const (
	sealMagic = "DLUNPK01"
	sealData  = len(sealMagic) + 2*sha256.Size
	sealLen   = 8 + sealData
	skippable = 0x184D2A5D // a zstd skippable frame's magic
)

func seal(key string, sum []byte) ([]byte, error) {
	k, err := hex.DecodeString(key)
	if err != nil || len(k) != sha256.Size {
		return nil, fmt.Errorf("bad key %q", key)
	}
	b := binary.LittleEndian.AppendUint32(nil, skippable)
	b = binary.LittleEndian.AppendUint32(b, uint32(sealData))
	b = append(b, sealMagic...)
	b = append(b, k...)
	return append(b, sum...), nil
}

// unseal checks an entry's seal against key and returns its bytes before
// the seal, or why it cannot be used ("" with nil data: an entry written
// before entries were sealed, rebuilt without a warning).
func unseal(data []byte, key string) ([]byte, string) {
	if len(data) < sealLen || binary.LittleEndian.Uint32(data[len(data)-sealLen:]) != skippable ||
		!bytes.Equal(data[len(data)-sealData:len(data)-sealData+len(sealMagic)], []byte(sealMagic)) {
		if bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}) || bytes.HasSuffix(data, make([]byte, 1024)) {
			return nil, "" // an unsealed entry of an older version
		}
		return nil, "no seal"
	}
	body, s := data[:len(data)-sealLen], data[len(data)-sealData+len(sealMagic):]
	if got := hex.EncodeToString(s[:sha256.Size]); got != key {
		return nil, "it was made from package " + got + ", not " + key
	}
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], s[sha256.Size:]) {
		return nil, "its content does not match its digest"
	}
	return body, ""
}

// unsealFile is unseal for an entry read from its file: the body is
// hashed as it is read, in pieces, and returned as a reader of the file.
func unsealFile(f *os.File, key string) (*io.SectionReader, string) {
	st, err := f.Stat()
	if err != nil {
		return nil, err.Error()
	}
	size := st.Size()
	// The seal (or, for an entry of an older version, its last 1 KiB)
	// and the first bytes decide what it is.
	head := make([]byte, min(size, 4))
	tail := make([]byte, min(size, 1024))
	if _, err := f.ReadAt(head, 0); err != nil {
		return nil, err.Error()
	}
	if _, err := f.ReadAt(tail, size-int64(len(tail))); err != nil {
		return nil, err.Error()
	}
	if len(tail) < sealLen {
		_, why := unseal(append(head[:len(head):len(head)], tail...), key)
		return nil, why
	}
	sealed := tail[len(tail)-sealLen:]
	if binary.LittleEndian.Uint32(sealed) != skippable || !bytes.Equal(sealed[8:8+len(sealMagic)], []byte(sealMagic)) {
		if bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}) || bytes.Equal(tail, make([]byte, 1024)) {
			return nil, "" // an unsealed entry of an older version
		}
		return nil, "no seal"
	}
	sd := sealed[8+len(sealMagic):]
	if got := hex.EncodeToString(sd[:sha256.Size]); got != key {
		return nil, "it was made from package " + got + ", not " + key
	}
	body := io.NewSectionReader(f, 0, size-int64(sealLen))
	h := sha256.New()
	if _, err := io.Copy(h, body); err != nil {
		return nil, err.Error()
	}
	if !bytes.Equal(h.Sum(nil), sd[sha256.Size:]) {
		return nil, "its content does not match its digest"
	}
	return io.NewSectionReader(f, 0, size-int64(sealLen)), ""
}

func reject(path, why string, warn func(string)) {
	os.Remove(path)
	if why != "" && warn != nil {
		warn(fmt.Sprintf("unpack cache entry %s was damaged (%s): removed, decoding the package again", path, why))
	}
}

// Walk calls fn for every entry of the cache entry at path, made from the
// package whose Key is key, in order; the reader is valid until fn
// returns. done is false when there is no usable entry (and nothing was
// passed to fn), so the caller reads the package itself; an entry whose
// seal does not hold is removed then, and reported to warn (which may be
// nil). An entry found damaged after fn was called (which a good seal
// rules out but for a bug) is removed and reported as an error. An error
// from fn stops the walk and is returned as is.
//
// The entry is read from the file, never mapped into memory: a build's
// memory does not grow with the size of its packages.
func Walk(path, key string, warn func(string), fn func(h *tar.Header, r io.Reader) error) (done bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, nil
	}
	defer f.Close()
	body, why := unsealFile(f, key)
	if body == nil {
		reject(path, why, warn)
		return false, nil
	}
	zr, err := decompress.Open(body, decompress.Zstd)
	if err != nil {
		reject(path, err.Error(), warn)
		return false, nil
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for called := false; ; called = true {
		h, err := tr.Next()
		if err != nil && err != io.EOF && !called {
			// Damaged before anything was passed on: read the package.
			reject(path, err.Error(), warn)
			return false, nil
		}
		if err == io.EOF {
			// Read to the end of the file so the zstd frame's checksum
			// is verified and nothing follows it.
			if err := zr.Finish(); err != nil {
				os.Remove(path)
				return true, damaged(path, err)
			}
			return true, nil
		}
		if err != nil {
			os.Remove(path)
			return true, damaged(path, err)
		}
		if err := fn(h, tr); err != nil {
			return true, err
		}
	}
}

// ReadFile returns the bytes of a small entry written by WriteFile for the
// package whose Key is key, or nil when there is none usable (one whose
// seal does not hold is removed and reported to warn).
func ReadFile(path, key string, warn func(string)) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	body, why := unseal(data, key)
	if body == nil {
		reject(path, why, warn)
	}
	return body
}

// WriteFile writes a small entry, sealed, through a temporary file and a
// rename. Failures only cost speed later and are returned for what they
// are worth.
func WriteFile(dst, key string, b []byte) error {
	sum := sha256.Sum256(b)
	s, err := seal(key, sum[:])
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(dst, append(b[:len(b):len(b)], s...), atomicfile.Options{MkdirAll: true, Sync: true})
}

func damaged(path string, err error) error {
	return fmt.Errorf("unpack cache entry %s is damaged (removed; run again): %w", filepath.Base(path), err)
}

// Writer writes one cache entry: the bytes of an uncompressed tar stream,
// compressed into a temporary file that Commit renames into place and
// Abort removes. Its errors are kept, never returned by Write: a broken
// cache only costs speed, so it must not fail the walk that feeds it.
//
// The compressing is off the walk's path: Write copies the bytes into a
// buffer, and full buffers (writeBuf bytes, at most writeQueue of them
// waiting) are compressed by a goroutine of the Writer's own. The file is
// not flushed to disk before its rename: an entry cut short by a crash
// fails its seal and is made again.
type Writer struct {
	f    *atomicfile.File
	zw   *zstd.Encoder
	sum  hash.Hash
	key  string
	err  error // the goroutine's, read once it ended
	done bool

	buf     []byte
	queue   chan []byte
	stopped chan struct{}
}

const (
	writeBuf   = 256 << 10
	writeQueue = 4
)

// Create starts the entry dst for the package whose Key is key, creating
// its directory if need be. The temporary file is ".tmp-*" plus dst's
// extensions (".tar.zst" for "<hex>.tar.zst"), next to dst.
func Create(dst, key string) (*Writer, error) {
	if _, err := seal(key, nil); err != nil {
		return nil, err
	}
	ext := ""
	if i := strings.IndexByte(filepath.Base(dst), '.'); i >= 0 {
		ext = filepath.Base(dst)[i:]
	}
	f, err := atomicfile.Create(dst, atomicfile.Options{Pattern: ".tmp-*" + ext, MkdirAll: true})
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	zw, ok := encoders.Get().(*zstd.Encoder)
	if ok {
		zw.Reset(io.MultiWriter(f, sum))
	} else {
		zw, err = zstd.NewWriter(io.MultiWriter(f, sum), zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
		if err != nil {
			f.Abort()
			return nil, err
		}
	}
	w := &Writer{f: f, zw: zw, sum: sum, key: key,
		queue: make(chan []byte, writeQueue), stopped: make(chan struct{})}
	go w.compress()
	return w, nil
}

// compress compresses the queued buffers until the queue is closed; after
// an error it only drains the queue.
func (w *Writer) compress() {
	defer close(w.stopped)
	for b := range w.queue {
		if w.err == nil {
			_, w.err = w.zw.Write(b)
		}
		b = b[:0]
		writeBufs.Put(&b)
	}
}

// Write compresses b into the entry. It never fails; an error is kept and
// the entry is then not committed.
func (w *Writer) Write(b []byte) (int, error) {
	n := len(b)
	if w.done {
		return n, nil
	}
	for len(b) > 0 {
		if w.buf == nil {
			w.buf = *writeBufs.Get().(*[]byte)
		}
		k := copy(w.buf[len(w.buf):cap(w.buf)], b)
		w.buf, b = w.buf[:len(w.buf)+k], b[k:]
		if len(w.buf) == cap(w.buf) {
			w.queue <- w.buf
			w.buf = nil
		}
	}
	return n, nil
}

// finish hands the last buffer to the goroutine and waits for it.
func (w *Writer) finish() {
	if len(w.buf) > 0 {
		w.queue <- w.buf
	}
	w.buf = nil
	close(w.queue)
	<-w.stopped
}

// encoders and writeBufs keep the encoders and the buffers (empty, of cap
// writeBuf) of the Writers for the next: a build writes an entry for each
// of its packages, and a fresh encoder allocates its history and tables
// anew (a reset one encodes exactly as a new one does).
var (
	encoders  sync.Pool // *zstd.Encoder
	writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, writeBuf); return &b }}
)

// release closes the encoder (after an error too) and keeps it for the
// next Writer.
func (w *Writer) release() error {
	err := w.zw.Close()
	encoders.Put(w.zw)
	w.zw = nil
	return err
}

// Commit completes the entry and renames it into place, or removes the
// temporary file if anything failed (the error is returned, for what it
// is worth). After Commit or Abort it does nothing.
func (w *Writer) Commit() error {
	if w.done {
		return w.err
	}
	w.done = true
	w.finish()
	if err := w.release(); w.err == nil {
		w.err = err
	}
	if w.err == nil {
		var s []byte
		if s, w.err = seal(w.key, w.sum.Sum(nil)); w.err == nil {
			_, w.err = w.f.Write(s)
		}
	}
	if w.err == nil {
		w.err = w.f.Commit()
	} else {
		w.f.Abort()
	}
	return w.err
}

// Abort removes the temporary file. After Commit or Abort it does nothing.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.finish()
	w.release()
	w.f.Abort()
}

// has reports whether dir holds the entry for the package file, named
// <Key>+ext (ext as ".tar.zst"). An error opening file is returned as is,
// one reading it is prefixed with its name.
func has(file, dir, ext string) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	key, err := Key(f)
	f.Close()
	if err != nil {
		return false, fmt.Errorf("%s: %w", file, err)
	}
	_, err = os.Stat(filepath.Join(dir, key+ext))
	return err == nil, nil
}

// PrepareMax bounds the payload Prepare decodes ahead of a build: a
// package whose files come to more (far more than any package of the
// built-in images: the whole java25 image has 283 MB of files) is left
// to the build, which decodes it when it reads it, under its own size
// limits.
const PrepareMax = 1 << 30

var errPrepareMax = errors.New("payload larger than PrepareMax")

// Prepare makes dir's entry for the package file, named <Key>+ext, unless
// it is there already, by walking the file with the format's walk (which
// writes the entry as it decodes) and a function that reads nothing. It
// gives up, caching nothing and returning nil, once the entries' sizes
// come to more than PrepareMax. It is the Prepare of every format's
// payload; with no dir it does nothing.
func Prepare(file, dir, ext string, walk func(file string, fn func(h *tar.Header, r io.Reader) error) error) error {
	if dir == "" {
		return nil
	}
	if ok, err := has(file, dir, ext); ok || err != nil {
		return err
	}
	var total int64
	err := walk(file, func(h *tar.Header, _ io.Reader) error {
		if total += max(h.Size, 0); total > PrepareMax || h.Size > PrepareMax {
			return errPrepareMax
		}
		return nil
	})
	if errors.Is(err, errPrepareMax) {
		return nil
	}
	return err
}
