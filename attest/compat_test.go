package attest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// richBuilds are builds that exercise every field of the provenance and
// every kind of parameter value (numbers that protobuf's Struct holds as
// float64, []byte, nesting, strings encoding/json escapes), dated with
// each number of fractional digits.
func richBuilds() map[string]Build {
	out := map[string]Build{"plain": testBuild()}
	add := func(name string, mod func(*Build)) {
		b := testBuild()
		mod(&b)
		out[name] = b
	}
	add("index", func(b *Build) { b.Index = "sha256:" + sha('b') })
	add("undated", func(b *Build) { b.Created = time.Time{} })
	add("epoch 0", func(b *Build) { b.Created = time.Unix(0, 0) })
	add("negative epoch", func(b *Build) { b.Created = time.Unix(-86400*365*100, 5) })
	add("year 9999", func(b *Build) { b.Created = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC) })
	add("year 1", func(b *Build) { b.Created = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC) })
	for _, ns := range []int64{1, 100, 120000000, 123000000, 123400000, 123456000, 123456700, 123456789, 999999999} {
		add(fmt.Sprint("nanos ", ns), func(b *Build) { b.Created = time.Unix(1700000000, ns) })
	}
	add("zone", func(b *Build) { b.Created = time.Unix(1700000000, 5e6).In(time.FixedZone("x", -7*3600)) })
	add("no revision, empty version, builder", func(b *Build) {
		b.Revision, b.Version, b.BuilderID = "", "", "https://ci.example/<builder>&"
	})
	add("no argv", func(b *Build) { b.Argv = nil })
	add("odd argv", func(b *Build) {
		b.Argv = []string{"", "<script>&amp;", "\u2028\u2029", "tab\there", "\x00\x1f", "é 漢字 😀", `quote " backslash \ slash /`}
	})
	add("no parameters", func(b *Build) { b.Parameters = nil })
	add("rich parameters", func(b *Build) {
		b.Parameters = map[string]any{
			"nil": nil, "true": true, "false": false,
			"int": 42, "neg": -7, "int8": int8(-8), "int16": int16(1600), "int32": int32(-320000),
			"int64 big": int64(1) << 60, "int64 odd": int64(9007199254740993), "int64 min": int64(math.MinInt64),
			"uint": uint(7), "uint8": uint8(255), "uint16": uint16(65535), "uint32": uint32(4294967295), "uint64 max": uint64(math.MaxUint64),
			"float32": float32(0.1), "float64": 0.1, "tiny": 5e-324, "small": 1e-7, "smaller": 1.5e-7, "big": 1e21, "bigger": 1.2345e22,
			"just below e21": 999999999999999900000.0, "neg zero": math.Copysign(0, -1), "max": math.MaxFloat64,
			"json.Number": json.Number("1.5e300"), "json.Number int": json.Number("12345678901234567890"),
			"bytes": []byte("\x00\xffbinary"), "empty bytes": []byte{},
			"list":          []any{1, "two", 3.5, nil, []any{}, map[string]any{}, []any{map[string]any{"z": 1, "a": []any{true}}}},
			"map":           map[string]any{"b": 2, "a": map[string]any{"<": ">", "&": "\u2028"}, "": "empty key"},
			"html <&>":      "<a href=\"x\">&</a>",
			"unicode é":     "漢字 😀 \u00a0 \ufeff",
			"control":       "\x01\x7f\n\r\t",
			"empty":         "",
			"profile":       "python3",
			"allowMissing":  false,
			"settings":      map[string]any{"mirror": "https://deb.example/debian", "n": 3},
			"add":           []any{"curl", "tzdata"},
			"deep":          map[string]any{"a": map[string]any{"b": map[string]any{"c": []any{[]any{[]any{0.5}}}}}},
			"sorted 1 vs A": map[string]any{"a": 1, "A": 2, "1": 3, "_": 4, "~": 5, "é": 6, "aa": 7, "a ": 8},
		}
	})
	add("dependency fields", func(b *Build) {
		b.Packages[0].Layer, b.Packages[0].Size, b.Packages[0].Path = "base", 12345, "pool/main/x/x.deb"
		b.Packages[1].Size = 1 << 40
		b.Packages = append(b.Packages, Dependency{Name: "tzdata_2025a_all", URI: "https://deb.example/a.deb", SHA256: strings.ToUpper(sha('c'))})
		b.Indexes = append(b.Indexes, Dependency{Name: "<odd & name>", URI: "https://deb.example/x?a=1&b=<2>", SHA256: sha('d')})
		b.Apps = []Dependency{
			{Name: "pypi", URI: "pkg:pypi/requests@2.31.0", SHA256: sha('e')},
			{Name: "npm", URI: "pkg:npm/%40scope/x@1.0.0", Digest: map[string]string{"sha512": strings.Repeat("ab", 64)}},
			{Name: "npm2", URI: "pkg:npm/y@1", Digest: map[string]string{"sha1": strings.Repeat("cd", 20), "weird": "not hex at all"}},
		}
		b.Inputs = append(b.Inputs, Dependency{URI: "file:keyring.gpg", SHA256: sha('f')}, Dependency{Name: "distro file", URI: "file:d.toml", SHA256: sha('0')})
		b.Profiles = nil
	})
	add("uppercase subject digest", func(b *Build) { b.Digest = "sha256:" + strings.ToUpper(sha('a')) })
	add("odd subject", func(b *Build) { b.Subject = "registry.example:5000/<app>&co" })
	return out
}

