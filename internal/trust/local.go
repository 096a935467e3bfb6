package trust

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"
)

// LocalCA checks a certificate file an administrator adds to a trust
// store (Debian's /usr/local/share/ca-certificates, the RPM family's
// anchors directory, gen's --ca-cert) and returns its certificates. It
// must be PEM holding one or more certificates and nothing else: not
// DER, not a private or public key, not a certificate request; each must
// parse and be valid at now (not expired, not yet valid). name names the
// file in errors.
func LocalCA(name string, data []byte, now time.Time) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case strings.Contains(b.Type, "PRIVATE KEY"):
			return nil, fmt.Errorf("%s: holds a private key (PEM %q), not a certificate; give the CA's certificate, and keep its key out of the image", name, b.Type)
		case b.Type != "CERTIFICATE" && b.Type != "TRUSTED CERTIFICATE":
			return nil, fmt.Errorf("%s: holds a PEM %q, not a certificate", name, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", name, len(certs)+1, err)
		}
		switch {
		case now.After(c.NotAfter):
			return nil, fmt.Errorf("%s: certificate %q expired on %s", name, c.Subject.String(), c.NotAfter.UTC().Format(time.RFC3339))
		case now.Before(c.NotBefore):
			return nil, fmt.Errorf("%s: certificate %q is not valid before %s", name, c.Subject.String(), c.NotBefore.UTC().Format(time.RFC3339))
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		if _, err := x509.ParseCertificate(data); err == nil {
			return nil, fmt.Errorf("%s: a DER certificate; convert it to PEM (openssl x509 -inform der -in FILE -out FILE.crt)", name)
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, fmt.Errorf("%s: empty, no certificate", name)
		}
		return nil, fmt.Errorf("%s: not a PEM certificate (no -----BEGIN CERTIFICATE----- block)", name)
	}
	return certs, nil
}
