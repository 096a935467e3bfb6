package deb

import (
	"bytes"
	"runtime"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// readKeyRing reads a binary (unarmored) OpenPGP keyring as
// openpgp.ReadKeyRing does, every entity checked the same way (its
// self-signatures verified), with the entities read on every core at
// once: verifying the embedded Debian keyring's self-signatures is most of
// the time a warm run spends on it before it can check an InRelease. The
// keyring is cut before each public key packet (where ReadKeyRing starts
// an entity); when it cannot be cut cleanly, or a part does not read
// without error, the whole keyring is read by ReadKeyRing instead.
func readKeyRing(data []byte) (openpgp.EntityList, error) {
	parts, ok := splitEntities(data)
	if !ok || len(parts) < 2 {
		return openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	lists := make([]openpgp.EntityList, len(parts))
	errs := make([]error, len(parts))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			lists[i], errs[i] = openpgp.ReadKeyRing(bytes.NewReader(p))
		}()
	}
	wg.Wait()
	var el openpgp.EntityList
	for i := range parts {
		if errs[i] != nil || len(lists[i]) != 1 {
			return openpgp.ReadKeyRing(bytes.NewReader(data))
		}
		el = append(el, lists[i]...)
	}
	return el, nil
}

// splitEntities cuts a binary keyring before each public key packet (tag
// 6); ok is false when a packet header cannot be read (a partial or
// indeterminate length, a truncated packet).
func splitEntities(data []byte) (parts [][]byte, ok bool) {
	start := -1
	for off := 0; off < len(data); {
		tag, n, ok := packetSpan(data[off:])
		if !ok {
			return nil, false
		}
		if tag == 6 {
			if start >= 0 {
				parts = append(parts, data[start:off])
			}
			start = off
		} else if start < 0 {
			return nil, false // packets before the first key
		}
		off += n
	}
	if start >= 0 {
		parts = append(parts, data[start:])
	}
	return parts, true
}

// packetSpan returns the tag of the packet at the start of b and its whole
// length (header and body), per RFC 4880 section 4.2.
func packetSpan(b []byte) (tag byte, n int, ok bool) {
	if len(b) < 2 || b[0]&0x80 == 0 {
		return 0, 0, false
	}
	var hdr, body int
	if b[0]&0x40 == 0 { // old format
		tag = (b[0] >> 2) & 0xf
		switch b[0] & 3 {
		case 0:
			hdr, body = 2, int(b[1])
		case 1:
			if len(b) < 3 {
				return 0, 0, false
			}
			hdr, body = 3, int(b[1])<<8|int(b[2])
		case 2:
			if len(b) < 5 {
				return 0, 0, false
			}
			hdr, body = 5, int(b[1])<<24|int(b[2])<<16|int(b[3])<<8|int(b[4])
		default:
			return 0, 0, false
		}
	} else { // new format
		tag = b[0] & 0x3f
		switch l := b[1]; {
		case l < 192:
			hdr, body = 2, int(l)
		case l < 224:
			if len(b) < 3 {
				return 0, 0, false
			}
			hdr, body = 3, (int(l)-192)<<8+int(b[2])+192
		case l == 255:
			if len(b) < 6 {
				return 0, 0, false
			}
			hdr, body = 6, int(b[2])<<24|int(b[3])<<16|int(b[4])<<8|int(b[5])
		default:
			return 0, 0, false // partial body lengths
		}
	}
	if body < 0 || hdr+body > len(b) {
		return 0, 0, false
	}
	return tag, hdr + body, true
}
