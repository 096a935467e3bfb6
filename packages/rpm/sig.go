package rpm

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// OpenPGP hash algorithm numbers rpm uses for PAYLOADDIGESTALGO.
const (
	pgpHashSHA256 = 8
	pgpHashSHA512 = 10
)

// verifyHeader checks the package's header signature (RSA or DSA, as
// rpm 4 writes them) against keyring, and returns the payload digest the
// signed header gives, which the caller must compare with the payload.
func verifyHeader(hd *rpmHeaders, keyring openpgp.EntityList) (*payloadDigest, error) {
	if len(keyring) == 0 {
		return nil, errors.New("package signature not checked: the keyring is empty")
	}
	var sigs [][]byte
	for _, tag := range []int{sigTagRSA, sigTagDSA} {
		if b := hd.pkg.Signature.GetTag(tag).Bytes(); len(b) > 0 {
			sigs = append(sigs, b)
		}
	}
	if len(sigs) == 0 {
		return nil, errors.New("package is not signed (no header signature), and the repository metadata is not signed either")
	}
	config := &packet.Config{Time: time.Now}
	var errs []string
	ok := false
	for _, sig := range sigs {
		err := checkSignature(keyring, hd.main, sig, config)
		if err == nil {
			ok = true
			break
		}
		errs = append(errs, describeSigError(sig, err))
	}
	if !ok {
		return nil, fmt.Errorf("bad package signature: no valid signature by a key in the keyring (%s)", strings.Join(errs, "; "))
	}
	d, err := headerPayloadDigest(hd)
	if err == nil && d == nil {
		err = errors.New("the signed header gives no payload digest (built with rpm older than 4.14), so the payload cannot be verified")
	}
	return d, err
}

// headerPayloadDigest returns the digest the header gives for the
// compressed payload, or nil when it gives none.
func headerPayloadDigest(hd *rpmHeaders) (*payloadDigest, error) {
	h := &hd.pkg.Header
	want := h.GetTag(tagPayloadDigest).StringSlice()
	if len(want) == 0 || want[0] == "" {
		return nil, nil
	}
	algo := int64(pgpHashSHA256)
	if a := h.GetTag(tagPayloadDigestAlgo).Int64Slice(); len(a) > 0 {
		algo = a[0]
	}
	d := &payloadDigest{want: strings.ToLower(want[0])}
	switch algo {
	case pgpHashSHA256:
		d.h = sha256.New()
	case pgpHashSHA512:
		d.h = sha512.New()
	default:
		return nil, fmt.Errorf("unsupported payload digest algorithm %d", algo)
	}
	return d, nil
}

// describeSigError names the key a signature was made with.
func describeSigError(sig []byte, err error) string {
	p, perr := packet.Read(bytes.NewReader(sig))
	if s, ok := p.(*packet.Signature); perr == nil && ok && s.IssuerKeyId != nil {
		return fmt.Sprintf("key %016X: %v", *s.IssuerKeyId, err)
	}
	return err.Error()
}

// checkSignature verifies an OpenPGP signature packet over data. Version
// 4 (and later) signatures go to go-crypto; version 3 signatures, which
// go-crypto no longer reads but Red Hat's signing servers still make
// (rpm -K: "Header V3 RSA/SHA256 Signature"), are checked here: RSA with
// a SHA-2 hash only.
func checkSignature(keyring openpgp.EntityList, data, sig []byte, config *packet.Config) error {
	body, ok := signaturePacketBody(sig)
	if !ok || len(body) == 0 || body[0] != 3 {
		_, err := openpgp.CheckDetachedSignature(keyring, bytes.NewReader(data), bytes.NewReader(sig), config)
		return err
	}
	// Version 3: version, 5, type, created[4], key ID[8], public key
	// algorithm, hash algorithm, hash[2], then the algorithm's MPIs.
	if len(body) < 21 || body[1] != 5 {
		return errors.New("malformed version 3 signature")
	}
	if body[15] != 1 && body[15] != 3 { // RSA, RSA sign-only
		return fmt.Errorf("version 3 signature with public key algorithm %d (only RSA is supported)", body[15])
	}
	var h hash.Hash
	var id crypto.Hash
	switch body[16] {
	case 8:
		h, id = sha256.New(), crypto.SHA256
	case 9:
		h, id = sha512.New384(), crypto.SHA384
	case 10:
		h, id = sha512.New(), crypto.SHA512
	case 11:
		h, id = sha256.New224(), crypto.SHA224
	default:
		return fmt.Errorf("version 3 signature with hash algorithm %d (SHA-2 only)", body[16])
	}
	h.Write(data)
	h.Write(body[2:7]) // signature type and creation time
	digest := h.Sum(nil)
	if digest[0] != body[17] || digest[1] != body[18] {
		return errors.New("signature does not match the data (hash prefix differs)")
	}
	bits := int(binary.BigEndian.Uint16(body[19:21]))
	mpi := body[21:]
	if n := (bits + 7) / 8; n > len(mpi) || n == 0 {
		return errors.New("malformed version 3 signature (MPI)")
	} else {
		mpi = mpi[:n]
	}
	keyID := binary.BigEndian.Uint64(body[7:15])
	keys := keyring.KeysById(keyID)
	if len(keys) == 0 {
		return pgperrors.ErrUnknownIssuer
	}
	var lastErr error
	for _, k := range keys {
		pub, ok := k.PublicKey.PublicKey.(*rsa.PublicKey)
		if !ok {
			lastErr = errors.New("the key with that ID is not an RSA key")
			continue
		}
		s := make([]byte, pub.Size())
		if len(mpi) > len(s) {
			lastErr = errors.New("signature longer than the key")
			continue
		}
		copy(s[len(s)-len(mpi):], mpi)
		if err := rsa.VerifyPKCS1v15(pub, id, digest, s); err != nil {
			lastErr = fmt.Errorf("bad signature: %v", err)
			continue
		}
		return nil
	}
	return lastErr
}

// signaturePacketBody returns the body of an OpenPGP packet when it is a
// signature packet (tag 2) with a definite length.
func signaturePacketBody(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0]&0x80 == 0 {
		return nil, false
	}
	var tag byte
	var hdr, n int
	if b[0]&0x40 != 0 { // new format
		tag = b[0] & 0x3f
		switch l := int(b[1]); {
		case l < 192:
			hdr, n = 2, l
		case l < 224:
			if len(b) < 3 {
				return nil, false
			}
			hdr, n = 3, (l-192)<<8+int(b[2])+192
		case l == 255:
			if len(b) < 6 {
				return nil, false
			}
			hdr, n = 6, int(binary.BigEndian.Uint32(b[2:6]))
		default:
			return nil, false
		}
	} else {
		tag = (b[0] >> 2) & 0x0f
		switch b[0] & 3 {
		case 0:
			hdr, n = 2, int(b[1])
		case 1:
			if len(b) < 3 {
				return nil, false
			}
			hdr, n = 3, int(binary.BigEndian.Uint16(b[1:3]))
		case 2:
			if len(b) < 5 {
				return nil, false
			}
			hdr, n = 5, int(binary.BigEndian.Uint32(b[1:5]))
		default:
			return nil, false
		}
	}
	if tag != 2 || n < 0 || hdr+n > len(b) {
		return nil, false
	}
	return b[hdr : hdr+n], true
}