// TestProvenanceMatchesProtobuf: the statement written with encoding/json
// is byte for byte the one in-toto's protobuf types and protojson wrote
// (legacyProvenance), for every field and kind of value.
func TestProvenanceMatchesProtobuf(t *testing.T) {
	for name, b := range richBuilds() {
		want, err := legacyProvenance(b)
		if err != nil {
			t.Fatalf("%s: protobuf: %v", name, err)
		}
		got, err := Provenance(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: bytes differ\n got %s\nwant %s", name, got, want)
		}
	}
}

// TestProvenanceRefusesAsProtobuf: what the protobuf way refused is
// refused, and nothing more: values a Struct cannot hold, strings that
// are not UTF-8, dates out of a Timestamp's range, digests of a known
// algorithm of the wrong size.
func TestProvenanceRefusesAsProtobuf(t *testing.T) {
	bad := "bad \xff utf-8"
	for name, c := range map[string]struct {
		mod   func(*Build)
		error bool
	}{
		"NaN":               {func(b *Build) { b.Parameters["x"] = math.NaN() }, true},
		"+Inf":              {func(b *Build) { b.Parameters["x"] = math.Inf(1) }, true},
		"-Inf float32":      {func(b *Build) { b.Parameters["x"] = float32(math.Inf(-1)) }, true},
		"NaN in a list":     {func(b *Build) { b.Parameters["x"] = []any{1, math.NaN()} }, true},
		"typed slice":       {func(b *Build) { b.Parameters["x"] = []string{"a"} }, true},
		"typed map":         {func(b *Build) { b.Parameters["x"] = map[string]string{"a": "b"} }, true},
		"struct":            {func(b *Build) { b.Parameters["x"] = struct{}{} }, true},
		"bad json.Number":   {func(b *Build) { b.Parameters["x"] = json.Number("one") }, true},
		"huge json.Number":  {func(b *Build) { b.Parameters["x"] = json.Number("1e400") }, true},
		"bad utf-8 value":   {func(b *Build) { b.Parameters["x"] = bad }, true},
		"bad utf-8 key":     {func(b *Build) { b.Parameters[bad] = 1 }, true},
		"bad utf-8 nested":  {func(b *Build) { b.Parameters["x"] = map[string]any{"y": []any{bad}} }, true},
		"bad utf-8 argv":    {func(b *Build) { b.Argv = append(b.Argv, bad) }, true},
		"bad utf-8 version": {func(b *Build) { b.Version = bad }, true},
		"bad utf-8 rev":     {func(b *Build) { b.Revision = bad }, true},
		"bad utf-8 builder": {func(b *Build) { b.BuilderID = bad }, true},
		"bad utf-8 subject": {func(b *Build) { b.Subject = bad }, true},
		"bad utf-8 name":    {func(b *Build) { b.Packages[0].Name = bad }, true},
		"bad utf-8 uri":     {func(b *Build) { b.Indexes[0].URI = bad }, true},
		"bad utf-8 kind":    {func(b *Build) { b.Inputs[0].Name = bad }, true},
		"bad utf-8 alg":     {func(b *Build) { b.Apps = []Dependency{{URI: "u", Digest: map[string]string{bad: "x"}}} }, true},
		"year 10000":        {func(b *Build) { b.Created = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, true},
		"year 0":            {func(b *Build) { b.Created = time.Date(0, 12, 31, 23, 59, 59, 0, time.UTC) }, true},
		"short sha512":      {func(b *Build) { b.Apps = []Dependency{{URI: "u", Digest: map[string]string{"sha512": "abcd"}}} }, true},
		"sha1 not hex": {func(b *Build) {
			b.Apps = []Dependency{{URI: "u", Digest: map[string]string{"sha1": strings.Repeat("z", 40)}}}
		}, true},
		"unknown alg": {func(b *Build) { b.Apps = []Dependency{{URI: "u", Digest: map[string]string{"blake9": "zz"}}} }, false},
		"empty kind":  {func(b *Build) { b.Inputs[0].Name = "" }, false},
	} {
		b := testBuild()
		c.mod(&b)
		old, oldErr := legacyProvenance(b)
		got, err := Provenance(b)
		if (oldErr != nil) != c.error || (err != nil) != c.error {
			t.Errorf("%s: protobuf error %v, error %v; want an error: %v", name, oldErr, err, c.error)
			continue
		}
		if !c.error && !bytes.Equal(old, got) {
			t.Errorf("%s: bytes differ\n got %s\nwant %s", name, got, old)
		}
	}
}

// predicates are JSON objects with every kind of value and of number and
// string spelling.
var predicates = []string{
	`{}`,
	` { "a" : 1 } `,
	`{"spdxVersion":"SPDX-2.3","name":"x","packages":[{"name":"a","versionInfo":"1.0"}]}`,
	`{"n":[0,-0,1,-1,1.0,1.5,1e2,1E2,1e+2,1e-2,-1.25e-7,0.1,0.000001,1e-7,123456789012345678901234567890,9007199254740993,1e21,999999999999999999999,1e300,5e-324,2.2250738585072014e-308,1.7976931348623157e308]}`,
	`{"s":["", "a\"b\\c\/d", "\b\f\n\r\t", "\u0000\u001f\u007f", "\u00e9\u6f22", "\ud83d\ude00", "😀", "\u2028\u2029", "<>&", "\u003c\u003e\u0026", "\ufffd", "\uFFFD"]}`,
	`{"nested":{"z":{"y":[[[]],[{}],{"x":null}]},"a":[true,false,null]},"A":1,"_":2,"~":3,"é":4,"":5}`,
	`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"libc6","version":"2.36-9","purl":"pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12","properties":[{"name":"x","value":"y"}]}]}`,
}

// badPredicates are refused by both ways: not an object, not JSON, a name
// twice, invalid UTF-8, an escaped lone surrogate, a number out of range.
var badPredicates = []string{
	``, ` `, `[1]`, `"x"`, `1`, `null`, `true`, `{`, `{"a":1}x`, `{"a":1} {}`, `{"a":1,}`, `{a:1}`, `{"a":01}`, `{'a':1}`,
	`{"a":1,"a":2}`, `{"a":{"b":1,"b":1}}`, `{"a":[{"x":1,"x":1}]}`,
	"{\"a\":\"\xff\"}", "{\"\xc3\":1}",
	`{"a":"\ud800"}`, `{"a":"\udc00"}`, `{"a":"\ud800x"}`, `{"a":"\ud800\u0041"}`, `{"a":"\udc00\ud800"}`, `{"\ud83d":1}`,
	`{"a":"tab	raw"}`, "{\"a\":\"new\nline\"}", `{"a":1e400}`, `{"a":-1e400}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":NaN}`,
}

// A layer or path that is not UTF-8 is refused; the protobuf way dropped
// the dependency's annotations, kind included, without a word.
func TestProvenanceRefusesBadAnnotation(t *testing.T) {
	for _, mod := range []func(*Build){
		func(b *Build) { b.Packages[0].Layer = "\xff" },
		func(b *Build) { b.Packages[0].Path = "pool/\xff.deb" },
	} {
		b := testBuild()
		mod(&b)
		if out, err := Provenance(b); err == nil || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("%v: %s", err, out)
		}
	}
}

