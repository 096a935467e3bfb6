package attest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/youmark/pkcs8"
)

// parsePrivateKey reads the first PEM block of data as a private key,
// in each form cosign (sigstore's cryptoutils) reads: "PRIVATE KEY"
// (PKCS#8), "EC PRIVATE KEY" (SEC 1), "RSA PRIVATE KEY" (PKCS#1), any of
// these encrypted the legacy PEM way (Proc-Type: 4,ENCRYPTED),
// "ENCRYPTED PRIVATE KEY" (PKCS#8 encrypted with PBES2), and cosign's
// "ENCRYPTED SIGSTORE PRIVATE KEY" and older "ENCRYPTED COSIGN PRIVATE
// KEY" (PKCS#8 sealed with scrypt and NaCl secretbox), the encrypted
// ones with password.
func parsePrivateKey(data, password []byte) (crypto.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("PEM decoding failed")
	}
	der := block.Bytes
	//lint:ignore SA1019 the legacy encryption is a form cosign reads
	if x509.IsEncryptedPEMBlock(block) { //nolint:staticcheck
		var err error
		//lint:ignore SA1019 as above
		if der, err = x509.DecryptPEMBlock(block, password); err != nil { //nolint:staticcheck
			return nil, fmt.Errorf("failed to decrypt legacy PEM block: %w", err)
		}
	}
	switch block.Type {
	case "PRIVATE KEY":
		return x509.ParsePKCS8PrivateKey(der)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(der)
	case "ENCRYPTED PRIVATE KEY":
		k, err := pkcs8.ParsePKCS8PrivateKey(der, password)
		if err != nil {
			return nil, fmt.Errorf("failed to decrypt and parse encrypted private key: %w", err)
		}
		return k, nil
	case "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY":
		plain, err := encrypted.Decrypt(der, password)
		if err != nil {
			return nil, err
		}
		return x509.ParsePKCS8PrivateKey(plain)
	}
	return nil, fmt.Errorf("unknown private key PEM file type: %v", block.Type)
}

// parsePublicKey reads the first PEM block of data as a public key:
// "PUBLIC KEY" (PKIX) or "RSA PUBLIC KEY" (PKCS#1), as cosign does.
func parsePublicKey(data []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("PEM decoding failed")
	}
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	}
	return nil, fmt.Errorf("unknown public key PEM file type: %v", block.Type)
}

// signMessage is the signature of msg by k as cosign makes it: ECDSA of
// its SHA-256, ASN.1 DER.
func signMessage(k *ecdsa.PrivateKey, msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	return ecdsa.SignASN1(rand.Reader, k, h[:])
}

// verifyMessage checks sig, a signature of msg by pub, as cosign checks
// one with a key and SHA-256: ECDSA (ASN.1 DER, or IEEE P1363 r||s),
// RSA PKCS #1 v1.5, or Ed25519 (of msg itself).
func verifyMessage(pub crypto.PublicKey, msg, sig []byte) error {
	h := sha256.Sum256(msg)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(sig, &rs); err == nil {
			if !ecdsa.VerifyASN1(k, h[:], sig) {
				return errors.New("invalid ECDSA signature")
			}
			return nil
		}
		if len(sig) == 0 || len(sig) > 132 || len(sig)%2 != 0 {
			return errors.New("invalid ECDSA signature encoding")
		}
		r := new(big.Int).SetBytes(sig[:len(sig)/2])
		s := new(big.Int).SetBytes(sig[len(sig)/2:])
		if !ecdsa.Verify(k, h[:], r, s) {
			return errors.New("invalid ECDSA signature")
		}
		return nil
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig)
	case ed25519.PublicKey:
		if !ed25519.Verify(k, msg, sig) {
			return errors.New("invalid Ed25519 signature")
		}
		return nil
	}
	return fmt.Errorf("unsupported public key type %T", pub)
}
