package rpm

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// vercmpCases are rpm's own rpmvercmp tests (tests/rpmvercmp.at), and a
// few more.
var vercmpCases = []struct {
	a, b string
	want int
}{
	{"1.0", "1.0", 0}, {"1.0", "2.0", -1}, {"2.0", "1.0", 1},
	{"2.0.1", "2.0.1", 0}, {"2.0", "2.0.1", -1}, {"2.0.1", "2.0", 1},
	{"2.0.1a", "2.0.1a", 0}, {"2.0.1a", "2.0.1", 1}, {"2.0.1", "2.0.1a", -1},
	{"5.5p1", "5.5p1", 0}, {"5.5p1", "5.5p2", -1}, {"5.5p2", "5.5p1", 1},
	{"5.5p10", "5.5p10", 0}, {"5.5p1", "5.5p10", -1}, {"5.5p10", "5.5p1", 1},
	{"10xyz", "10.1xyz", -1}, {"10.1xyz", "10xyz", 1},
	{"xyz10", "xyz10", 0}, {"xyz10", "xyz10.1", -1}, {"xyz10.1", "xyz10", 1},
	{"xyz.4", "xyz.4", 0}, {"xyz.4", "8", -1}, {"8", "xyz.4", 1}, {"xyz.4", "2", -1}, {"2", "xyz.4", 1},
	{"5.5p2", "5.6p1", -1}, {"5.6p1", "5.5p2", 1}, {"5.6p1", "6.5p1", -1}, {"6.5p1", "5.6p1", 1},
	{"6.0.rc1", "6.0", 1}, {"6.0", "6.0.rc1", -1},
	{"10b2", "10a1", 1}, {"10a2", "10b2", -1},
	{"1.0aa", "1.0aa", 0}, {"1.0a", "1.0aa", -1}, {"1.0aa", "1.0a", 1},
	{"10.0001", "10.0001", 0}, {"10.0001", "10.1", 0}, {"10.1", "10.0001", 0},
	{"10.0001", "10.0039", -1}, {"10.0039", "10.0001", 1},
	{"4.999.9", "5.0", -1}, {"5.0", "4.999.9", 1},
	{"20101121", "20101121", 0}, {"20101121", "20101122", -1}, {"20101122", "20101121", 1},
	{"2_0", "2_0", 0}, {"2.0", "2_0", 0}, {"2_0", "2.0", 0},
	{"a", "a", 0}, {"a+", "a+", 0}, {"a+", "a_", 0}, {"a_", "a+", 0},
	{"+a", "+a", 0}, {"+a", "_a", 0}, {"_a", "+a", 0},
	{"+_", "+_", 0}, {"_+", "+_", 0}, {"_+", "_", 0}, {"+", "_", 0}, {"_", "+", 0},
	{"1.0~rc1", "1.0~rc1", 0}, {"1.0~rc1", "1.0", -1}, {"1.0", "1.0~rc1", 1},
	{"1.0~rc1", "1.0~rc2", -1}, {"1.0~rc2", "1.0~rc1", 1},
	{"1.0~rc1~git123", "1.0~rc1~git123", 0}, {"1.0~rc1~git123", "1.0~rc1", -1}, {"1.0~rc1", "1.0~rc1~git123", 1},
	{"1.0^", "1.0^", 0}, {"1.0^", "1.0", 1}, {"1.0", "1.0^", -1},
	{"1.0^git1", "1.0^git1", 0}, {"1.0^git1", "1.0", 1}, {"1.0", "1.0^git1", -1},
	{"1.0^git1", "1.0^git2", -1}, {"1.0^git2", "1.0^git1", 1},
	{"1.0^git1", "1.01", -1}, {"1.01", "1.0^git1", 1},
	{"1.0^20160101", "1.0^20160101", 0}, {"1.0^20160101", "1.0.1", -1}, {"1.0.1", "1.0^20160101", 1},
	{"1.0^20160101^git1", "1.0^20160101^git1", 0},
	{"1.0^20160102", "1.0^20160101^git1", 1}, {"1.0^20160101^git1", "1.0^20160102", -1},
	{"1.0~rc1^git1", "1.0~rc1^git1", 0}, {"1.0~rc1^git1", "1.0~rc1", 1}, {"1.0~rc1", "1.0~rc1^git1", -1},
	{"1.0^git1~pre", "1.0^git1~pre", 0}, {"1.0^git1", "1.0^git1~pre", 1}, {"1.0^git1~pre", "1.0^git1", -1},
	// Where github.com/cavaliergopher/rpm's CompareVersions differs.
	{"1.0^1", "1.0a", -1}, {"1.0a", "1.0^1", 1},
	// Long numbers do not overflow.
	{"123456789012345678901234567890", "123456789012345678901234567891", -1},
	{"", "", 0}, {"", "1", -1}, {"1", "", 1}, {"~", "", -1}, {"^", "", 1},
}

