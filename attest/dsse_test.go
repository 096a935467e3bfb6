package attest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
)

// TestVerifyMessageAsSigstore: verifyMessage accepts what sigstore's
// verifier (LoadVerifier with SHA-256, what LoadPublicKey used) accepts
// and refuses what it refuses: ECDSA in ASN.1 and in IEEE P1363 form, RSA
// PKCS #1 v1.5, Ed25519; another message, another key, a truncated or
// empty signature.
func TestVerifyMessageAsSigstore(t *testing.T) {
	msg := []byte("the message")
	h := sha256.Sum256(msg)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ek384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	epub, edk, _ := ed25519.GenerateKey(rand.Reader)
	asn, _ := ecdsa.SignASN1(rand.Reader, ek, h[:])
	asn384, _ := ecdsa.SignASN1(rand.Reader, ek384, h[:])
	r, s, _ := ecdsa.Sign(rand.Reader, ek, h[:])
	p1363 := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	rsig, _ := rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, h[:])
	esig := ed25519.Sign(edk, msg)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cases := []struct {
		name string
		pub  crypto.PublicKey
		msg  []byte
		sig  []byte
	}{
		{"ecdsa asn.1", &ek.PublicKey, msg, asn},
		{"ecdsa P-384 asn.1", &ek384.PublicKey, msg, asn384},
		{"ecdsa p1363", &ek.PublicKey, msg, p1363},
		{"ecdsa p1363 short r", &ek.PublicKey, msg, append(new(big.Int).Rsh(r, 8).Bytes(), s.Bytes()...)},
		{"rsa", &rk.PublicKey, msg, rsig},
		{"ed25519", epub, msg, esig},
		{"ecdsa other message", &ek.PublicKey, []byte("another"), asn},
		{"ecdsa other key", &other.PublicKey, msg, asn},
		{"ecdsa truncated", &ek.PublicKey, msg, asn[:len(asn)-1]},
		{"ecdsa trailing byte", &ek.PublicKey, msg, append(append([]byte{}, asn...), 0)},
		{"ecdsa empty", &ek.PublicKey, msg, nil},
		{"ecdsa odd length", &ek.PublicKey, msg, p1363[:63]},
		{"rsa other message", &rk.PublicKey, []byte("x"), rsig},
		{"ed25519 other message", epub, []byte("x"), esig},
		{"ed25519 short", epub, msg, esig[:10]},
	}
	for _, c := range cases {
		v, err := signature.LoadVerifier(c.pub, crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		want := v.VerifySignature(bytes.NewReader(c.sig), bytes.NewReader(c.msg))
		got := verifyMessage(c.pub, c.msg, c.sig)
		if (got == nil) != (want == nil) {
			t.Errorf("%s: %v, sigstore %v", c.name, got, want)
		}
	}
}

// TestOpenEnvelopeAsSigstore: openEnvelope opens what sigstore's DSSE
// verifier opens and refuses what it refuses (no signature, a signature
// of another payload type or payload, bad base64, not JSON); a
// URL-safe base64 payload opens; a key id is a hint, not checked.
func TestOpenEnvelopeAsSigstore(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	payload := []byte(`{"_type":"https://in-toto.io/Statement/v1","x":"??>>"}`) // '?' and '>' differ in the two base64 alphabets
	if !bytes.ContainsAny([]byte(base64.StdEncoding.EncodeToString(payload)), "+/") {
		t.Fatal("the payload's base64 is the same in both alphabets")
	}
	good, err := signEnvelope(k, InTotoMediaType, payload)
	if err != nil {
		t.Fatal(err)
	}
	var env envelope
	json.Unmarshal(good, &env)
	edit := func(f func(*envelope)) []byte {
		e := env
		e.Signatures = append([]envelopeSignature(nil), env.Signatures...)
		f(&e)
		b, _ := json.Marshal(e)
		return b
	}
	otherSig, _ := signEnvelope(other, InTotoMediaType, payload)
	var oe envelope
	json.Unmarshal(otherSig, &oe)
	v, _ := signature.LoadVerifier(&k.PublicKey, crypto.SHA256)
	for name, c := range map[string]struct {
		data []byte
		ok   bool
	}{
		"good":                 {good, true},
		"other key's":          {otherSig, false},
		"two, the second good": {edit(func(e *envelope) { e.Signatures = append(oe.Signatures, e.Signatures...) }), true},
		"none":                 {edit(func(e *envelope) { e.Signatures = nil }), false},
		"other payload type":   {edit(func(e *envelope) { e.PayloadType = "text/plain" }), false},
		"other payload":        {edit(func(e *envelope) { e.Payload = base64.StdEncoding.EncodeToString([]byte("{}")) }), false},
		"payload not base64":   {edit(func(e *envelope) { e.Payload = "!!" }), false},
		"sig not base64":       {edit(func(e *envelope) { e.Signatures[0].Sig = "!!" }), false},
		"sig url base64": {edit(func(e *envelope) {
			s, _ := base64.StdEncoding.DecodeString(e.Signatures[0].Sig)
			e.Signatures[0].Sig = base64.URLEncoding.EncodeToString(s)
		}), true},
		"payload url base64": {edit(func(e *envelope) { e.Payload = base64.URLEncoding.EncodeToString(payload) }), true},
		"not json":           {[]byte("{"), false},
	} {
		p, err := openEnvelope(&k.PublicKey, c.data)
		want := dsse.WrapVerifier(v).VerifySignature(bytes.NewReader(c.data), nil)
		if (err == nil) != c.ok || (want == nil) != c.ok {
			t.Errorf("%s: %v, sigstore %v; want it opened: %v", name, err, want, c.ok)
		}
		if err == nil && !bytes.Equal(p, payload) {
			t.Errorf("%s: payload %q", name, p)
		}
	}
	// A key id sigstore would not match (it compares it with the key's
	// SSH fingerprint) does not stop the signature from verifying here.
	withID := edit(func(e *envelope) { e.Signatures[0].KeyID = "some-key" })
	if _, err := openEnvelope(&k.PublicKey, withID); err != nil {
		t.Errorf("an envelope with a key id: %v", err)
	}
}
