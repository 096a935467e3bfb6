package attest

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// envelope is a DSSE envelope (github.com/secure-systems-lab/dsse), with
// its fields in the order cosign writes them.
type envelope struct {
	PayloadType string              `json:"payloadType"`
	Payload     string              `json:"payload"`
	Signatures  []envelopeSignature `json:"signatures"`
}

type envelopeSignature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// pae is DSSE's pre-authentication encoding of a payload: what is
// signed.
func pae(payloadType string, payload []byte) []byte {
	b := []byte("DSSEv1 ")
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}

// signEnvelope returns the DSSE envelope of payload signed by k, as
// cosign attest writes it (one signature, no key id).
func signEnvelope(k *ecdsa.PrivateKey, payloadType string, payload []byte) ([]byte, error) {
	sig, err := signMessage(k, pae(payloadType, payload))
	if err != nil {
		return nil, err
	}
	return json.Marshal(envelope{
		PayloadType: payloadType,
		Payload:     base64.StdEncoding.EncodeToString(payload),
		Signatures:  []envelopeSignature{{Sig: base64.StdEncoding.EncodeToString(sig)}},
	})
}

// openEnvelope returns the payload of a DSSE envelope one of whose
// signatures pub verifies. Key ids are hints, not checked: the
// signature is.
func openEnvelope(pub crypto.PublicKey, data []byte) ([]byte, error) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, err
	}
	if len(env.Signatures) == 0 {
		return nil, errors.New("no signature in the envelope")
	}
	payload, err := base64Decode(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	msg := pae(env.PayloadType, payload)
	for i, s := range env.Signatures {
		sig, err := base64Decode(s.Sig)
		if err != nil {
			return nil, fmt.Errorf("signature %d: %w", i, err)
		}
		if verifyMessage(pub, msg, sig) == nil {
			return payload, nil
		}
	}
	return nil, errors.New("no signature of the envelope verifies")
}

// base64Decode decodes standard base64, else URL-safe base64: DSSE
// allows both.
func base64Decode(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.URLEncoding.DecodeString(s); err != nil {
			return nil, errors.New("not base64")
		}
	}
	return b, nil
}
