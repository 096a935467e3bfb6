package trust

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// JavaTrustStore makes a Java trust store of the certificates of a
// PEM bundle and returns it with the number of certificates it holds.
//
// The store is PKCS#12, the default keystore type of Java 9 and later
// (keystore.type=pkcs12), holding one trusted-certificate entry per
// distinct certificate, in bundle order: a certificate bag marked with
// Java's trusted-key-usage attribute (anyExtendedKeyUsage), with a
// lower-case friendly name, the alias (the certificate's common name, or
// its subject; a repeated alias gets the start of the certificate's
// SHA-256 after it). The bags are neither encrypted nor under a MAC, like
// the JDK's own cacerts since Java 18: Java reads the store without a
// password (javax.net.ssl.trustStorePassword unset, the default) and
// with any, "changeit" included; an encrypted store read without a
// password would give Java no certificates at all. Nothing random goes
// in: the same bundle gives the same bytes.
func JavaTrustStore(bundle []byte) ([]byte, int, error) {
	var entries []pkcs12.TrustStoreEntry
	seenDER := map[[32]byte]bool{}
	seenAlias := map[string]bool{}
	rest := bundle
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		sum := sha256.Sum256(b.Bytes)
		if seenDER[sum] {
			continue
		}
		seenDER[sum] = true
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, 0, fmt.Errorf("certificate %d (sha256 %x): %w", len(entries)+1, sum, err)
		}
		alias := javaAlias(c)
		if seenAlias[alias] {
			alias += " [" + hex.EncodeToString(sum[:8]) + "]"
		}
		seenAlias[alias] = true
		entries = append(entries, pkcs12.TrustStoreEntry{Cert: c, FriendlyName: alias})
	}
	if len(bytes.TrimSpace(rest)) > 0 && len(entries) == 0 {
		return nil, 0, errors.New("not a PEM bundle")
	}
	// Passwordless neither encrypts nor MACs, so it reads no random bytes;
	// noRandom makes sure of it.
	data, err := pkcs12.Passwordless.WithRand(noRandom{}).EncodeTrustStoreEntries(entries, "")
	if err != nil {
		return nil, 0, err
	}
	return data, len(entries), nil
}

// javaAlias is the alias of a certificate in the trust store. Java's
// PKCS#12 keystore treats aliases without regard to case.
func javaAlias(c *x509.Certificate) string {
	name := c.Subject.CommonName
	if name == "" && len(c.Subject.OrganizationalUnit) > 0 {
		name = c.Subject.OrganizationalUnit[0]
	}
	if name == "" {
		name = c.Subject.String()
	}
	return strings.ToLower(name)
}

// noRandom is a random source that has none: reading it is an error.
type noRandom struct{}

func (noRandom) Read([]byte) (int, error) {
	return 0, errors.New("the Java trust store must not depend on random bytes")
}
