package assemble

// The ca-trust generator: what update-ca-trust (run by the RPM family's
// ca-certificates scriptlets) would have extracted, done in Go.

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/distroless-dev/distroless/internal/trust"
)

func init() {
	registerGenerator("ca-trust", caTrust)
	// A later layer adding anchors (a profile's files, gen's --ca-cert)
	// gets the bundle extracted again.
	registerRerun("ca-trust", func(f imageFS) ([]File, error) { return caTrustWith(f, true) },
		caTrustSourceDist+"/", caTrustSourceEtc+"/")
}

// Paths of the RPM family's shared system certificates (ca-certificates,
// p11-kit).
const (
	caTrustBundlePath = "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"
	caTrustSourceDist = "/usr/share/pki/ca-trust-source"
	caTrustSourceEtc  = "/etc/pki/ca-trust/source"
)

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
func caTrust(f imageFS) ([]File, error) { return caTrustWith(f, false) }

// caTrustWith is caTrust; again makes the bundle even when the image has
// one (a lower layer's, extracted before anchors were added).
func caTrustWith(f imageFS, again bool) ([]File, error) {
	var out []File
	if b, err := f.ReadFile(caTrustBundlePath); again || err != nil || len(b) == 0 {
		bundle, err := caTrustBundle(f)
		if err != nil {
			return nil, err
		}
		out = append(out, File{Path: caTrustBundlePath, Mode: 0o644, Data: bundle})
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

type anchor struct {
	label string
	cert  *x509.Certificate
}

// caTrustBundle extracts the TLS server anchors.
func caTrustBundle(f imageFS) ([]byte, error) {
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
	// The administrator's anchors (/etc/pki/ca-trust/source/anchors) are
	// checked as gen's --ca-cert is; the distro's are taken as they are.
	var checked []string
	for _, p := range anchorFiles {
		if strings.HasPrefix(p, caTrustSourceEtc+"/") {
			checked = append(checked, p)
		}
	}
	if err := checkLocalCAs(f, checked, caTrustSourceEtc+"/"); err != nil {
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
		objs, err := trust.ParseP11Kit(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for _, o := range objs {
			if o.Fields["class"] == "x-certificate-extension" {
				if o.Fields["object-id"] != trust.OIDExtKeyUsage.String() {
					continue
				}
				v, err := trust.P11Value(o.Fields["value"])
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", p, o.Fields["label"], err)
				}
				if !trust.EKUAllowsTLSServer(v) {
					for _, b := range o.Blocks {
						if b.Type == "PUBLIC KEY" {
							restricted[string(b.Bytes)] = true
						}
					}
				}
				continue
			}
			for _, b := range o.Blocks {
				if b.Type != "CERTIFICATE" {
					continue
				}
				c, err := x509.ParseCertificate(b.Bytes)
				if err != nil {
					continue // p11-kit skips what it cannot parse, too
				}
				switch {
				case o.Fields["x-distrusted"] == "true" || o.Fields["trusted"] == "false":
					distrusted[string(c.Raw)] = true
				case o.Fields["trusted"] == "true":
					anchors = append(anchors, anchor{o.Fields["label"], c})
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
