package trust

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// OIDExtKeyUsage is the extended key usage extension's object ID.
var OIDExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}

var oidServerAuth = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}

// P11Object is one [p11-kit-object-v1] section.
type P11Object struct {
	Fields map[string]string // "key: value" lines
	Blocks []*pem.Block      // PEM blocks
}

// ParseP11Kit reads p11-kit's persistent format: sections of
// "key: value" lines and PEM blocks.
func ParseP11Kit(data []byte) ([]P11Object, error) {
	var objs []P11Object
	var cur *P11Object
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\r")
		t := strings.TrimSpace(line)
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
		case t == "[p11-kit-object-v1]":
			objs = append(objs, P11Object{Fields: map[string]string{}})
			cur = &objs[len(objs)-1]
		case strings.HasPrefix(t, "-----BEGIN "):
			j := i
			for j < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[j]), "-----END ") {
				j++
			}
			if j == len(lines) {
				return nil, fmt.Errorf("line %d: unterminated PEM block", i+1)
			}
			b, _ := pem.Decode([]byte(strings.Join(lines[i:j+1], "\n") + "\n"))
			if b == nil {
				return nil, fmt.Errorf("line %d: bad PEM block", i+1)
			}
			if cur != nil {
				cur.Blocks = append(cur.Blocks, b)
			}
			i = j
		default:
			k, v, ok := strings.Cut(t, ":")
			if !ok {
				return nil, fmt.Errorf("line %d: not a field: %q", i+1, t)
			}
			if cur != nil {
				cur.Fields[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
			}
		}
	}
	return objs, nil
}

// P11Value decodes a p11-kit value written with %XX escapes.
func P11Value(s string) ([]byte, error) {
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			out = append(out, s[i])
			continue
		}
		if i+2 >= len(s) {
			return nil, errors.New("truncated escape")
		}
		b, err := hex.DecodeString(s[i+1 : i+3])
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
		i += 2
	}
	return out, nil
}

// EKUAllowsTLSServer reports whether an extended key usage extension (DER) allows
// TLS servers.
func EKUAllowsTLSServer(ext []byte) bool {
	var e pkix.Extension
	if _, err := asn1.Unmarshal(ext, &e); err != nil || !e.Id.Equal(OIDExtKeyUsage) {
		return true
	}
	var oids []asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(e.Value, &oids); err != nil {
		return false
	}
	for _, o := range oids {
		if o.Equal(oidServerAuth) {
			return true
		}
	}
	return false
}
