package assemble

// The ca-trust generator: what update-ca-trust (run by the RPM family's
// ca-certificates scriptlets) would have extracted, done in Go.

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

func init() { registerGenerator("ca-trust", caTrust) }

// Paths of the RPM family's shared system certificates (ca-certificates,
// p11-kit).
const (
	CATrustBundle     = "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"
	caTrustSourceDist = "/usr/share/pki/ca-trust-source"
	caTrustSourceEtc  = "/etc/pki/ca-trust/source"
)

var oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}
var oidServerAuth = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}

// caTrust writes the TLS trust bundle update-ca-trust extracts
// (trust extract --format=pem-bundle --filter=ca-anchors
// --purpose=server-auth) when the image does not have it: ca-certificates
// ships it as a %ghost file. The anchors are the certificates marked
// "trusted: true" in the p11-kit files of /usr/share/pki/ca-trust-source
// and /etc/pki/ca-trust/source, and the certificates in their anchors/
// directories; a certificate is left out when it is distrusted (in the
// p11-kit files or a blocklist/ directory) or when an extended key usage
// attached to its key (an x-certificate-extension object) or in it does
// not allow TLS servers. It also makes /etc/pki/tls/certs/ca-bundle.crt
// and /etc/pki/tls/cert.pem point at the bundle when they are missing.
func caTrust(f FS) ([]File, error) {
	var out []File
	if b, err := f.ReadFile(CATrustBundle); err != nil || len(b) == 0 {
		bundle, err := caTrustBundle(f)
		if err != nil {
			return nil, err
		}
		out = append(out, File{Path: CATrustBundle, Mode: 0o644, Data: bundle})
	}
	links := map[string]string{
		"/etc/pki/tls/certs/ca-bundle.crt": "../../ca-trust/extracted/pem/tls-ca-bundle.pem",
		"/etc/pki/tls/cert.pem":            "../ca-trust/extracted/pem/tls-ca-bundle.pem",
	}
	err := f.Walk(func(p string, _ fs.FileMode, _ string) error {
		delete(links, p) // the image has it: keep the package's
		return nil
	})
	if err != nil {
		return nil, err
	}
	for p, target := range links {
		out = append(out, File{Path: p, Mode: fs.ModeSymlink | 0o777, Link: target})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// p11Object is one [p11-kit-object-v1] section.
type p11Object struct {
	fields map[string]string
	blocks []*pem.Block
}

// parseP11Kit reads p11-kit's persistent format: sections of
// "key: value" lines and PEM blocks.
func parseP11Kit(data []byte) ([]p11Object, error) {
	var objs []p11Object
	var cur *p11Object
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\r")
		t := strings.TrimSpace(line)
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
		case t == "[p11-kit-object-v1]":
			objs = append(objs, p11Object{fields: map[string]string{}})
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
				cur.blocks = append(cur.blocks, b)
			}
			i = j
		default:
			k, v, ok := strings.Cut(t, ":")
			if !ok {
				return nil, fmt.Errorf("line %d: not a field: %q", i+1, t)
			}
			if cur != nil {
				cur.fields[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
			}
		}
	}
	return objs, nil
}

// p11Value decodes a p11-kit value written with %XX escapes.
func p11Value(s string) ([]byte, error) {
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

// ekuAllows reports whether an extended key usage extension (DER) allows
// TLS servers.
func ekuAllows(ext []byte) bool {
	var e pkix.Extension
	if _, err := asn1.Unmarshal(ext, &e); err != nil || !e.Id.Equal(oidExtKeyUsage) {
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

type anchor struct {
	label string
	cert  *x509.Certificate
}

// caTrustBundle extracts the TLS server anchors.
func caTrustBundle(f FS) ([]byte, error) {
	var files, anchorFiles, blockFiles []string
	err := f.Walk(func(p string, mode fs.FileMode, _ string) error {
		for _, root := range []string{caTrustSourceDist, caTrustSourceEtc} {
			rel, ok := strings.CutPrefix(p, root+"/")
			if !ok || mode.IsDir() {
				continue
			}
			switch {
			case strings.HasPrefix(rel, "anchors/"):
				anchorFiles = append(anchorFiles, p)
			case strings.HasPrefix(rel, "blocklist/") || strings.HasPrefix(rel, "blacklist/"):
				blockFiles = append(blockFiles, p)
			case strings.HasSuffix(rel, ".p11-kit") && !strings.Contains(rel, "/"):
				files = append(files, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var anchors []anchor
	distrusted := map[string]bool{} // by certificate DER
	restricted := map[string]bool{} // by public key DER: EKU without serverAuth
	for _, p := range files {
		data, err := f.ReadFile(p)
		if err != nil {
			return nil, err
		}
		objs, err := parseP11Kit(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for _, o := range objs {
			if o.fields["class"] == "x-certificate-extension" {
				if o.fields["object-id"] != oidExtKeyUsage.String() {
					continue
				}
				v, err := p11Value(o.fields["value"])
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", p, o.fields["label"], err)
				}
				if !ekuAllows(v) {
					for _, b := range o.blocks {
						if b.Type == "PUBLIC KEY" {
							restricted[string(b.Bytes)] = true
						}
					}
				}
				continue
			}
			for _, b := range o.blocks {
				if b.Type != "CERTIFICATE" {
					continue
				}
				c, err := x509.ParseCertificate(b.Bytes)
				if err != nil {
					continue // p11-kit skips what it cannot parse, too
				}
				switch {
				case o.fields["x-distrusted"] == "true" || o.fields["trusted"] == "false":
					distrusted[string(c.Raw)] = true
				case o.fields["trusted"] == "true":
					anchors = append(anchors, anchor{o.fields["label"], c})
				}
			}
		}
	}
	readCerts := func(p string) []*x509.Certificate {
		data, err := f.ReadFile(p)
		if err != nil {
			return nil
		}
		var out []*x509.Certificate
		for rest := data; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if c, err := x509.ParseCertificate(b.Bytes); err == nil && b.Type == "CERTIFICATE" {
				out = append(out, c)
			}
		}
		if len(out) == 0 {
			if c, err := x509.ParseCertificate(data); err == nil {
				out = append(out, c)
			}
		}
		return out
	}
	sort.Strings(anchorFiles)
	for _, p := range anchorFiles {
		for _, c := range readCerts(p) {
			anchors = append(anchors, anchor{path.Base(p), c})
		}
	}
	for _, p := range blockFiles {
		for _, c := range readCerts(p) {
			distrusted[string(c.Raw)] = true
		}
	}
	var buf bytes.Buffer
	seen := map[string]bool{}
	for _, a := range anchors {
		c := a.cert
		if seen[string(c.Raw)] || distrusted[string(c.Raw)] || restricted[string(c.RawSubjectPublicKeyInfo)] {
			continue
		}
		if len(c.ExtKeyUsage) > 0 || len(c.UnknownExtKeyUsage) > 0 {
			ok := false
			for _, u := range c.ExtKeyUsage {
				ok = ok || u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny
			}
			if !ok {
				continue
			}
		}
		seen[string(c.Raw)] = true
		if a.label != "" {
			fmt.Fprintf(&buf, "# %s\n", a.label)
		}
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	if buf.Len() == 0 {
		return nil, fmt.Errorf("no trusted CA certificates under %s or %s (is ca-certificates in the image?)", caTrustSourceDist, caTrustSourceEtc)
	}
	return buf.Bytes(), nil
}
