package deb

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"

	"github.com/distroless-dev/distroless/packages/fetch"
)

// A warm open does not hash a whole Packages file (some 60 MB for trixie's
// main, most of a warm resolve's time) to check it against the digest its
// signed InRelease lists. Its sidecar holds the SHA-256 of every stanza,
// taken from the bytes that were verified in full when the sidecar was
// built, and each stanza is checked against it before it is parsed: every
// byte the index uses is checked; the stanzas it never reads are not.
// The sidecar itself is a named cache entry, checked against its own
// digest when read, under a key naming the file's signed digest.
//
// A stanza that does not match means the cached file was damaged: it is
// removed (so that the next run fetches it anew), the stanza is left out
// and the index reports the damage (Damaged), which fails the resolution
// that used it rather than give a closure without the stanza.

// openLazy maps the cached Packages file of j without hashing it, when
// its sidecar is in the cache and sound; ok false leaves the ordinary path
// (hash, then map) to the caller.
func openLazy(c *fetch.Cache, j *fileJob, pf *pkgFile, sideKey string) (release func(), ok bool) {
	side, unmapSide, err := c.MapNamed(sideKey)
	if err != nil {
		return nil, false
	}
	sc, err := parseSidecar(side, j.unpacked.SHA256, j.unpacked.Size)
	if err != nil {
		unmapSide()
		return nil, false
	}
	p, ok := c.BlobUnhashed(j.unpacked.SHA256, j.unpacked.Size)
	if !ok {
		unmapSide()
		return nil, false
	}
	data, unmap, err := fetch.MapFile(p)
	if err != nil || int64(len(data)) != j.unpacked.Size {
		if err == nil {
			unmap()
		}
		unmapSide()
		return nil, false
	}
	offline := c.Offline
	pf.data, pf.sc, pf.lazy, pf.blob = data, sc, true, p
	pf.evict = func() {
		if !offline {
			os.Remove(p)
		}
	}
	return func() { unmap(); unmapSide() }, true
}

// checkStanza checks stanza st of f (at off, length bytes) against its
// digest, when f was opened lazily. ix.mu is held.
func (ix *Index) checkStanza(f *pkgFile, st int, off, length uint32) error {
	if !f.lazy {
		return nil
	}
	sum := sha256.Sum256(f.data[off : off+length])
	if bytes.Equal(sum[:], f.sc.digests[st*digestSize:(st+1)*digestSize]) {
		return nil
	}
	err := fmt.Errorf("%s: the cached copy %s is damaged (the stanza at byte %d does not match the digest taken when the file was verified): removed, run again to fetch it anew", f.url, f.blob, off)
	if ix.damaged == nil {
		ix.damaged = err
		if f.evict != nil {
			f.evict()
		}
	}
	return err
}

// Damaged returns the damage found in a cached Packages file while
// reading its stanzas (see lazy.go), or nil. A caller that resolved over
// the index must not use the result when it is not nil.
func (ix *Index) Damaged() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.damaged
}

const digestSize = sha256.Size
