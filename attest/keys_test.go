package attest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/youmark/pkcs8"
)

type equaler interface{ Equal(crypto.PrivateKey) bool }

// keyFile is one private key file in one of the forms cosign reads, and
// the passwords to try it with.
type keyFile struct {
	name      string
	pem       []byte
	passwords []string
}

// keyFiles writes k in each form sigstore's cryptoutils reads, plain and
// encrypted (with "pw"), and, for ECDSA P-256, as openssl writes them.
func keyFiles(t *testing.T, k crypto.PrivateKey, all bool) []keyFile {
	t.Helper()
	pw := []byte("pw")
	p8, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(typ string, der []byte) []byte {
		//lint:ignore SA1019 the legacy form is what is tested
		b, err := x509.EncryptPEMBlock(rand.Reader, typ, der, pw, x509.PEMCipherAES256) //nolint:staticcheck
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(b)
	}
	tries := []string{"", "pw", "wrong"}
	out := []keyFile{
		{"pkcs8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), tries},
		{"legacy-encrypted pkcs8", enc("PRIVATE KEY", p8), tries},
	}
	for _, opts := range []*pkcs8.Opts{nil, {Cipher: pkcs8.AES128GCM, KDFOpts: pkcs8.ScryptOpts{SaltSize: 16, CostParameter: 1 << 10, BlockSize: 8, ParallelizationParameter: 1}}} {
		der, err := pkcs8.MarshalPrivateKey(k, pw, opts)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, keyFile{"encrypted pkcs8", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}), tries})
	}
	// Sealed with scrypt, a twentieth of a second a try: for one key, and
	// every password for one file only.
	for i, pass := range [][]byte{pw, {}} {
		if !all {
			break
		}
		sealed, err := encrypted.EncryptWithCustomKDFParameters(p8, pass, encrypted.Legacy) // the cheapest scrypt cosign reads
		if err != nil {
			t.Fatal(err)
		}
		for j, typ := range []string{"ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"} {
			f := keyFile{"cosign " + typ, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: sealed}), []string{string(pass)}}
			if all && i == 0 && j == 0 {
				f.passwords = tries
			}
			out = append(out, f)
		}
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		sec1, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out,
			keyFile{"sec1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), tries},
			keyFile{"legacy-encrypted sec1", enc("EC PRIVATE KEY", sec1), tries})
	case *rsa.PrivateKey:
		p1 := x509.MarshalPKCS1PrivateKey(k)
		out = append(out,
			keyFile{"pkcs1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: p1}), tries},
			keyFile{"legacy-encrypted pkcs1", enc("RSA PRIVATE KEY", p1), tries})
	}
	return out
}

// TestParsePrivateKeyAsCosign: every form of private key file sigstore's
// cryptoutils.UnmarshalPEMToPrivateKey reads (what LoadKey took before),
// plain and encrypted, with the right, an empty and a wrong password,
// parses to the same key here, and what it refuses is refused.
func TestParsePrivateKeyAsCosign(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	files := append(append(append(keyFiles(t, p256, true), keyFiles(t, p384, false)...), keyFiles(t, rk, false)...), keyFiles(t, ek, false)...)
	files = append(files, opensslKeys(t)...)
	files = append(files,
		keyFile{"garbage", []byte("not a key"), []string{""}},
		keyFile{"public key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}}), []string{""}},
		keyFile{"bad pkcs8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 1, 2}}), []string{""}},
		keyFile{"bad sealed", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: []byte(`{"kdf":{}}`)}), []string{"pw"}},
	)
	parsed := 0
	for _, f := range files {
		for _, pass := range f.passwords {
			want, wantErr := cryptoutils.UnmarshalPEMToPrivateKey(f.pem, cryptoutils.StaticPasswordFunc([]byte(pass)))
			got, err := parsePrivateKey(f.pem, []byte(pass))
			if (err == nil) != (wantErr == nil) {
				t.Errorf("%s, password %q: error %v, cryptoutils' error %v", f.name, pass, err, wantErr)
				continue
			}
			if err != nil {
				continue
			}
			parsed++
			if !want.(equaler).Equal(got) {
				t.Errorf("%s, password %q: another key than cryptoutils'", f.name, pass)
			}
		}
	}
	if parsed < 40 {
		t.Errorf("only %d key files parsed", parsed)
	}
}

// opensslKeys are ECDSA P-256 keys openssl writes: PKCS#8 encrypted with
// PBES2 (AES-256-CBC, and the PKCS#12 3DES default of older tools) and
// the traditional SEC 1 form encrypted with a DEK-Info header.
func opensslKeys(t *testing.T) []keyFile {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl not found (Debian package openssl): %v", err)
	}
	dir := t.TempDir()
	run := func(args ...string) []byte {
		out, err := exec.Command("openssl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	plain := filepath.Join(dir, "plain.pem")
	run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", plain)
	var out []keyFile
	for name, args := range map[string][]string{
		"openssl pkcs8 aes-256-cbc":   {"pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", "pass:pw"},
		"openssl pkcs8 scrypt":        {"pkcs8", "-topk8", "-scrypt", "-passout", "pass:pw"},
		"openssl ec -aes256":          {"ec", "-aes256", "-passout", "pass:pw"},
		"openssl ec -des3":            {"ec", "-des3", "-passout", "pass:pw"},
		"openssl pkcs8 unencrypted":   {"pkcs8", "-topk8", "-nocrypt"},
		"openssl ec traditional sec1": {"ec"},
	} {
		pemData := run(append(args, "-in", plain)...)
		if i := strings.Index(string(pemData), "-----BEGIN"); i > 0 {
			pemData = pemData[i:] // "read EC key" on stdout
		}
		f := keyFile{name, pemData, []string{"", "pw", "wrong"}}
		if strings.Contains(name, "scrypt") {
			f.passwords = []string{"pw"}
		}
		out = append(out, f)
	}
	return out
}

// TestLoadKeyForms: LoadKey takes a P-256 key in each encrypted form with
// its password, and says the key is encrypted without one.
func TestLoadKeyForms(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	dir := t.TempDir()
	for i, f := range append(keyFiles(t, k, true), opensslKeys(t)...) {
		p := filepath.Join(dir, strings.ReplaceAll(f.name, " ", "_")+string(rune('a'+i)))
		if err := os.WriteFile(p, f.pem, 0o600); err != nil {
			t.Fatal(err)
		}
		encryptedFile := strings.Contains(string(f.pem), "ENCRYPTED")
		s, err := LoadKey(p, []byte("pw"))
		if strings.HasPrefix(f.name, "openssl") {
			if err != nil {
				t.Errorf("%s: %v", f.name, err)
			}
			continue
		}
		if err != nil {
			if !strings.Contains(f.name, "cosign") { // the one sealed with an empty password
				t.Errorf("%s: %v", f.name, err)
			}
			continue
		}
		if !s.key.Equal(k) {
			t.Errorf("%s: another key", f.name)
		}
		if encryptedFile {
			if _, err := LoadKey(p, nil); err == nil || !strings.Contains(err.Error(), PasswordEnv) {
				t.Errorf("%s without a password: %v", f.name, err)
			}
		}
	}
}
