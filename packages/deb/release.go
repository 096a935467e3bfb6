package deb

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"pault.ag/go/debian/control"
)

// releaseEntry is one file a Release file lists.
type releaseEntry struct {
	Size   int64
	SHA256 string
}

// release is a verified, parsed InRelease file.
type release struct {
	URL           string
	Raw           []byte
	SHA256        string // of Raw
	Fields        map[string]string
	Files         map[string]releaseEntry // path relative to dists/<suite>/ → SHA256 entry
	AcquireByHash bool
	Signer        *openpgp.Entity
}

// maxInRelease bounds the size of an InRelease file.
const maxInRelease = 16 << 20

// verifyInRelease checks the clearsigned InRelease file raw, fetched from
// url, against keyring and parses it. now is the time for key expiry and
// Valid-Until.
func verifyInRelease(url string, raw []byte, keyring openpgp.EntityList, now time.Time, ignoreValidUntil bool) (*release, error) {
	block, _ := clearsign.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("%s: not a clearsigned file", url)
	}
	signer, err := checkClearsigned(block, keyring, now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	// The checksum lists are thousands of lines long; the paragraph
	// parser joins continuation lines by repeated concatenation, so they
	// are taken out here and only the scalar fields go through it.
	header, sums := splitChecksumFields(block.Plaintext)
	r, err := control.NewParagraphReader(bytes.NewReader(header), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	para, err := r.Next()
	if err != nil {
		return nil, fmt.Errorf("%s: cannot parse: %v", url, err)
	}
	sum := sha256.Sum256(raw)
	rel := &release{
		URL:    url,
		Raw:    raw,
		SHA256: hex.EncodeToString(sum[:]),
		Fields: para.Values,
		Files:  map[string]releaseEntry{},
		Signer: signer,
	}
	rel.AcquireByHash = strings.EqualFold(strings.TrimSpace(para.Values["Acquire-By-Hash"]), "yes")
	for _, line := range sums {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("%s: bad SHA256 line %q", url, line)
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("%s: bad size in SHA256 line %q", url, line)
		}
		if _, err := hex.DecodeString(f[0]); err != nil || len(f[0]) != 64 {
			return nil, fmt.Errorf("%s: bad digest in SHA256 line %q", url, line)
		}
		rel.Files[f[2]] = releaseEntry{Size: size, SHA256: strings.ToLower(f[0])}
	}
	if len(rel.Files) == 0 {
		return nil, fmt.Errorf("%s: lists no SHA256 checksums", url)
	}
	if vu := strings.TrimSpace(para.Values["Valid-Until"]); vu != "" && !ignoreValidUntil {
		t, err := parseReleaseDate(vu)
		if err != nil {
			return nil, fmt.Errorf("%s: bad Valid-Until %q: %v", url, vu, err)
		}
		if now.After(t) {
			return nil, fmt.Errorf("%s: expired: Valid-Until %s is past (now %s); the mirror is stale", url, vu, now.UTC().Format(time.RFC1123))
		}
	}
	return rel, nil
}

// splitChecksumFields returns the Release paragraph without its
// multi-line checksum fields, and the lines of its SHA256 field.
func splitChecksumFields(text []byte) (header []byte, sha256Lines []string) {
	header = make([]byte, 0, 4096)
	skipping, inSHA256 := false, false
	for len(text) > 0 {
		var line []byte
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i+1], text[i+1:]
		} else {
			line, text = text, nil
		}
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if inSHA256 {
				sha256Lines = append(sha256Lines, string(bytes.TrimSpace(line)))
			}
			if skipping {
				continue
			}
		} else {
			key, _, _ := bytes.Cut(line, []byte(":"))
			switch string(bytes.TrimSpace(key)) {
			case "MD5Sum", "SHA1", "SHA256", "SHA512":
				skipping = true
				inSHA256 = string(bytes.TrimSpace(key)) == "SHA256"
				if inSHA256 {
					header = append(header, "SHA256: present\n"...)
				}
				continue
			default:
				skipping, inSHA256 = false, false
			}
		}
		header = append(header, line...)
	}
	return header, sha256Lines
}

// parseReleaseDate reads the RFC 2822 dates of Release files.
func parseReleaseDate(s string) (time.Time, error) {
	var first error
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 MST", "Mon, 2 Jan 2006 15:04:05 -0700"} {
		t, err := time.Parse(layout, s)
		if err == nil {
			return t, nil
		}
		if first == nil {
			first = err
		}
	}
	return time.Time{}, first
}

// checkClearsigned accepts the block when at least one of its signatures
// was made by a key in keyring and verifies. An InRelease file usually
// carries several signatures (archive key of this and the previous
// release, …); go-crypto stops at the first signature by a known key, so
// each signature packet is checked on its own.
func checkClearsigned(block *clearsign.Block, keyring openpgp.EntityList, now time.Time) (*openpgp.Entity, error) {
	if len(keyring) == 0 {
		return nil, errors.New("signature not checked: the keyring is empty")
	}
	body, err := io.ReadAll(block.ArmoredSignature.Body)
	if err != nil {
		return nil, fmt.Errorf("bad signature block: %v", err)
	}
	sigs := splitPackets(body)
	if sigs == nil {
		sigs = [][]byte{body}
	}
	config := &packet.Config{Time: func() time.Time { return now }}
	var errs []string
	for _, sig := range sigs {
		signer, err := openpgp.CheckDetachedSignature(keyring, bytes.NewReader(block.Bytes), bytes.NewReader(sig), config)
		if err == nil {
			return signer, nil
		}
		errs = append(errs, describeSigError(sig, err))
	}
	return nil, fmt.Errorf("no valid signature by a key in the keyring (%s)", strings.Join(errs, "; "))
}

func describeSigError(sig []byte, err error) string {
	p, perr := packet.Read(bytes.NewReader(sig))
	if s, ok := p.(*packet.Signature); perr == nil && ok && s.IssuerKeyId != nil {
		return fmt.Sprintf("key %016X: %v", *s.IssuerKeyId, err)
	}
	return err.Error()
}

// splitPackets splits a sequence of OpenPGP packets into the raw bytes of
// each. It returns nil when the framing is not understood (partial
// lengths), and the caller then hands the whole sequence to go-crypto.
func splitPackets(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		tag := b[0]
		if tag&0x80 == 0 {
			return nil
		}
		var hdr, n int
		if tag&0x40 != 0 { // new format
			if len(b) < 2 {
				return nil
			}
			switch l0 := int(b[1]); {
			case l0 < 192:
				hdr, n = 2, l0
			case l0 < 224:
				if len(b) < 3 {
					return nil
				}
				hdr, n = 3, (l0-192)<<8+int(b[2])+192
			case l0 == 255:
				if len(b) < 6 {
					return nil
				}
				hdr, n = 6, int(binary.BigEndian.Uint32(b[2:6]))
			default:
				return nil // partial body length
			}
		} else { // old format
			switch tag & 3 {
			case 0:
				if len(b) < 2 {
					return nil
				}
				hdr, n = 2, int(b[1])
			case 1:
				if len(b) < 3 {
					return nil
				}
				hdr, n = 3, int(binary.BigEndian.Uint16(b[1:3]))
			case 2:
				if len(b) < 5 {
					return nil
				}
				hdr, n = 5, int(binary.BigEndian.Uint32(b[1:5]))
			default:
				hdr, n = 1, len(b)-1
			}
		}
		if n < 0 || hdr+n > len(b) {
			return nil
		}
		out = append(out, b[:hdr+n])
		b = b[hdr+n:]
	}
	return out
}
