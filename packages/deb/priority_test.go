package deb

import "testing"

func TestParseStanzaPriority(t *testing.T) {
	for _, c := range []struct {
		field string
		want  int
	}{
		{"Priority: required\n", 1},
		{"Priority: important\n", 2},
		{"Priority: Standard\n", 3},
		{"Priority: optional\n", 4},
		{"Priority: extra\n", 5},
		{"Priority: source\n", 0},
		{"", 0},
	} {
		stanza := "Package: pp\nVersion: 1\nArchitecture: amd64\nFilename: pool/pp.deb\nSize: 1\nSHA256: 00\n" + c.field
		d, err := parseStanza([]byte(stanza), "http://m", "s", "amd64")
		if err != nil {
			t.Fatal(err)
		}
		if d.pkg.Priority != c.want {
			t.Fatalf("%q: priority %d, want %d", c.field, d.pkg.Priority, c.want)
		}
	}
}
