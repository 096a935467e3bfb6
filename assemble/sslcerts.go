package assemble

// OpenSSL's default trust paths on Debian: what the openssl package's
// links and update-ca-certificates (through `openssl rehash`) would have
// made, done in Go.

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// OpenSSL's directory on Debian (OPENSSLDIR): its default certificate
// file and directory are cert.pem and certs/ in it, which Debian's
// openssl package links to the system store.
const (
	opensslDir   = "/usr/lib/ssl"
	etcCertsDir  = "/etc/ssl/certs"
	sslCertsMode = fs.ModeSymlink | 0o777
)

func init() { registerGenerator("ca-certificates", caCertificates) }

// caBundlePath is where the CA bundle goes (and SSL_CERT_FILE points).
const caBundlePath = "/etc/ssl/certs/ca-certificates.crt"

// caCertificates does in Go what Debian's update-ca-certificates does
// with every certificate enabled (the Debian static profile names it):
// the CA bundle /etc/ssl/certs/ca-certificates.crt, every certificate
// under /usr/share/ca-certificates then /usr/local/share/ca-certificates
// (*.crt, each in path order, each ending in a newline), and the links of
// OpenSSL's default trust paths (sslCertLinks). When there is no
// certificate it makes nothing and warns.
func caCertificates(f FS) ([]File, error) {
	have := map[string]bool{}
	var certs []string
	err := f.Walk(func(p string, mode fs.FileMode, _ string) error {
		have[p] = true
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
	links, warnings := sslCertLinks(f, have, certs)
	for _, w := range warnings {
		f.Warn(w)
	}
	return append(out, links...), nil
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
func sslCertLinks(f FS, have map[string]bool, certs []string) ([]File, []string) {
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
	next := map[uint32]int{}
	seenCert := map[[20]byte]bool{}
	for _, pl := range pems {
		h, err := SubjectHash(pl.subj)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s/%s: %v: no subject-hash link", etcCertsDir, pl.name, err))
			continue
		}
		fp := sha1.Sum(pl.der)
		if seenCert[fp] {
			continue
		}
		seenCert[fp] = true
		link(fmt.Sprintf("%s/%08x.%d", etcCertsDir, h, next[h]), pl.name)
		next[h]++
	}
	link(opensslDir+"/cert.pem", caBundlePath)
	link(opensslDir+"/certs", etcCertsDir)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, warnings
}

// SubjectHash is OpenSSL's X509_NAME_hash_ex of a DER-encoded name (a
// certificate's subject): the first four bytes, little-endian, of the
// SHA-1 of the name's canonical encoding. That encoding is each relative
// distinguished name's SET re-encoded (DER, so sorted), one after the
// other without the outer SEQUENCE, with every string value of a
// directory string type converted to a UTF8String, its ASCII letters
// lowercased, leading and trailing white space removed and inner runs of
// white space made one space.
func SubjectHash(rawName []byte) (uint32, error) {
	canon, err := canonicalName(rawName)
	if err != nil {
		return 0, err
	}
	sum := sha1.Sum(canon)
	return binary.LittleEndian.Uint32(sum[:4]), nil
}

func canonicalName(rawName []byte) ([]byte, error) {
	var seq asn1.RawValue
	rest, err := asn1.Unmarshal(rawName, &seq)
	if err != nil || len(rest) > 0 || seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return nil, errors.New("name: not a DER SEQUENCE")
	}
	var out []byte
	for b := seq.Bytes; len(b) > 0; {
		var set asn1.RawValue
		if b, err = asn1.Unmarshal(b, &set); err != nil {
			return nil, fmt.Errorf("name: %w", err)
		}
		if set.Class != asn1.ClassUniversal || set.Tag != asn1.TagSet || !set.IsCompound {
			return nil, errors.New("name: an RDN is not a SET")
		}
		var entries [][]byte
		for e := set.Bytes; len(e) > 0; {
			var atv asn1.RawValue
			if e, err = asn1.Unmarshal(e, &atv); err != nil {
				return nil, fmt.Errorf("name: %w", err)
			}
			if atv.Tag != asn1.TagSequence || !atv.IsCompound {
				return nil, errors.New("name: an attribute is not a SEQUENCE")
			}
			var oid, val asn1.RawValue
			r, err := asn1.Unmarshal(atv.Bytes, &oid)
			if err != nil || oid.Tag != asn1.TagOID {
				return nil, errors.New("name: an attribute has no type")
			}
			if r, err = asn1.Unmarshal(r, &val); err != nil || len(r) > 0 {
				return nil, errors.New("name: an attribute has no single value")
			}
			v, err := canonicalValue(val)
			if err != nil {
				return nil, err
			}
			entries = append(entries, derTLV(0x30, append(append([]byte(nil), oid.FullBytes...), v...)))
		}
		sort.Slice(entries, func(i, j int) bool { return bytes.Compare(entries[i], entries[j]) < 0 })
		out = append(out, derTLV(0x31, bytes.Join(entries, nil))...)
	}
	return out, nil
}

// canonicalValue is an attribute value as OpenSSL's asn1_string_canon
// leaves it, DER-encoded.
func canonicalValue(v asn1.RawValue) ([]byte, error) {
	if v.Class != asn1.ClassUniversal || v.IsCompound {
		return v.FullBytes, nil
	}
	var s []rune
	switch v.Tag {
	case asn1.TagUTF8String:
		if !utf8.Valid(v.Bytes) {
			return nil, errors.New("name: invalid UTF8String")
		}
		s = []rune(string(v.Bytes))
	case asn1.TagPrintableString, asn1.TagIA5String, asn1.TagT61String, 26: // VisibleString
		// One byte a character (T61String read as Latin-1, as OpenSSL does).
		for _, c := range v.Bytes {
			s = append(s, rune(c))
		}
	case asn1.TagBMPString:
		if len(v.Bytes)%2 != 0 {
			return nil, errors.New("name: odd-length BMPString")
		}
		u := make([]uint16, len(v.Bytes)/2)
		for i := range u {
			u[i] = binary.BigEndian.Uint16(v.Bytes[2*i:])
		}
		s = utf16.Decode(u)
	case 28: // UniversalString
		if len(v.Bytes)%4 != 0 {
			return nil, errors.New("name: bad UniversalString length")
		}
		for i := 0; i < len(v.Bytes); i += 4 {
			s = append(s, rune(binary.BigEndian.Uint32(v.Bytes[i:])))
		}
	default:
		return v.FullBytes, nil
	}
	u := []byte(string(s))
	isSpace := func(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }
	for len(u) > 0 && isSpace(u[0]) {
		u = u[1:]
	}
	for len(u) > 0 && isSpace(u[len(u)-1]) {
		u = u[:len(u)-1]
	}
	var b []byte
	for i := 0; i < len(u); {
		c := u[i]
		switch {
		case c >= 0x80:
			b = append(b, c)
			i++
		case isSpace(c):
			b = append(b, ' ')
			for i < len(u) && isSpace(u[i]) {
				i++
			}
		default:
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			i++
		}
	}
	return derTLV(asn1.TagUTF8String, b), nil
}

// derTLV encodes one DER element with a one-byte tag.
func derTLV(tag byte, content []byte) []byte {
	n := len(content)
	out := []byte{tag}
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	default:
		var l []byte
		for x := n; x > 0; x >>= 8 {
			l = append([]byte{byte(x)}, l...)
		}
		out = append(out, 0x80|byte(len(l)))
		out = append(out, l...)
	}
	return append(out, content...)
}
