package assemble

// OpenSSL's default trust paths on Debian: what the openssl package's
// links and update-ca-certificates (through `openssl rehash`) would have
// made, done in Go.

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/distroless-dev/distroless/internal/trust"
)

// OpenSSL's directory on Debian (OPENSSLDIR): its default certificate
// file and directory are cert.pem and certs/ in it, which Debian's
// openssl package links to the system store.
const (
	opensslDir   = "/usr/lib/ssl"
	etcCertsDir  = "/etc/ssl/certs"
	sslCertsMode = fs.ModeSymlink | 0o777
)

func init() {
	registerGenerator("ca-certificates", caCertificates)
	// A later layer adding certificates (a profile's files, gen's
	// --ca-cert) gets the bundle and links made again.
	registerRerun("ca-certificates", caCertificates, "/usr/share/ca-certificates/", localCADir+"/")
}

// localCADir is where an administrator puts CA certificates of their own
// (*.crt, PEM) for update-ca-certificates.
const localCADir = "/usr/local/share/ca-certificates"

// caBundlePath is where the CA bundle goes (and SSL_CERT_FILE points).
const caBundlePath = "/etc/ssl/certs/ca-certificates.crt"

// caCertificates does in Go what Debian's update-ca-certificates does
// with every certificate enabled (the Debian static profile names it):
// the CA bundle /etc/ssl/certs/ca-certificates.crt, every certificate
// under /usr/share/ca-certificates then /usr/local/share/ca-certificates
// (*.crt, each in path order, each ending in a newline), and the links of
// OpenSSL's default trust paths (sslCertLinks). When there is no
// certificate it makes nothing and warns.
func caCertificates(f imageFS) ([]File, error) {
	have := map[string]bool{}
	links := map[string]string{} // symlink → target
	var certs []string
	err := f.Walk(func(p string, mode fs.FileMode, target string) error {
		have[p] = true
		if mode&fs.ModeSymlink != 0 {
			links[p] = target
		}
		if strings.HasSuffix(p, ".crt") && (mode.IsRegular() || mode&fs.ModeSymlink != 0) &&
			(strings.HasPrefix(p, "/usr/share/ca-certificates/") || strings.HasPrefix(p, "/usr/local/share/ca-certificates/")) {
			certs = append(certs, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(certs, func(i, j int) bool {
		li := strings.HasPrefix(certs[i], "/usr/local/")
		lj := strings.HasPrefix(certs[j], "/usr/local/")
		if li != lj {
			return lj
		}
		return certs[i] < certs[j]
	})
	if err := checkLocalCAs(f, certs, localCADir+"/"); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for _, p := range certs {
		data, err := f.ReadFile(p) // a link must lead to a regular file
		if err != nil {
			continue
		}
		buf.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			buf.WriteByte('\n')
		}
	}
	if buf.Len() == 0 {
		f.Warn("ca-certificates ships no certificates: no " + caBundlePath)
		return nil, nil
	}
	out := []File{{Path: caBundlePath, Mode: 0o644, Data: buf.Bytes()}}
	made, warnings := sslCertLinks(f, have, links, certs)
	for _, w := range warnings {
		f.Warn(w)
	}
	return append(out, made...), nil
}

// checkLocalCAs checks the certificate files under the local directory
// local among files (the store's certificate files): each must be a
// valid PEM certificate (trust.LocalCA), and none may repeat one of the
// store's other certificates. Errors name the file.
func checkLocalCAs(f imageFS, files []string, local string) error {
	now := time.Now()
	seen := map[string]string{} // DER → the file first holding it
	for _, p := range files {
		data, err := f.ReadFile(p)
		if err != nil {
			if strings.HasPrefix(p, local) {
				return fmt.Errorf("%s: %w", p, err)
			}
			continue
		}
		if !strings.HasPrefix(p, local) {
			for rest := data; ; {
				var b *pem.Block
				if b, rest = pem.Decode(rest); b == nil {
					break
				}
				if _, ok := seen[string(b.Bytes)]; !ok {
					seen[string(b.Bytes)] = p
				}
			}
			continue
		}
		certs, err := trust.LocalCA(p, data, now)
		if err != nil {
			return err
		}
		for _, c := range certs {
			if q, ok := seen[string(c.Raw)]; ok {
				return fmt.Errorf("%s: certificate %q is a duplicate: %s has it already", p, c.Subject.String(), q)
			}
			seen[string(c.Raw)] = p
		}
	}
	return nil
}

// isHashLink reports whether name is a subject-hash link's: HASH.N.
func isHashLink(name string) bool {
	h, n, ok := strings.Cut(name, ".")
	if !ok || len(h) != 8 || n == "" {
		return false
	}
	for _, c := range h {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// certPEMName is the name update-ca-certificates gives a certificate's
// link in /etc/ssl/certs: its base name without .crt, with spaces and
// commas made "_" and parentheses "=", plus ".pem".
func certPEMName(crt string) string {
	b := strings.TrimSuffix(path.Base(crt), ".crt")
	b = strings.NewReplacer(" ", "_", "(", "=", ")", "=", ",", "_").Replace(b)
	return b + ".pem"
}

// sslCertLinks makes the links of OpenSSL's default trust paths: in
// /etc/ssl/certs a NAME.pem link per certificate of the bundle (to its
// file under /usr/share/ca-certificates, as update-ca-certificates makes
// them) and the subject-hash links HASH.N to those (as `openssl rehash`
// makes them: in name order, N counting certificates whose subjects hash
// alike, a certificate equal to an earlier one skipped); and
// /usr/lib/ssl/cert.pem and /usr/lib/ssl/certs, OpenSSL's default file
// and directory, linked to the bundle and /etc/ssl/certs as Debian's
// openssl package links them. A path the image already has is left as it
// is. certs are the bundle's certificate files (absolute paths), have
// every path the image has.
func sslCertLinks(f imageFS, have map[string]bool, links map[string]string, certs []string) ([]File, []string) {
	var out []File
	var warnings []string
	link := func(p, target string) {
		if !have[p] {
			out = append(out, File{Path: p, Mode: sslCertsMode, Link: target})
		}
	}
	type pemLink struct {
		name string
		der  []byte
		subj []byte
	}
	var pems []pemLink
	// update-ca-certificates links each in turn (ln -sf): of two files
	// with the same name, the later one's link stays.
	byName := map[string]string{}
	var names []string
	for _, p := range certs {
		name := certPEMName(p)
		if _, ok := byName[name]; !ok {
			names = append(names, name)
		}
		byName[name] = p
	}
	for _, name := range names {
		p := byName[name]
		data, err := f.ReadFile(p)
		if err != nil {
			continue
		}
		link(etcCertsDir+"/"+name, p)
		// openssl rehash links files holding exactly one certificate.
		var blocks []*pem.Block
		for rest := data; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			blocks = append(blocks, b)
		}
		if len(blocks) != 1 || blocks[0].Type != "CERTIFICATE" {
			warnings = append(warnings, fmt.Sprintf("%s: not exactly one PEM certificate: no subject-hash link", p))
			continue
		}
		c, err := x509.ParseCertificate(blocks[0].Bytes)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: %v: no subject-hash link", p, err))
			continue
		}
		pems = append(pems, pemLink{name, c.Raw, c.RawSubject})
	}
	sort.Slice(pems, func(i, j int) bool { return pems[i].name < pems[j].name })
	// A hash link a lower layer made stays; a certificate without one
	// takes the next number its hash has free (as `openssl rehash` run
	// again numbers a new certificate).
	linked := map[string]bool{} // NAME.pem the image has a hash link to
	for p, target := range links {
		if strings.HasPrefix(p, etcCertsDir+"/") && isHashLink(path.Base(p)) {
			linked[target] = true
		}
	}
	next := map[uint32]int{}
	seenCert := map[[20]byte]bool{}
	for _, pl := range pems {
		h, err := trust.SubjectHash(pl.subj)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s/%s: %v: no subject-hash link", etcCertsDir, pl.name, err))
			continue
		}
		fp := sha1.Sum(pl.der)
		if seenCert[fp] {
			continue
		}
		seenCert[fp] = true
		if linked[pl.name] {
			continue
		}
		for have[fmt.Sprintf("%s/%08x.%d", etcCertsDir, h, next[h])] {
			next[h]++
		}
		link(fmt.Sprintf("%s/%08x.%d", etcCertsDir, h, next[h]), pl.name)
		next[h]++
	}
	link(opensslDir+"/cert.pem", caBundlePath)
	link(opensslDir+"/certs", etcCertsDir)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, warnings
}
