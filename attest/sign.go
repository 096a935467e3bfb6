package attest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types and annotations of cosign's signature and attestation
// manifests.
const (
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	DSSEMediaType          = "application/vnd.dsse.envelope.v1+json"
	SignatureAnnotation    = "dev.cosignproject.cosign/signature"
	PredicateAnnotation    = "predicateType"
	// SignatureSuffix and AttestationSuffix end the tags cosign looks
	// for: sha256-HEX.sig, sha256-HEX.att.
	SignatureSuffix   = ".sig"
	AttestationSuffix = ".att"
)

// cosignSignatureType is the critical.type of cosign's simple signing
// payload.
const cosignSignatureType = "cosign container image signature"

// simpleSigning is cosign's simple signing payload (the signed layer of a
// signature manifest), fields in cosign's order; optional is null.
type simpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// PasswordEnv is the environment variable holding the password of an
// encrypted key file, as for cosign.
const PasswordEnv = "COSIGN_PASSWORD"

// Signer signs images and attestations with one key.
type Signer struct {
	key *ecdsa.PrivateKey
}

// LoadKey reads a signing key file: an ECDSA P-256 private key in PEM
// (PKCS#8 "PRIVATE KEY" or SEC 1 "EC PRIVATE KEY"), or a key file cosign
// generate-key-pair wrote ("ENCRYPTED SIGSTORE PRIVATE KEY" or the
// older "ENCRYPTED COSIGN PRIVATE KEY"), decrypted with password.
func LoadKey(file string, password []byte) (*Signer, error) {
	data, err := readKeyFile(file)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if block, _ := pem.Decode(data); block != nil && strings.Contains(block.Type, "PUBLIC KEY") {
		return nil, fmt.Errorf("signing key %s is a public key; signing takes the private key (cosign.key), cosign verify the public one", file)
	}
	if password == nil {
		password = []byte{} // a cosign key made with an empty password
	}
	priv, err := parsePrivateKey(data, password)
	if err != nil {
		if bytes.Contains(data, []byte("ENCRYPTED")) && len(password) == 0 {
			return nil, fmt.Errorf("signing key %s is encrypted: set %s to its password", file, PasswordEnv)
		}
		if bytes.Contains(data, []byte("ENCRYPTED")) {
			return nil, fmt.Errorf("signing key %s: cannot decrypt it with the password in %s (%v)", file, PasswordEnv, err)
		}
		return nil, fmt.Errorf("signing key %s: %v (want an ECDSA P-256 private key in PEM, or a cosign key file)", file, err)
	}
	k, ok := priv.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: a %T, want an ECDSA P-256 key", file, priv)
	}
	if k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("signing key %s: an ECDSA key on %s, want P-256", file, k.Curve.Params().Name)
	}
	return &Signer{key: k}, nil
}

// maxKeyFile bounds what is read of a key file: a PEM key is a few
// hundred bytes, and --sign-key /dev/zero must not read forever.
const maxKeyFile = 64 << 10

func readKeyFile(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", file)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%s is larger than %d bytes, not a key file", file, maxKeyFile)
	}
	return data, nil
}

// Sign returns the signature manifest of the image with manifest digest
// d, which cosign looks for at tag FallbackTag(d, SignatureSuffix) of the
// image's repository: one layer of cosign's simple signing payload,
// naming the image as identity (a repository such as
// registry.example/app), with its signature in the layer's annotation.
func (s *Signer) Sign(identity string, d v1.Hash) (v1.Image, error) {
	repo, err := name.NewRepository(identity)
	if err != nil {
		return nil, fmt.Errorf("signing: image name %q: %w", identity, err)
	}
	var p simpleSigning
	p.Critical.Identity.DockerReference = identity
	p.Critical.Image.DockerManifestDigest = repo.Digest(d.String()).DigestStr()
	p.Critical.Type = cosignSignatureType
	pj, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	sig, err := signMessage(s.key, pj)
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", d, err)
	}
	return signatures(static.NewLayer(pj, SimpleSigningMediaType), map[string]string{
		SignatureAnnotation: base64.StdEncoding.EncodeToString(sig),
	})
}

// Attest returns the attestations manifest of statements (in-toto
// statements about one image), which cosign looks for at tag
// FallbackTag(d, AttestationSuffix): one DSSE envelope per statement,
// each a layer annotated with its predicate type.
func (s *Signer) Attest(statements ...[]byte) (v1.Image, error) {
	if len(statements) == 0 {
		return nil, errors.New("attest: no statements")
	}
	img := v1.Image(nil)
	for _, st := range statements {
		var head struct {
			PredicateType string `json:"predicateType"`
		}
		if err := json.Unmarshal(st, &head); err != nil || head.PredicateType == "" {
			return nil, fmt.Errorf("attest: not an in-toto statement with a predicate type (%v)", err)
		}
		env, err := signEnvelope(s.key, InTotoMediaType, st)
		if err != nil {
			return nil, fmt.Errorf("attest: signing the %s statement: %w", head.PredicateType, err)
		}
		ann := map[string]string{SignatureAnnotation: "", PredicateAnnotation: head.PredicateType}
		if img == nil {
			if img, err = signatures(static.NewLayer(env, DSSEMediaType), ann); err != nil {
				return nil, err
			}
			continue
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(env, DSSEMediaType), Annotations: ann}); err != nil {
			return nil, err
		}
	}
	return img, nil
}

// signatures is a cosign signatures manifest (OCI media types, as cosign
// writes them) with one layer.
func signatures(l v1.Layer, ann map[string]string) (v1.Image, error) {
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	return mutate.Append(base, mutate.Addendum{Layer: l, Annotations: ann})
}
