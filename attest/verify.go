package attest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Verifier checks what a Signer made (cosign's signatures and
// attestations) with the public key.
type Verifier struct {
	pub  crypto.PublicKey
	file string
}

// LoadPublicKey reads a public key file in PEM (cosign.pub: PKIX
// "PUBLIC KEY"; or PKCS #1 "RSA PUBLIC KEY"): ECDSA as Signer's keys, or
// RSA (PKCS #1 v1.5) and Ed25519 as cosign verifies with them, each of the
// SHA-256 but Ed25519.
func LoadPublicKey(file string) (*Verifier, error) {
	data, err := readKeyFile(file)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	pub, err := parsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %v (want a PEM public key, as cosign.pub)", file, err)
	}
	switch pub.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("public key %s: unsupported public key type %T", file, pub)
	}
	return &Verifier{pub: pub, file: file}, nil
}

// maxSigned bounds a signature or attestation layer read.
const maxSigned = 64 << 20

func layerBytes(l v1.Layer) ([]byte, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxSigned+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSigned {
		return nil, fmt.Errorf("a layer of more than %d bytes", maxSigned)
	}
	return data, nil
}

// VerifySignature checks that sigs, a signatures manifest (the tag
// FallbackTag(d, SignatureSuffix)), holds a signature by the key of a
// payload naming the manifest digest d.
func (v *Verifier) VerifySignature(sigs v1.Image, d v1.Hash) error {
	m, err := sigs.Manifest()
	if err != nil {
		return err
	}
	ls, err := sigs.Layers()
	if err != nil {
		return err
	}
	var errs []error
	for i, l := range ls {
		if i >= len(m.Layers) {
			break
		}
		sig, err := base64.StdEncoding.DecodeString(m.Layers[i].Annotations[SignatureAnnotation])
		if err != nil || len(sig) == 0 {
			errs = append(errs, fmt.Errorf("signature %d: no signature annotation", i))
			continue
		}
		data, err := layerBytes(l)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := verifyMessage(v.pub, data, sig); err != nil {
			errs = append(errs, fmt.Errorf("signature %d: not made by the key of %s", i, v.file))
			continue
		}
		var p simpleSigning
		if err := json.Unmarshal(data, &p); err != nil {
			errs = append(errs, fmt.Errorf("signature %d: payload: %w", i, err))
			continue
		}
		if p.Critical.Image.DockerManifestDigest != d.String() {
			errs = append(errs, fmt.Errorf("signature %d signs %s, not %s", i, p.Critical.Image.DockerManifestDigest, d))
			continue
		}
		return nil
	}
	if len(errs) == 0 {
		return errors.New("no signature")
	}
	return errors.Join(errs...)
}

// VerifyAttestations returns the in-toto statements of att, an
// attestations manifest (the tag FallbackTag(d, AttestationSuffix)),
// whose DSSE envelopes the key signed; an envelope it did not sign is an
// error.
func (v *Verifier) VerifyAttestations(att v1.Image) ([][]byte, error) {
	ls, err := att.Layers()
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for i, l := range ls {
		env, err := layerBytes(l)
		if err != nil {
			return nil, err
		}
		st, err := openEnvelope(v.pub, env)
		if err != nil {
			return nil, fmt.Errorf("attestation %d: not signed by the key of %s: %v", i, v.file, err)
		}
		out = append(out, st)
	}
	if len(out) == 0 {
		return nil, errors.New("no attestation")
	}
	return out, nil
}
