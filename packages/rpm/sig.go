package rpm

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
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
		_, err := openpgp.CheckDetachedSignature(keyring, bytes.NewReader(hd.main), bytes.NewReader(sig), config)
		if err == nil {
			ok = true
			break
		}
		errs = append(errs, describeSigError(sig, err))
	}
	if !ok {
		return nil, fmt.Errorf("bad package signature: no valid signature by a key in the keyring (%s)", strings.Join(errs, "; "))
	}
	h := &hd.pkg.Header
	want := h.GetTag(tagPayloadDigest).StringSlice()
	if len(want) == 0 || want[0] == "" {
		return nil, errors.New("the signed header gives no payload digest (built with rpm older than 4.14), so the payload cannot be verified")
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
