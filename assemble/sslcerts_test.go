package assemble

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/trust"
	"github.com/distroless-dev/distroless/internal/trust/trusttest"
)

// The links built from the host's certificates are the ones
// update-ca-certificates made in the host's /etc/ssl/certs, and OpenSSL's
// directory links to them as Debian's openssl package does.
func TestSSLCertLinksMatchDebian(t *testing.T) {
	certs := trusttest.HostCAs(t)
	fx := newFixture()
	var entries []fakeEntry
	for _, f := range certs {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, regBytes("./usr/share/ca-certificates/mozilla/"+filepath.Base(f), 0o644, data))
	}
	entries = append(entries, dir("./etc/ssl/certs", 0o755))
	img, rep := mustBuild(t, fx.spec(caLayer(fx.pkg("ca-certificates", entries...))))
	for _, w := range rep.Warnings {
		t.Errorf("warning: %s", w)
	}
	fs := rootfs(t, img)
	got := map[string]string{}
	for p, f := range fs {
		if strings.HasPrefix(p, "etc/ssl/certs/") && f.h.Linkname != "" {
			got[strings.TrimPrefix(p, "etc/ssl/certs/")] = f.h.Linkname
		}
	}
	want := map[string]string{}
	ents, err := os.ReadDir("/etc/ssl/certs")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		l, err := os.Readlink(filepath.Join("/etc/ssl/certs", e.Name()))
		if err != nil {
			continue // ca-certificates.crt, java/
		}
		if strings.HasPrefix(l, "/usr/local/") {
			continue // a certificate the host added
		}
		want[e.Name()] = l
	}
	// Hash links to what the host added (local certificates, ssl-cert's
	// snakeoil) are not the package's.
	for k, v := range want {
		if !strings.Contains(v, "/") {
			if _, ok := want[v]; !ok {
				delete(want, k)
			}
		}
	}
	var diffs []string
	for k, v := range want {
		if got[k] != v {
			diffs = append(diffs, fmt.Sprintf("%s: got %q, host has %q", k, got[k], v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s -> %s: not on the host", k, v))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("%d differences from the host's /etc/ssl/certs:\n%s", len(diffs), strings.Join(diffs, "\n"))
	}
	if len(got) < 200 {
		t.Fatalf("only %d links", len(got))
	}
	for p, target := range map[string]string{
		"usr/lib/ssl/cert.pem": "/etc/ssl/certs/ca-certificates.crt",
		"usr/lib/ssl/certs":    "/etc/ssl/certs",
	} {
		if fs[p].h == nil || fs[p].h.Linkname != target {
			t.Errorf("/%s: want a link to %s, have %+v", p, target, fs[p].h)
		}
		if host, err := os.Readlink("/" + p); err != nil || host != target {
			t.Errorf("host /%s -> %q (%v), want %s", p, host, err, target)
		}
	}
}

// Collisions number HASH.0, HASH.1 in name order; a certificate equal to
// an earlier one gets no second link; the certificate name is rewritten
// as update-ca-certificates does; a file with two certificates gets a
// .pem link but no hash link.
func TestSSLCertLinksCollisions(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(cn string, serial int64) []byte {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0), IsCA: true, BasicConstraintsValid: true}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	a1, a2 := mk("Same CA", 1), mk("same   ca", 2) // one canonical subject
	b := mk("Other", 3)
	fx := newFixture()
	img, rep := mustBuild(t, fx.spec(caLayer(fx.pkg("ca-certificates",
		regBytes("./usr/share/ca-certificates/x/B (x), y.crt", 0o644, a2),
		regBytes("./usr/share/ca-certificates/x/A.crt", 0o644, a1),
		regBytes("./usr/share/ca-certificates/x/C.crt", 0o644, a1), // a copy of A
		regBytes("./usr/share/ca-certificates/x/D.crt", 0o644, append(append([]byte(nil), b...), b...)),
	))))
	fs := rootfs(t, img)
	h, _ := func() (uint32, error) {
		blk, _ := pem.Decode(a1)
		c, _ := x509.ParseCertificate(blk.Bytes)
		return trust.SubjectHash(c.RawSubject)
	}()
	for name, target := range map[string]string{
		"A.pem":                  "/usr/share/ca-certificates/x/A.crt",
		"B_=x=__y.pem":           "/usr/share/ca-certificates/x/B (x), y.crt",
		"D.pem":                  "/usr/share/ca-certificates/x/D.crt",
		fmt.Sprintf("%08x.0", h): "A.pem",
		fmt.Sprintf("%08x.1", h): "B_=x=__y.pem",
	} {
		if f := fs["etc/ssl/certs/"+name]; f.h == nil || f.h.Linkname != target {
			t.Errorf("/etc/ssl/certs/%s: want -> %s, have %+v", name, target, f.h)
		}
	}
	if f := fs[fmt.Sprintf("etc/ssl/certs/%08x.2", h)]; f.h != nil {
		t.Errorf("a copy of A got a third link: -> %s", f.h.Linkname)
	}
	warned := false
	for _, w := range rep.Warnings {
		warned = warned || strings.Contains(w, "D.crt: not exactly one PEM certificate")
	}
	if !warned {
		t.Errorf("no warning for the two-certificate file: %q", rep.Warnings)
	}
}

// caLayer is a layer of the ca-certificates package that runs the
// ca-certificates generator, as the Debian static profile does.
func caLayer(ca Unpack) Layer {
	l := layer("static", ca)
	l.Generate = []string{"ca-certificates"}
	return l
}

// TestCACertificatesNamed: the CA bundle is the ca-certificates
// generator's, made only where a profile names it; without certificates
// it makes nothing and says so.
func TestCACertificatesNamed(t *testing.T) {
	fx := newFixture()
	ca := fx.pkg("ca-certificates", reg("./usr/share/ca-certificates/x/A.crt", 0o644, "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n"))
	img, _ := mustBuild(t, fx.spec(layer("static", ca)))
	if _, ok := rootfs(t, img)["etc/ssl/certs/ca-certificates.crt"]; ok {
		t.Error("a CA bundle without the generator")
	}
	img, _ = mustBuild(t, fx.spec(caLayer(ca)))
	if got := string(rootfs(t, img)["etc/ssl/certs/ca-certificates.crt"].data); got != "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n" {
		t.Errorf("bundle = %q", got)
	}
	_, rep := mustBuild(t, fx.spec(caLayer(fx.pkg("empty", dir("./usr/", 0o755)))))
	if !slices.Contains(rep.Warnings, "ca-certificates ships no certificates: no /etc/ssl/certs/ca-certificates.crt") {
		t.Errorf("no warning for no certificates: %q", rep.Warnings)
	}
}
