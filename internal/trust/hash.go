package trust

import (
	"bytes"
	"crypto/sha1"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"unicode/utf16"
	"unicode/utf8"
)

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
