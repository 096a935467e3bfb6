package attest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// The in-toto v1 statement and the SLSA v1 provenance predicate, as JSON
// (github.com/in-toto/attestation's protobuf messages in their JSON
// form). The fields of each struct are in the byte order of their JSON
// names, so that encoding/json writes the keys sorted, as it writes a
// map's; fields left empty are left out, as protojson leaves them out.

// statementType is the _type of an in-toto v1 statement.
const statementType = "https://in-toto.io/Statement/v1"

type statement struct {
	Type          string               `json:"_type"`
	Predicate     any                  `json:"predicate"`
	PredicateType string               `json:"predicateType"`
	Subject       []resourceDescriptor `json:"subject"`
}

type resourceDescriptor struct {
	Annotations map[string]string `json:"annotations,omitempty"`
	Digest      map[string]string `json:"digest,omitempty"`
	Name        string            `json:"name,omitempty"`
	URI         string            `json:"uri,omitempty"`
}

type slsaProvenance struct {
	BuildDefinition slsaBuildDefinition `json:"buildDefinition"`
	RunDetails      slsaRunDetails      `json:"runDetails"`
}

type slsaBuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   map[string]any       `json:"externalParameters"`
	InternalParameters   map[string]any       `json:"internalParameters"`
	ResolvedDependencies []resourceDescriptor `json:"resolvedDependencies,omitempty"`
}

type slsaRunDetails struct {
	Builder  slsaBuilder        `json:"builder"`
	Metadata *slsaBuildMetadata `json:"metadata,omitempty"`
}

type slsaBuilder struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

type slsaBuildMetadata struct {
	FinishedOn string `json:"finishedOn,omitempty"`
	StartedOn  string `json:"startedOn,omitempty"`
}

// canonical is the JSON of v with no insignificant space (encoding/json's
// form, keys sorted by the field order above and by encoding/json in
// maps).
func canonical(v any) ([]byte, error) {
	return json.Marshal(v)
}

// digestSizes are the sizes in bytes of the digests of the algorithms
// in-toto knows; a resource descriptor's digest by one of them must be
// hex of that size (others are taken as they are).
var digestSizes = map[string]int{
	"md5":  16,
	"sha1": 20, "gitBlob": 20, "gitCommit": 20, "gitTag": 20, "gitTree": 20,
	"sha224": 28, "sha512_224": 28, "sha3_224": 28,
	"sha256": 32, "sha512_256": 32, "sha3_256": 32, "dirHash": 32,
	"sha384": 48, "sha3_384": 48,
	"sha512": 64, "sha3_512": 64,
}

// validate checks a resource descriptor as in-toto does (a name, URI or
// digest; a digest of a known algorithm in hex of its size) and that its
// strings are UTF-8.
func (d *resourceDescriptor) validate() error {
	if d.Name == "" && d.URI == "" && len(d.Digest) == 0 {
		return errors.New("a resource needs a name, a URI or a digest")
	}
	if err := checkUTF8(d.Name, d.URI); err != nil {
		return err
	}
	for alg, v := range d.Digest {
		if err := checkUTF8(alg, v); err != nil {
			return err
		}
		if size, ok := digestSizes[alg]; ok {
			b, err := hex.DecodeString(v)
			if err != nil {
				return fmt.Errorf("digest %s:%s is not hex", alg, v)
			}
			if len(b) != size {
				return fmt.Errorf("digest %s:%s has %d bytes, want %d", alg, v, len(b), size)
			}
		}
	}
	for k, v := range d.Annotations {
		if err := checkUTF8(k, v); err != nil {
			return err
		}
	}
	return nil
}

// checkUTF8 refuses a string that is not UTF-8 (a statement's strings
// are: encoding/json would write U+FFFD in place of the bad bytes).
func checkUTF8(ss ...string) error {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return fmt.Errorf("invalid UTF-8 in string %q", s)
		}
	}
	return nil
}

