package rpmtest

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeTrustSource writes a p11-kit trust source from three of the
// host's CA certificates: one trusted, one trusted for e-mail only (an
// attached extended key usage), one distrusted. It returns the first.
func writeTrustSource(path string) ([]byte, error) {
	certs, _ := filepath.Glob("/usr/share/ca-certificates/mozilla/*.crt")
	if len(certs) < 3 {
		return nil, fmt.Errorf("rpmtest: the host has fewer than 3 CA certificates in /usr/share/ca-certificates/mozilla (install ca-certificates)")
	}
	var blocks []*pem.Block
	for _, c := range certs[:3] {
		data, err := os.ReadFile(c)
		if err != nil {
			return nil, err
		}
		b, _ := pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("%s: not PEM", c)
		}
		blocks = append(blocks, b)
	}
	emailOnly, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 4}})
	if err != nil {
		return nil, err
	}
	ext, err := asn1.Marshal(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Value: emailOnly})
	if err != nil {
		return nil, err
	}
	var esc strings.Builder
	for _, b := range ext {
		fmt.Fprintf(&esc, "%%%02x", b)
	}
	second, err := x509.ParseCertificate(blocks[1].Bytes)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString("# Trust source for tests\n\n[p11-kit-object-v1]\nlabel: \"Trusted\"\ntrusted: true\nnss-mozilla-ca-policy: true\nmodifiable: false\n")
	pem.Encode(&out, blocks[0])
	out.WriteString("\n[p11-kit-object-v1]\nclass: x-certificate-extension\nlabel: \"E-mail only\"\nobject-id: 2.5.29.37\nvalue: \"" + esc.String() + "\"\nmodifiable: false\n")
	pem.Encode(&out, &pem.Block{Type: "PUBLIC KEY", Bytes: second.RawSubjectPublicKeyInfo})
	out.WriteString("\n[p11-kit-object-v1]\nlabel: \"E-mail only\"\ntrusted: true\nmodifiable: false\n")
	pem.Encode(&out, blocks[1])
	out.WriteString("\n[p11-kit-object-v1]\nlabel: \"Distrusted\"\nx-distrusted: true\nmodifiable: false\n")
	pem.Encode(&out, blocks[2])
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(blocks[0]), nil
}
