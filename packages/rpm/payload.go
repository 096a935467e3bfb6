package rpm

import (
	"archive/tar"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/cavaliergopher/cpio"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/decompress"
	"github.com/distroless-dev/distroless/packages/unpackcache"
)

// Payload reads the file tree of a binary .rpm: its cpio (newc) payload,
// compressed with zstd, xz, gzip or bzip2, with each entry's mode
// and owner taken from the package header (the cpio copies are not what
// rpm installs). It implements packages.Payload and packages.Preparer;
// the zero value is ready to use and a Payload is safe for concurrent
// use.
//
// Entries are yielded as tar headers named "./usr/bin/x". Owners are
// numeric in an image: "root" is 0, and a user or group the image does
// not define is also 0 (rpm does the same when the name is unknown).
// %ghost files are not in the payload and are not yielded. Hard links
// come as rpm writes them (one name of a set has the content, the others
// are empty); Walk yields the content first and the other names as tar
// hard links to it. Device nodes and FIFOs are yielded as they are (the assembler drops
// them).
//
// Each entry's mtime is the header's (FILEMTIMES), else the cpio's.
//
// With CacheDir set, Walk keeps each package's converted entries there as
// a fast zstd tar (<CacheDir>/<sha256 of the .rpm>.rpm2.tar.zst), written
// through a temporary file and a rename (packages/unpackcache, which
// packages/deb uses too).
type Payload struct {
	CacheDir string
	// Keyring, when set, must hold a key that made a valid signature of
	// each package's header (RSA or DSA header signature), and the
	// payload must have the digest the signed header gives; both are
	// checked on every Walk, before the unpack cache is used. Set it
	// when the repository metadata is not signed.
	Keyring openpgp.EntityList
	// DBPath is where PackageDB writes the rpm database
	// ("/usr/lib/sysimage/rpm" when empty).
	DBPath string
	// Created is the install time written into the rpm database.
	Created time.Time
	// Warn, when set, is told of a cache entry found damaged (and
	// rebuilt).
	Warn func(string)
}

// WithWarn returns the payload reader with Warn set.
func (p Payload) WithWarn(warn func(string)) packages.Payload {
	p.Warn = warn
	return p
}

var _ packages.Payload = Payload{}
var _ packages.Preparer = Payload{}

// cacheExt names unpack cache entries. Its version changes whenever what
// an entry holds does: "rpm2" entries carry the packages' mtimes, the
// older "rpm" ones had none (and are not read).
const cacheExt = ".rpm2.tar.zst"

// maxEntrySize bounds one payload file (the newc format's own limit).
const maxEntrySize = 1<<32 - 1

// Walk calls fn for every entry of the package's payload, in archive
// order (hard links reordered as described). The reader is valid until
// fn returns; an error from fn stops the walk and is returned as is.
func (p Payload) Walk(file string, fn func(h *tar.Header, r io.Reader) error) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var hd *rpmHeaders
	if p.Keyring != nil {
		// Signature and payload digest first: a cache entry is the same
		// bytes' conversion, but the bytes must be accepted by this keyring.
		if hd, err = readHeaders(f); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if err := verifyPackage(f, hd, p.Keyring); err != nil {
			return fmt.Errorf("%s (%s): %w", file, hd.nevra(), err)
		}
	}
	var cached string
	if p.CacheDir != "" {
		key, err := unpackcache.Key(f)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		cached = filepath.Join(p.CacheDir, key+cacheExt)
		if done, err := unpackcache.Walk(cached, key, p.Warn, fn); done {
			return err
		}
	}
	if hd == nil {
		if hd, err = readHeaders(f); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	}
	var save *cacheWriter
	if cached != "" {
		// A cache that cannot be written only costs speed.
		if save, err = newCacheWriter(cached, filepath.Base(cached)[:64]); err == nil {
			defer save.abort()
		}
	}
	emit := fn
	if save != nil {
		emit = func(h *tar.Header, r io.Reader) error {
			if h.Typeflag == tar.TypeReg && h.Size > 0 {
				data, err := io.ReadAll(io.LimitReader(r, h.Size))
				if err != nil {
					return err
				}
				save.add(h, data)
				return fn(h, bytes.NewReader(data))
			}
			save.add(h, nil)
			return fn(h, r)
		}
	}
	// Without a keyring the payload digest was not checked above; it is
	// checked while the payload is decoded, as rpm -K would.
	var digest *payloadDigest
	if p.Keyring == nil {
		if digest, err = headerPayloadDigest(hd); err != nil {
			return fmt.Errorf("%s (%s): %w", file, hd.nevra(), err)
		}
	}
	if err := walkPayload(f, hd, digest, emit); err != nil {
		var fe *fnError
		if errors.As(err, &fe) {
			return fe.err
		}
		return fmt.Errorf("%s (%s): %w", file, hd.nevra(), err)
	}
	if save != nil {
		save.commit()
	}
	return nil
}