func TestVercmp(t *testing.T) {
	for _, c := range vercmpCases {
		if got := vercmp(c.a, c.b); got != c.want {
			t.Errorf("Vercmp(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// TestVercmpMatchesRPM checks the table against the host's rpm
// (scripts/test.sh installs it); without it the test fails.
func TestVercmpMatchesRPM(t *testing.T) {
	rpmBin, err := exec.LookPath("rpm")
	if err != nil {
		t.Fatal("rpm is not installed (scripts/test.sh installs it):", err)
	}
	// rpm.vercmp parses its arguments as versions: empty ones are not.
	var cases []int
	var terms []string
	for i, c := range vercmpCases {
		if c.a != "" && c.b != "" {
			cases = append(cases, i)
			terms = append(terms, fmt.Sprintf("rpm.vercmp(%q, %q)", c.a, c.b))
		}
	}
	out, err := exec.Command(rpmBin, "--eval", "%{lua: print("+strings.Join(terms, ` .. " " .. `)+")}").CombinedOutput()
	if err != nil {
		t.Fatalf("rpm --eval: %v\n%s", err, out)
	}
	got := strings.Fields(string(out))
	if len(got) != len(cases) {
		t.Fatalf("rpm printed %d results for %d cases:\n%s", len(got), len(cases), out)
	}
	for j, i := range cases {
		c := vercmpCases[i]
		if got[j] != fmt.Sprint(c.want) {
			t.Errorf("rpm.vercmp(%q, %q) = %s, the table says %d", c.a, c.b, got[j], c.want)
		}
	}
}

func TestParseEVR(t *testing.T) {
	for _, c := range []struct {
		in   string
		want EVR
		out  string
	}{
		{"1.0-1", EVR{"", "1.0", "1"}, "1.0-1"},
		{"2:1.0-1.el9", EVR{"2", "1.0", "1.el9"}, "2:1.0-1.el9"},
		{"0:1.0-1", EVR{"0", "1.0", "1"}, "1.0-1"},
		{"1.0", EVR{"", "1.0", ""}, "1.0"},
		{":1.0", EVR{"0", "1.0", ""}, "1.0"},
		{"1.0-2-3", EVR{"", "1.0-2", "3"}, "1.0-2-3"},
		{"1.0~rc1^git2-0.1", EVR{"", "1.0~rc1^git2", "0.1"}, "1.0~rc1^git2-0.1"},
	} {
		got, err := ParseEVR(c.in)
		if err != nil || got != c.want || got.String() != c.out {
			t.Errorf("ParseEVR(%q) = %+v (%q), %v; want %+v (%q)", c.in, got, got.String(), err, c.want, c.out)
		}
	}
	for _, bad := range []string{"", "a:1.0", "1:", "1.0-", "-1", "1:2:3", "1 .0", "12345678901:1"} {
		if _, err := ParseEVR(bad); err == nil {
			t.Errorf("ParseEVR(%q) accepted", bad)
		}
	}
}

func TestCompareEVR(t *testing.T) {
	evr := func(s string) EVR {
		e, err := ParseEVR(s)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1:1.0-1", "2.0-1", 1}, // epoch first
		{"0:2.0-1", "2.0-1", 0}, // no epoch is 0
		{"1.0-2", "1.0-10", -1}, // releases numerically
		{"1.0-1.el9", "1.0-1.el9_2", -1},
		{"1.0~rc1-1", "1.0-0.1", -1},
		{"1.0^git1-1", "1.0-9", 1},
	} {
		if got := compareEVR(evr(c.a), evr(c.b)); got != c.want {
			t.Errorf("CompareEVR(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// TestOverlaps checks provide/require matching as rpm's rpmdsCompare.
func TestOverlaps(t *testing.T) {
	for _, c := range []struct {
		pop, pv, rop, rv string
		want             bool
	}{
		{"=", "1.0-1", ">=", "1.0", true},
		{"=", "1.0-1", ">", "1.0", false}, // 1.0-1 is not above 1.0 when the release is not compared
		{"=", "1.0-1", "=", "1.0", true},  // a relation without release matches every release
		{"=", "1.0", "=", "1.0-5", true},  // and a provide without one
		{"=", "1.0-1", "<", "1.0-2", true},
		{"=", "2:1.0-1", "<", "1.5", false},
		{"=", "1.0-1", "<", "1:0.5", true},
		{"", "", ">=", "9", true}, // an unversioned provide meets every relation
		{"=", "1.0-1", "", "", true},
		{">=", "2.0", "<", "3.0", true},
		{">=", "2.0", "<", "1.0", false},
		{"<=", "2.0", "=", "2.0-7", true},
		{"=", "1.0^git1-1", ">", "1.0", true},
		{"=", "1.1~rc1-1", "<", "1.1", true},
	} {
		pf, _ := senseOf(c.pop)
		rf, _ := senseOf(c.rop)
		var p, r EVR
		if c.pv != "" {
			p, _ = ParseEVR(c.pv)
		}
		if c.rv != "" {
			r, _ = ParseEVR(c.rv)
		}
		if got := overlaps(pf, p, rf, r); got != c.want {
			t.Errorf("provide %s %s, require %s %s: %v, want %v", c.pop, c.pv, c.rop, c.rv, got, c.want)
		}
	}
}
