package rpm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	crpm "github.com/cavaliergopher/rpm"
)

// Header tags this package reads (rpm's RPMTAG_*).
const (
	tagHeaderImmutable   = 63
	tagName              = 1000
	tagVersion           = 1001
	tagRelease           = 1002
	tagEpoch             = 1003
	tagArch              = 1022
	tagFileSizes         = 1028
	tagFileModes         = 1030
	tagFileMTimes        = 1034
	tagFileLinkTos       = 1036
	tagFileFlags         = 1037
	tagFileUserName      = 1039
	tagFileGroupName     = 1040
	tagDirIndexes        = 1116
	tagBaseNames         = 1117
	tagDirNames          = 1118
	tagPayloadFormat     = 1124
	tagPayloadCompressor = 1125
	tagLongFileSizes     = 5008
	tagPayloadDigest     = 5092
	tagPayloadDigestAlgo = 5093

	// Signature header tags (RPMSIGTAG_*).
	sigTagDSA    = 267
	sigTagRSA    = 268
	sigTagSHA256 = 273
)

// fileGhost is RPMFILE_GHOST: the file is the package's but not in its
// payload.
const fileGhost = 1 << 6

// Limits on what a package file may declare.
const (
	maxHeaderIndex = 1 << 20  // index entries of one header
	maxHeaderData  = 64 << 20 // bytes of one header's data store
	leadSize       = 96
)

// rpmHeaders is a package file's lead and headers: parsed (through
// github.com/cavaliergopher/rpm) and raw.
type rpmHeaders struct {
	pkg *crpm.Package
	// sig is the signature header, main the main header, each from its
	// magic to the end of its data store (main is what header signatures
	// sign; without its 8-byte magic it is rpmdb's blob).
	sig, main []byte
	// payload is the offset of the compressed payload.
	payload int64
}

var rpmLeadMagic = []byte{0xed, 0xab, 0xee, 0xdb}
var headerMagic = []byte{0x8e, 0xad, 0xe8, 0x01}

// readHeaders reads the lead, signature header and main header of the
// package file in r. Malformed input is an error, never a panic.
func readHeaders(r io.ReaderAt) (h *rpmHeaders, err error) {
	var lead [leadSize]byte
	if _, err := r.ReadAt(lead[:], 0); err != nil {
		return nil, fmt.Errorf("not an rpm package: %w", eofIsUnexpected(err))
	}
	if !bytes.Equal(lead[:4], rpmLeadMagic) {
		return nil, errors.New("not an rpm package (bad lead magic)")
	}
	if lead[4] != 3 && lead[4] != 4 {
		return nil, fmt.Errorf("unsupported rpm format version %d", lead[4])
	}
	if st := binary.BigEndian.Uint16(lead[78:80]); st != 5 {
		return nil, fmt.Errorf("unsupported signature type %d (want header-style signatures)", st)
	}
	sig, err := rawHeader(r, leadSize)
	if err != nil {
		return nil, fmt.Errorf("signature header: %w", err)
	}
	mainOff := int64(leadSize) + int64(len(sig))
	mainOff += (8 - mainOff%8) % 8
	main, err := rawHeader(r, mainOff)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	h = &rpmHeaders{sig: sig, main: main, payload: mainOff + int64(len(main))}
	// The library's parser indexes its input without every bounds check;
	// a header it cannot take is an error, not a crash.
	defer func() {
		if p := recover(); p != nil {
			h, err = nil, fmt.Errorf("malformed rpm header (%v)", p)
		}
	}()
	var whole bytes.Buffer
	whole.Grow(int(h.payload))
	whole.Write(lead[:])
	whole.Write(sig)
	whole.Write(make([]byte, mainOff-int64(leadSize)-int64(len(sig))))
	whole.Write(main)
	pkg, err := crpm.Read(&whole)
	if err != nil {
		return nil, fmt.Errorf("malformed rpm header: %w", err)
	}
	if whole.Len() != 0 {
		return nil, errors.New("malformed rpm header (sizes disagree)")
	}
	h.pkg = pkg
	if err := checkHeader(&pkg.Header); err != nil {
		return nil, err
	}
	return h, nil
}