// TestStatementMatchesProtobuf: Statement's bytes are the protobuf way's
// for every predicate, and what it refused is refused.
func TestStatementMatchesProtobuf(t *testing.T) {
	digests := [][]string{{digestA}, {digestA, "sha256:" + sha('b')}}
	for _, p := range predicates {
		for _, ds := range digests {
			for _, subject := range []string{"distroless/python3", "", "<x>&"} {
				want, err := legacyStatement(subject, SPDXDocument, []byte(p), ds...)
				if err != nil {
					t.Fatalf("%s: protobuf: %v", p, err)
				}
				got, err := Statement(subject, SPDXDocument, []byte(p), ds...)
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: bytes differ\n got %s\nwant %s", p, got, want)
				}
			}
		}
	}
	for _, p := range badPredicates {
		_, oldErr := legacyStatement("s", SPDXDocument, []byte(p), digestA)
		got, err := Statement("s", SPDXDocument, []byte(p), digestA)
		if oldErr == nil || err == nil {
			t.Errorf("%q: protobuf error %v, error %v (%s); want both", p, oldErr, err, got)
		}
	}
	for name, args := range map[string][]string{
		"no digest": {"s", SPDXDocument}, "md5 digest": {"s", SPDXDocument, "md5:abc"}, "short": {"s", SPDXDocument, "sha256:ab"},
		"no type": {"s", "", digestA}, "bad utf-8 subject": {"\xff", SPDXDocument, digestA}, "bad utf-8 type": {"s", "\xff", digestA},
	} {
		_, oldErr := legacyStatement(args[0], args[1], []byte(`{}`), args[2:]...)
		_, err := Statement(args[0], args[1], []byte(`{}`), args[2:]...)
		if oldErr == nil || err == nil {
			t.Errorf("%s: protobuf error %v, error %v; want both", name, oldErr, err)
		}
	}
}