// verifyPackage checks the header signature against keyring and the
// compressed payload against the digest the signed header gives.
func verifyPackage(f *os.File, hd *rpmHeaders, keyring openpgp.EntityList) error {
	digest, err := verifyHeader(hd, keyring)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if _, err := io.Copy(digest.h, io.NewSectionReader(f, hd.payload, st.Size()-hd.payload)); err != nil {
		return err
	}
	if got := hex.EncodeToString(digest.h.Sum(nil)); got != digest.want {
		return fmt.Errorf("payload digest mismatch: the signed header says %s, the payload is %s", digest.want, got)
	}
	return nil
}

// Prepare converts the package into CacheDir unless it is there already,
// so that a later Walk reads the fast copy (which still checks the
// package's signature when Keyring is set). Without CacheDir it does
// nothing.
func (p Payload) Prepare(file string) error {
	return unpackcache.Prepare(file, p.CacheDir, cacheExt, p.Walk)
}

// fnError marks an error returned by the caller's function, passed on as
// it is.
type fnError struct{ err error }

func (e *fnError) Error() string { return e.err.Error() }

// pendingLink is a hard link name seen before the entry with the content.
type pendingLink struct {
	name string
	hdr  *tar.Header
}

// walkPayload decompresses and reads the cpio payload at hd.payload,
// checking it against digest too when that is not nil.
func walkPayload(f *os.File, hd *rpmHeaders, digest *payloadDigest, fn func(h *tar.Header, r io.Reader) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed payload (%v)", p)
		}
	}()
	h := &hd.pkg.Header
	if pf := h.GetTag(tagPayloadFormat).String(); pf != "" && pf != "cpio" {
		return fmt.Errorf("unsupported payload format %q", pf)
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var raw io.Reader = io.NewSectionReader(f, hd.payload, st.Size()-hd.payload)
	if digest != nil {
		raw = io.TeeReader(raw, digest.h)
	}
	comp := h.GetTag(tagPayloadCompressor).String()
	format, err := payloadFormat(comp)
	if err != nil {
		return err
	}
	dr, err := decompress.Open(raw, format)
	if err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	defer dr.Close()
	// An error of fn that is the stream's (fn read the damaged payload)
	// is the package's, not fn's.
	fnErr := func(err error) error {
		if derr := dr.Err(); derr != nil && errors.Is(err, derr) {
			return fmt.Errorf("payload: %w", err)
		}
		return &fnError{err}
	}

	files := hd.files()
	cr := cpio.NewReader(dr)
	type linkSet struct {
		seen    int
		content string // the member that had the content
		pending []pendingLink
	}
	sets := map[int64]*linkSet{}
	for {
		ch, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, cpio.ErrHeader) {
				return fmt.Errorf("payload: bad cpio header (only the newc format is supported)")
			}
			return fmt.Errorf("payload: %w", eofIsUnexpected(err))
		}
		if ch.Size < 0 || ch.Size > maxEntrySize || ch.Links < 0 {
			return fmt.Errorf("payload: entry %q: bad size or link count", ch.Name)
		}
		name := "/" + strings.TrimPrefix(strings.TrimPrefix(ch.Name, "."), "/")
		hf := files[path.Clean(name)]
		if hf == nil {
			return fmt.Errorf("payload: entry %q is not in the package header", ch.Name)
		}
		if hf.flags&fileGhost != 0 {
			return fmt.Errorf("payload: entry %q is a %%ghost file", ch.Name)
		}
		th := &tar.Header{
			Name:    "." + path.Clean(name),
			Mode:    hf.mode & 0o7777,
			Uid:     ownerID(hf.user),
			Gid:     ownerID(hf.group),
			Uname:   hf.user,
			Gname:   hf.group,
			ModTime: ch.ModTime,
			Format:  tar.FormatPAX,
		}
		if hf.mtime >= 0 {
			// The header's time is what rpm installs (and what it checks).
			th.ModTime = time.Unix(hf.mtime, 0)
		}
		switch hf.mode & cpio.ModeType {
		case cpio.TypeReg:
			th.Typeflag = tar.TypeReg
			th.Size = ch.Size
			// Members of a hard link set but one are empty in the payload.
			if hf.size >= 0 && ch.Size != hf.size && !(ch.Links > 1 && ch.Size == 0) {
				return fmt.Errorf("payload: entry %q has %d bytes, the header says %d", ch.Name, ch.Size, hf.size)
			}
		case cpio.TypeDir:
			th.Typeflag = tar.TypeDir
		case cpio.TypeSymlink:
			th.Typeflag = tar.TypeSymlink
			th.Linkname = hf.link
			if th.Linkname == "" {
				th.Linkname = ch.Linkname
			}
		case cpio.TypeChar:
			th.Typeflag = tar.TypeChar
		case cpio.TypeBlock:
			th.Typeflag = tar.TypeBlock
		case cpio.TypeFifo:
			th.Typeflag = tar.TypeFifo
		default:
			return fmt.Errorf("payload: entry %q: unsupported file type %#o", ch.Name, hf.mode&cpio.ModeType)
		}
		if uint32(ch.Mode)&cpio.ModeType != uint32(hf.mode)&cpio.ModeType {
			return fmt.Errorf("payload: entry %q: its type in the payload (%#o) is not the header's (%#o)", ch.Name, ch.Mode&cpio.ModeType, hf.mode&cpio.ModeType)
		}
		if th.Typeflag != tar.TypeReg || ch.Links <= 1 {
			if err := fn(th, cr); err != nil {
				return fnErr(err)
			}
			continue
		}
		// A hard link set: one member has the content (which one depends
		// on the rpm that wrote it), the others are empty. The content is
		// yielded first, the other names as links to it.
		set := sets[ch.Inode]
		if set == nil {
			set = &linkSet{}
			sets[ch.Inode] = set
		}
		set.seen++
		switch {
		case set.content != "":
			lh := *th
			lh.Typeflag, lh.Size, lh.Linkname = tar.TypeLink, 0, set.content
			if err := fn(&lh, strings.NewReader("")); err != nil {
				return fnErr(err)
			}
		case ch.Size == 0 && set.seen < ch.Links:
			set.pending = append(set.pending, pendingLink{th.Name, th})
		default:
			// The content (or the last member of an all-empty set).
			if err := fn(th, cr); err != nil {
				return fnErr(err)
			}
			set.content = th.Name
			for _, pl := range set.pending {
				lh := *pl.hdr
				lh.Typeflag, lh.Size, lh.Linkname = tar.TypeLink, 0, th.Name
				if err := fn(&lh, strings.NewReader("")); err != nil {
					return fnErr(err)
				}
			}
			set.pending = nil
		}
	}
	// The cpio reader stops at its trailer entry: read on to the end of
	// the file, which checks the compressor's trailer and that nothing
	// follows it.
	if err := dr.Finish(); err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	if digest != nil {
		if got := hex.EncodeToString(digest.h.Sum(nil)); got != digest.want {
			return fmt.Errorf("payload digest mismatch: the header says %s, the payload is %s", digest.want, got)
		}
	}
	// Sets whose content member never came (a partial hard link set):
	// the first name is an empty file, the others link to it.
	for _, set := range sets {
		if len(set.pending) == 0 {
			continue
		}
		first := *set.pending[0].hdr
		if err := fn(&first, strings.NewReader("")); err != nil {
			return fnErr(err)
		}
		for _, pl := range set.pending[1:] {
			lh := *pl.hdr
			lh.Typeflag, lh.Linkname = tar.TypeLink, first.Name
			if err := fn(&lh, strings.NewReader("")); err != nil {
				return fnErr(err)
			}
		}
	}
	return nil
}

// ownerID maps a user or group name of a package header to the numeric
// ID an image uses.
func ownerID(name string) int {
	switch name {
	case "nobody":
		return 65534
	}
	return 0
}

// payloadDigest is the digest a signed header gives for the compressed
// payload, and the hash that computes it.
type payloadDigest struct {
	want string
	h    hash.Hash
}
