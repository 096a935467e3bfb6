package rpm

import (
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
)

func TestParseRich(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"(a or b)", "a | b"},
		{"(a or b or c)", "a | b | c"},
		{"(a and b)", "(a and b)"},
		{"(python3.12-libs if python3.12)", "(python3.12-libs if python3.12)"},
		{"(a if b else c)", "(a if b else c)"},
		{"(a unless b)", "(a unless b)"},
		{"(a unless b else c)", "(a unless b else c)"},
		{"(a with b)", "(a with b)"},
		{"(a without b)", "(a without b)"},
		{"(a with b with c)", "(a with (b with c))"},
		{"(foo >= 1.2-3 or bar)", "foo (>= 1.2-3) | bar"},
		{"(foo = 2:1.0 and (bar or baz < 3))", "(foo (= 2:1.0) and (bar | baz (< 3)))"},
		{"(libc.so.6()(64bit) or libc.so.6(GLIBC_2.34)(64bit))", "libc.so.6()(64bit) | libc.so.6(GLIBC_2.34)(64bit)"},
		{"((a or b) and (c or d))", "((a | b) and (c | d))"},
		{"(a)", "a"},
		{"  ( a  or\tb )  ", "a | b"},
		{"(glibc-gconv-extra(x86-64) = 2.34-100.el9 if redhat-rpm-config)", "(glibc-gconv-extra(x86-64) (= 2.34-100.el9) if redhat-rpm-config)"},
		{"(a == 1 or b => 2 or c =< 3)", "a (= 1) | b (>= 2) | c (<= 3)"},
	} {
		d, err := parseRich(c.in)
		if err != nil {
			t.Errorf("parseRich(%q): %v", c.in, err)
			continue
		}
		if got := d.String(); got != c.want {
			t.Errorf("parseRich(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParseRichKinds(t *testing.T) {
	d, err := parseRich("(a if b else (c with d))")
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != packages.DepIf || len(d.Args) != 3 || d.Args[2].Kind != packages.DepWith || d.Args[1].Atom.Name != "b" {
		t.Fatalf("%#v", d)
	}
	d, err = parseRich("(x >= 1.0 without x = 1.5)")
	if err != nil || d.Kind != packages.DepWithout || d.Args[0].Atom.Op != ">=" || d.Args[1].Atom.Version != "1.5" {
		t.Fatalf("%#v %v", d, err)
	}
}

func TestParseRichMalformed(t *testing.T) {
	deep := strings.Repeat("(", 100) + "a" + strings.Repeat(")", 100)
	for _, c := range []struct{ in, want string }{
		{"", "does not start with '('"},
		{"a or b", "does not start with '('"},
		{"(", "missing operand"},
		{"()", "missing operand"},
		{"(a", "missing ')'"},
		{"(a or", "missing operand"},
		{"(a or b", "missing ')'"},
		{"(a or b))", "unexpected"},
		{"(a xor b)", `unknown operator "xor"`},
		{"(a or b and c)", "cannot chain or with and"},
		{"(a if b if c)", "cannot be chained"},
		{"(a unless b unless c)", "cannot be chained"},
		{"(a without b without c)", "cannot be chained"},
		{"(a or b else c)", "else after or"},
		{"(a if b else c else d)", "a second else"},
		{"(or a)", "operator"},
		{"(a or or)", "operator"},
		{"(a >= )", "missing version"},
		{"(a >=)", "missing version"},
		{"(a <> 1)", "bad relation"},
		{"(a >= 1:2:3)", "more than one"},
		{"((a or b) with c)", "simple dependencies"},
		{"(a with (b and c))", "simple dependencies"},
		{deep, "nested more than"},
	} {
		_, err := parseRich(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseRich(%q) = %v, want an error with %q", c.in, err, c.want)
		}
	}
}
