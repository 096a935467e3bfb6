package trust

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/distroless-dev/distroless/internal/trust/trusttest"
)

func TestJavaTrustStore(t *testing.T) {
	var certs []*x509.Certificate
	for i := range 5 {
		certs = append(certs, trusttest.CA(t, pkix.Name{CommonName: fmt.Sprintf("Test Root CA %d", i), Organization: []string{"Test"}}, int64(i+1)))
	}
	// No common name: the organizational unit names it.
	certs = append(certs, trusttest.CA(t, pkix.Name{OrganizationalUnit: []string{"Unit Root"}}, 10))
	// The same common name as certs[0]: a second alias is made unique.
	twin := trusttest.CA(t, pkix.Name{CommonName: "Test Root CA 0", Organization: []string{"Other"}}, 11)
	certs = append(certs, twin)

	// The bundle repeats certs[1] (kept once) and holds a block that is
	// no certificate (skipped), and text between blocks.
	bundle := trusttest.PEM(certs...)
	bundle = append(bundle, trusttest.PEM(certs[1])...)
	bundle = append(bundle, "# a comment\n-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"...)

	data, n, err := JavaTrustStore(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(certs) {
		t.Errorf("%d entries, want %d", n, len(certs))
	}
	again, _, err := JavaTrustStore(bytes.Clone(bundle))
	if err != nil || !bytes.Equal(data, again) {
		t.Fatalf("the same bundle gave different bytes (%v)", err)
	}

	// Read back with the same library: no password, every certificate a
	// trusted entry, in bundle order.
	got, err := pkcs12.DecodeTrustStore(data, "")
	if err != nil {
		t.Fatalf("DecodeTrustStore: %v", err)
	}
	if len(got) != len(certs) {
		t.Fatalf("decoded %d certificates, want %d", len(got), len(certs))
	}
	for i := range certs {
		if !got[i].Equal(certs[i]) {
			t.Errorf("certificate %d: got %s, want %s", i, got[i].Subject, certs[i].Subject)
		}
	}

	// Aliases: lower case, unique.
	for _, alias := range []string{"test root ca 0", "test root ca 4", "unit root", "test root ca 0 ["} {
		if !bytes.Contains(data, trusttest.BMP(alias)) {
			t.Errorf("no alias %q in the store", alias)
		}
	}
	if bytes.Contains(data, trusttest.BMP("Test Root CA")) {
		t.Error("an alias is not lower case")
	}

	// A different bundle, different bytes; an empty one, no entries.
	other, _, _ := JavaTrustStore(trusttest.PEM(certs[:3]...))
	if bytes.Equal(other, data) {
		t.Error("a smaller bundle gave the same store")
	}
	if _, n, err := JavaTrustStore(nil); err != nil || n != 0 {
		t.Errorf("empty bundle: %d entries, %v", n, err)
	}
	bad := []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	if _, _, err := JavaTrustStore(bad); err == nil || !strings.Contains(err.Error(), "certificate 1") {
		t.Errorf("unparsable certificate: %v", err)
	}
}
