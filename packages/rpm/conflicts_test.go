package rpm

import (
	"reflect"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
)

func TestConflictsObsoletesParsed(t *testing.T) {
	s := seedPrimary[strings.Index(seedPrimary, "<package"):strings.Index(seedPrimary, "</package>")] + "</package>"
	s = strings.Replace(s, "    <file>", `    <rpm:conflicts>
      <rpm:entry name="demo-legacy" flags="LT" epoch="1" ver="2.0" rel="3"/>
      <rpm:entry name="(a and b)"/>
      <rpm:entry name="other"/>
      <rpm:entry name="(c &lt; 2 or (d or e))"/>
      <rpm:entry name="(f or (g if h))"/>
    </rpm:conflicts>
    <rpm:obsoletes>
      <rpm:entry name="demo-old" flags="LE" epoch="0" ver="0.9"/>
      <rpm:entry name="(x unless y else z)"/>
    </rpm:obsoletes>
    <file>`, 1)
	p, err := parsePackage([]byte(s), "http://r", "r")
	if err != nil {
		t.Fatal(err)
	}
	// A rich relation of "or" alone is each of its atoms; others
	// ((a and b), an or holding an if) are kept as expressions.
	wantC := []packages.Atom{{Name: "demo-legacy", Op: "<", Version: "1:2.0-3"}, {Name: "other"}, {Name: "c", Op: "<", Version: "2"}, {Name: "d"}, {Name: "e"}}
	if !reflect.DeepEqual(p.pkg.Conflicts, wantC) {
		t.Fatalf("Conflicts = %+v, want %+v", p.pkg.Conflicts, wantC)
	}
	var rich []string
	for _, d := range p.pkg.ConflictsRich {
		rich = append(rich, d.String())
	}
	if want := []string{"(a and b)", "f | (g if h)"}; !reflect.DeepEqual(rich, want) {
		t.Fatalf("ConflictsRich = %q, want %q", rich, want)
	}
	wantO := []packages.Atom{{Name: "demo-old", Op: "<=", Version: "0.9"}}
	if !reflect.DeepEqual(p.pkg.Obsoletes, wantO) {
		t.Fatalf("Obsoletes = %+v, want %+v", p.pkg.Obsoletes, wantO)
	}
	if len(p.pkg.ObsoletesRich) != 1 || p.pkg.ObsoletesRich[0].String() != "(x unless y else z)" {
		t.Fatalf("ObsoletesRich = %v", p.pkg.ObsoletesRich)
	}
	// A malformed rich relation, or one with flags, is refused with its text.
	for _, c := range []struct{ from, to, want string }{
		{`name="(a and b)"`, `name="(a and b"`, "Conflicts: rich dependency \"(a and b\""},
		{`name="(a and b)"`, `name="(a and b)" flags="EQ"`, "Conflicts (a and b): a rich dependency with flags"},
	} {
		if _, err := parsePackage([]byte(strings.Replace(s, c.from, c.to, 1)), "http://r", "r"); err == nil || !strings.Contains(err.Error(), strings.ReplaceAll(c.want, `\"`, `"`)) {
			t.Errorf("%s: %v, want %q", c.to, err, c.want)
		}
	}
	bad := strings.Replace(s, `flags="LE"`, `flags="XX"`, 1)
	if _, err := parsePackage([]byte(bad), "http://r", "r"); err == nil || !strings.Contains(err.Error(), `Obsoletes demo-old: bad flags "XX"`) {
		t.Fatalf("bad flags: %v", err)
	}
}
