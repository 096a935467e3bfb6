package trust

import (
	"crypto/x509/pkix"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/trust/trusttest"
)

// LocalCA takes PEM certificates valid now, and refuses anything else
// naming the file and what is wrong.
func TestLocalCA(t *testing.T) {
	a := trusttest.CA(t, pkix.Name{CommonName: "A Root"}, 1) // 2020 to 2040
	b := trusttest.CA(t, pkix.Name{CommonName: "B Root"}, 2)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	certs, err := LocalCA("two.crt", trusttest.PEM(a, b), now)
	if err != nil || len(certs) != 2 || !certs[0].Equal(a) || !certs[1].Equal(b) {
		t.Fatalf("two certificates: %d, %v", len(certs), err)
	}
	for _, c := range []struct {
		name string
		data []byte
		now  time.Time
		want string
	}{
		{"expired", trusttest.PEM(a), time.Date(2041, 1, 1, 0, 0, 0, 0, time.UTC), `certificate "CN=A Root" expired on 2040-01-01T00:00:00Z`},
		{"early", trusttest.PEM(a), time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), "not valid before 2020-01-01"},
		{"key", []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"), now, `holds a private key (PEM "EC PRIVATE KEY")`},
		{"csr", []byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"), now, `PEM "CERTIFICATE REQUEST", not a certificate`},
		{"cert then key", append(trusttest.PEM(a), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"...), now, "private key"},
		{"der", a.Raw, now, "a DER certificate"},
		{"text", []byte("hello"), now, "not a PEM certificate"},
		{"empty", nil, now, "empty"},
		{"broken", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), now, "certificate 1:"},
	} {
		_, err := LocalCA(c.name+".crt", c.data, c.now)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), c.name+".crt: ") {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}
