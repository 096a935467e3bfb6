// Package attesttest is what tests of signing share: a fresh key pair
// written as the command reads it. It is used by tests only.
package attesttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// KeyPair writes a fresh ECDSA P-256 key pair into dir (made if need
// be): the private key (PKCS#8 PEM, as --sign-key reads it) as key.pem
// and the public key (PKIX PEM, as verify --key reads it) as key.pub.
func KeyPair(tb testing.TB, dir string) (priv, pub string) {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	priv, pub = filepath.Join(dir, "key.pem"), filepath.Join(dir, "key.pub")
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(pub, pubPEM, 0o644); err != nil {
		tb.Fatal(err)
	}
	return priv, pub
}
