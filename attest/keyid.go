package attest

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
)

// KeyID names the signer's key: the SHA-256 of its public key (PKIX DER),
// in hex. Two signers of one key have the same KeyID.
func (s *Signer) KeyID() (string, error) {
	der, err := x509.MarshalPKIXPublicKey(s.key.Public())
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}