// TestStatementMatchesProtobufRandom compares the two ways on random JSON
// documents (seeded: the same documents each run).
func TestStatementMatchesProtobufRandom(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := range 3000 {
		doc, err := json.Marshal(randomObject(r, 0))
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 { // spell some numbers and strings as encoding/json does not
			doc = respell(r, doc)
		}
		want, oldErr := legacyStatement("s", CycloneDXBOM, doc, digestA)
		got, err := Statement("s", CycloneDXBOM, doc, digestA)
		if (oldErr == nil) != (err == nil) || !bytes.Equal(got, want) {
			t.Fatalf("document %d %s:\n got %s (%v)\nwant %s (%v)", i, doc, got, err, want, oldErr)
		}
	}
}

func randomObject(r *rand.Rand, depth int) map[string]any {
	m := map[string]any{}
	for range r.Intn(6) {
		m[randomString(r)] = randomValue(r, depth+1)
	}
	return m
}

func randomValue(r *rand.Rand, depth int) any {
	k := r.Intn(8)
	if depth > 4 {
		k = r.Intn(5)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return r.Intn(2) == 0
	case 2:
		switch r.Intn(4) {
		case 0:
			return float64(r.Int63n(1<<62)) * float64(1-2*r.Intn(2))
		case 1:
			return r.NormFloat64() * math.Pow(10, float64(r.Intn(60)-30))
		case 2:
			return math.Float64frombits(r.Uint64()&^(0x7ff<<52) | uint64(r.Intn(0x7fe)+1)<<52)
		}
		return float64(r.Intn(1000))
	case 3, 4:
		return randomString(r)
	case 5, 6:
		l := make([]any, r.Intn(5))
		for i := range l {
			l[i] = randomValue(r, depth+1)
		}
		return l
	}
	return randomObject(r, depth)
}

func randomString(r *rand.Rand) string {
	alphabet := []rune("aZ09 _-<>&\"\\/\n\t\x00\x1f\u007f\u00e9\u2028\u2029\ufffd\U0001F600漢")
	s := make([]rune, r.Intn(8))
	for i := range s {
		s[i] = alphabet[r.Intn(len(alphabet))]
	}
	return string(s)
}

// respell rewrites some of encoding/json's spellings into others JSON
// allows: exponents, \u escapes of plain characters, added spaces.
func respell(r *rand.Rand, doc []byte) []byte {
	var out bytes.Buffer
	in := false
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		switch {
		case c == '\\' && in:
			out.WriteByte(c)
			i++
			out.WriteByte(doc[i])
			continue
		case c == '"':
			in = !in
		case in && c < 0x80 && c >= 'a' && c <= 'z' && r.Intn(3) == 0:
			fmt.Fprintf(&out, `\u%04x`, c)
			continue
		case !in && (c == ',' || c == ':') && r.Intn(2) == 0:
			out.WriteString(" \n\t")
		}
		out.WriteByte(c)
	}
	return out.Bytes()
}

// FuzzStatement: on any input, Statement gives the protobuf way's bytes
// or, when it refused the input, an error.
func FuzzStatement(f *testing.F) {
	for _, p := range append(append([]string{}, predicates...), badPredicates...) {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		want, oldErr := legacyStatement("s", SPDXDocument, doc, digestA)
		got, err := Statement("s", SPDXDocument, doc, digestA)
		if (oldErr == nil) != (err == nil) || !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s (%v)\nwant %s (%v)", doc, got, err, want, oldErr)
		}
	})
}
