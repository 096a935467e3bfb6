package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/trust/trusttest"
)

// The subject hash of every host CA is the one openssl computes.
func TestSubjectHashMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed (scripts/test.sh installs it)")
	}
	certs := trusttest.HostCAs(t)
	// One openssl run for all: rehash -n -v prints the hash link it would
	// make for each certificate of a directory (X509_NAME_hash, as
	// x509 -hash), so copies of the certificates go in one.
	dir := t.TempDir()
	want := map[string]string{} // copy's name → host file
	for i, f := range certs {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%03d.pem", i)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		want[name] = f
	}
	out, err := exec.Command("openssl", "rehash", "-n", "-v", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl rehash: %v\n%s", err, out)
	}
	hashes := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		var name, link string
		if n, _ := fmt.Sscanf(line, "link %s -> %s", &name, &link); n == 2 {
			hashes[name], _, _ = strings.Cut(link, ".")
		}
	}
	if len(hashes) != len(certs) {
		t.Fatalf("openssl rehash gave %d hashes for %d certificates:\n%s", len(hashes), len(certs), out)
	}
	for name, f := range want {
		data, _ := os.ReadFile(filepath.Join(dir, name))
		b, _ := pem.Decode(data)
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		got, err := SubjectHash(c.RawSubject)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if fmt.Sprintf("%08x", got) != hashes[name] {
			t.Errorf("%s: hash %08x, openssl says %s", filepath.Base(f), got, hashes[name])
		}
	}
}

// Names OpenSSL canonicalises: case, white space, string types, several
// attributes in one RDN. Each is checked against openssl itself.
func TestSubjectHashCanonicalForms(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed (scripts/test.sh installs it)")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	oidCN := asn1.ObjectIdentifier{2, 5, 4, 3}
	oidO := asn1.ObjectIdentifier{2, 5, 4, 10}
	oidC := asn1.ObjectIdentifier{2, 5, 4, 6}
	utf8 := func(s string) asn1.RawValue {
		return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagUTF8String, Bytes: []byte(s)}
	}
	bmp := func(s string) asn1.RawValue {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r>>8), byte(r))
		}
		return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagBMPString, Bytes: b}
	}
	printable := func(s string) asn1.RawValue {
		return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagPrintableString, Bytes: []byte(s)}
	}
	names := map[string]pkix.RDNSequence{
		"spaces and case": {{{Type: oidCN, Value: utf8("  Foo \t  BAR\nbaz  ")}}},
		"bmp string":      {{{Type: oidC, Value: printable("DE")}}, {{Type: oidCN, Value: bmp("Zürich Root CA")}}},
		"multi-valued":    {{{Type: oidO, Value: utf8("Zeta")}, {Type: oidCN, Value: utf8("Alpha")}}},
		"non-ascii upper": {{{Type: oidCN, Value: utf8("ÄÖÜ Straße CA")}}},
		"empty value":     {{{Type: oidCN, Value: utf8("   ")}}},
	}
	dir := t.TempDir()
	for label, rdn := range names {
		raw, err := asn1.Marshal(rdn)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), RawSubject: raw, RawIssuer: raw,
			NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		f := filepath.Join(dir, strings.ReplaceAll(label, " ", "_")+".pem")
		if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := SubjectHash(raw)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		out, err := exec.Command("openssl", "x509", "-hash", "-noout", "-in", f).Output()
		if err != nil {
			t.Fatalf("%s: openssl: %v", label, err)
		}
		if want := strings.TrimSpace(string(out)); fmt.Sprintf("%08x", got) != want {
			t.Errorf("%s: hash %08x, openssl says %s", label, got, want)
		}
	}
	for _, bad := range [][]byte{nil, {0x30}, {0x31, 0}, {0x30, 3, 0x31, 1, 0}} {
		if _, err := SubjectHash(bad); err == nil {
			t.Errorf("SubjectHash(%x): no error", bad)
		}
	}
}