// rawHeader reads the header structure at off: magic, index and store.
func rawHeader(r io.ReaderAt, off int64) ([]byte, error) {
	var intro [16]byte
	if _, err := r.ReadAt(intro[:], off); err != nil {
		return nil, eofIsUnexpected(err)
	}
	if !bytes.Equal(intro[:4], headerMagic) {
		return nil, errors.New("bad header magic")
	}
	il, dl := binary.BigEndian.Uint32(intro[8:12]), binary.BigEndian.Uint32(intro[12:16])
	if il == 0 || il > maxHeaderIndex || dl > maxHeaderData {
		return nil, fmt.Errorf("implausible header size (%d entries, %d bytes)", il, dl)
	}
	n := 16 + int64(il)*16 + int64(dl)
	if size, ok := sizeOf(r); ok && off+n > size {
		return nil, io.ErrUnexpectedEOF // do not allocate what the file cannot hold
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, off); err != nil {
		return nil, eofIsUnexpected(err)
	}
	return b, nil
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// checkHeader checks that the file tags agree in length, so that later
// reads index them safely.
func checkHeader(h *crpm.Header) error {
	names := h.GetTag(tagBaseNames).StringSlice()
	n := len(names)
	dirs := h.GetTag(tagDirNames).StringSlice()
	for _, idx := range h.GetTag(tagDirIndexes).Int64Slice() {
		if idx < 0 || idx >= int64(len(dirs)) {
			return fmt.Errorf("malformed rpm header: directory index %d out of range", idx)
		}
	}
	for _, t := range []int{tagDirIndexes, tagFileModes, tagFileFlags} {
		if got := len(h.GetTag(t).Int64Slice()); got != n {
			return fmt.Errorf("malformed rpm header: tag %d has %d entries for %d files", t, got, n)
		}
	}
	for _, t := range []int{tagFileUserName, tagFileGroupName, tagFileLinkTos} {
		if got := len(h.GetTag(t).StringSlice()); got != n && !(n == 0 && got == 0) {
			return fmt.Errorf("malformed rpm header: tag %d has %d entries for %d files", t, got, n)
		}
	}
	return nil
}

// headerFile is one file of a package as its header describes it.
type headerFile struct {
	size   int64 // -1 when the header gives none
	mode   int64 // st_mode: type and permission bits
	user   string
	group  string
	link   string
	flags  int64
	mtime  int64 // -1 when the header gives none
	unique bool
}

// files maps each path the header lists ("/usr/bin/x") to its entry.
func (h *rpmHeaders) files() map[string]*headerFile {
	hd := &h.pkg.Header
	names := hd.GetTag(tagBaseNames).StringSlice()
	dirs := hd.GetTag(tagDirNames).StringSlice()
	idx := hd.GetTag(tagDirIndexes).Int64Slice()
	modes := hd.GetTag(tagFileModes).Int64Slice()
	flags := hd.GetTag(tagFileFlags).Int64Slice()
	users := hd.GetTag(tagFileUserName).StringSlice()
	groups := hd.GetTag(tagFileGroupName).StringSlice()
	links := hd.GetTag(tagFileLinkTos).StringSlice()
	mtimes := hd.GetTag(tagFileMTimes).Int64Slice()
	sizes := hd.GetTag(tagLongFileSizes).Int64Slice()
	if len(sizes) != len(names) {
		sizes = hd.GetTag(tagFileSizes).Int64Slice()
	}
	out := make(map[string]*headerFile, len(names))
	for i, base := range names {
		f := &headerFile{mode: modes[i], flags: flags[i], user: "root", group: "root", size: -1, mtime: -1}
		if len(mtimes) == len(names) {
			f.mtime = int64(uint32(mtimes[i]))
		}
		if len(sizes) == len(names) {
			f.size = sizes[i]
		}
		if i < len(users) {
			f.user, f.group, f.link = users[i], groups[i], links[i]
		}
		out[dirs[idx[i]]+base] = f
	}
	return out
}

// nevra is name-[epoch:]version-release.arch of the header.
func (h *rpmHeaders) nevra() string {
	hd := &h.pkg.Header
	evr := EVR{Version: hd.GetTag(tagVersion).String(), Release: hd.GetTag(tagRelease).String()}
	if e := hd.GetTag(tagEpoch).Int64Slice(); len(e) > 0 {
		evr.Epoch = fmt.Sprint(e[0])
	}
	return hd.GetTag(tagName).String() + "-" + evr.String() + "." + hd.GetTag(tagArch).String()
}

// sizeOf returns the size of a file or in-memory reader.
func sizeOf(r io.ReaderAt) (int64, bool) {
	switch v := r.(type) {
	case interface{ Size() int64 }:
		return v.Size(), true
	case interface{ Stat() (os.FileInfo, error) }:
		if st, err := v.Stat(); err == nil {
			return st.Size(), true
		}
	}
	return 0, false
}