// structOf converts m into a JSON object of a protobuf Struct's values
// (structpb.NewStruct's conversions): null, bools, strings, numbers,
// which are all float64 (so an int64 beyond 2^53 is rounded), []byte as
// standard base64, map[string]any and []any; any other type, a string
// that is not UTF-8, NaN and the infinities are errors.
func structOf(m map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if err := checkUTF8(k); err != nil {
			return nil, err
		}
		var err error
		if out[k], err = valueOf(v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func valueOf(v any) (any, error) {
	var f float64
	switch v := v.(type) {
	case nil, bool:
		return v, nil
	case int:
		f = float64(v)
	case int8:
		f = float64(v)
	case int16:
		f = float64(v)
	case int32:
		f = float64(v)
	case int64:
		f = float64(v)
	case uint:
		f = float64(v)
	case uint8:
		f = float64(v)
	case uint16:
		f = float64(v)
	case uint32:
		f = float64(v)
	case uint64:
		f = float64(v)
	case float32:
		f = float64(v)
	case float64:
		f = v
	case json.Number:
		n, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return nil, fmt.Errorf("invalid number %q, expected a float64: %v", v, err)
		}
		f = n
	case string:
		return v, checkUTF8(v)
	case []byte:
		return base64.StdEncoding.EncodeToString(v), nil
	case map[string]any:
		return structOf(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			var err error
			if out[i], err = valueOf(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("invalid type: %T", v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("invalid number value %v", f)
	}
	return f, nil
}

// The range of a protobuf Timestamp: 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59Z.
const minTimestamp, maxTimestamp = -62135596800, 253402300799

// timestamp is t as protojson writes a Timestamp: RFC 3339 in UTC, with
// 0, 3, 6 or 9 digits of fractional seconds.
func timestamp(t time.Time) (string, error) {
	if s := t.Unix(); s < minTimestamp || s > maxTimestamp {
		return "", fmt.Errorf("%v is out of a timestamp's range (years 1 to 9999)", t)
	}
	x := t.UTC().Format("2006-01-02T15:04:05.000000000")
	for _, cut := range []string{"000", "000", ".000"} {
		if len(x) >= len(cut) && x[len(x)-len(cut):] == cut {
			x = x[:len(x)-len(cut)]
		}
	}
	return x + "Z", nil
}

// decodeObject decodes a JSON object as protojson decodes a Struct, the
// form in which it becomes a predicate: numbers as float64; and refused,
// where encoding/json alone would take them, a name twice in an object,
// bytes that are not UTF-8 and an escaped lone surrogate.
func decodeObject(data []byte) (map[string]any, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("invalid UTF-8")
	}
	if err := checkSurrogates(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("a JSON %s, not an object", kindOf(tok))
	}
	m, err := decodeMembers(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the object")
		}
		return nil, err
	}
	return m, nil
}

func kindOf(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

// decodeMembers reads an object's members, its '{' read.
func decodeMembers(dec *json.Decoder) (map[string]any, error) {
	m := map[string]any{}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if tok == json.Delim('}') {
			return m, nil
		}
		k := tok.(string) // the decoder gives a name or '}' here
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("duplicate name %q in an object", k)
		}
		if m[k], err = decodeValue(dec); err != nil {
			return nil, err
		}
	}
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		return decodeMembers(dec)
	case json.Delim('['):
		l := []any{}
		for dec.More() {
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, err
		}
		return l, nil
	}
	return tok, nil
}

// checkSurrogates refuses a \u escape of a UTF-16 surrogate that is not
// half of a pair (encoding/json would decode it as U+FFFD). data is
// valid UTF-8; its JSON syntax is checked after.
func checkSurrogates(data []byte) error {
	if !bytes.Contains(data, []byte(`\u`)) {
		return nil
	}
	in := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			in = !in
		case c == '\\' && in && i+1 < len(data):
			if data[i+1] != 'u' {
				i++
				continue
			}
			r, ok := hex4(data, i+2)
			if !ok {
				continue // a syntax error, which the decoder reports
			}
			i += 5
			if !utf16.IsSurrogate(r) {
				continue
			}
			if i+6 < len(data) && data[i+1] == '\\' && data[i+2] == 'u' {
				if r2, ok := hex4(data, i+3); ok && utf16.DecodeRune(r, r2) != utf8.RuneError {
					i += 6
					continue
				}
			}
			return fmt.Errorf("an escaped lone surrogate %s in a string", data[i-5:i+1])
		}
	}
	return nil
}

func hex4(data []byte, at int) (rune, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(data[at:at+4]), 16, 16)
	return rune(n), err == nil
}
