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
    </rpm:obsoletes>
    <file>`, 1)
	p, err := parsePackage([]byte(s), "http://r", "r")
	if err != nil {
		t.Fatal(err)
	}
	// A rich relation of "or" alone is each of its atoms; others
	// ((a and b), an or holding an if) are not enforced.
	wantC := []packages.Atom{{Name: "demo-legacy", Op: "<", Version: "1:2.0-3"}, {Name: "other"}, {Name: "c", Op: "<", Version: "2"}, {Name: "d"}, {Name: "e"}}
	if !reflect.DeepEqual(p.pkg.Conflicts, wantC) {
		t.Fatalf("Conflicts = %+v, want %+v", p.pkg.Conflicts, wantC)
	}
	wantO := []packages.Atom{{Name: "demo-old", Op: "<=", Version: "0.9"}}
	if !reflect.DeepEqual(p.pkg.Obsoletes, wantO) {
		t.Fatalf("Obsoletes = %+v, want %+v", p.pkg.Obsoletes, wantO)
	}
	bad := strings.Replace(s, `flags="LE"`, `flags="XX"`, 1)
	if _, err := parsePackage([]byte(bad), "http://r", "r"); err == nil || !strings.Contains(err.Error(), `Obsoletes demo-old: bad flags "XX"`) {
		t.Fatalf("bad flags: %v", err)
	}
}
