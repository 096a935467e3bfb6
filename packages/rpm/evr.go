package rpm

import (
	"fmt"
	"strings"
)

// EVR is a parsed [epoch:]version[-release]. Epoch is "" when the string
// had none (which compares as 0), Release is "" when it had none (a
// relation without a release matches every release of its version).
type EVR struct {
	Epoch, Version, Release string
}

// ParseEVR splits s as rpm does (parseEVR): the epoch is the leading
// digits before a ':', the release what follows the last '-'. It rejects
// what no package can carry: an empty version, a bad epoch, whitespace,
// and a second ':'.
func ParseEVR(s string) (EVR, error) {
	if s == "" {
		return EVR{}, fmt.Errorf("empty version")
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return EVR{}, fmt.Errorf("version %q contains whitespace", s)
	}
	var e EVR
	rest := s
	if i := strings.IndexByte(s, ':'); i >= 0 {
		e.Epoch, rest = s[:i], s[i+1:]
		if e.Epoch == "" {
			e.Epoch = "0"
		}
		for _, c := range e.Epoch {
			if c < '0' || c > '9' {
				return EVR{}, fmt.Errorf("version %q: epoch %q is not a number", s, e.Epoch)
			}
		}
		if len(e.Epoch) > 10 {
			return EVR{}, fmt.Errorf("version %q: epoch %q is too large", s, e.Epoch)
		}
		if strings.IndexByte(rest, ':') >= 0 {
			return EVR{}, fmt.Errorf("version %q has more than one ':'", s)
		}
	}
	e.Version = rest
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		e.Version, e.Release = rest[:i], rest[i+1:]
		if e.Release == "" {
			return EVR{}, fmt.Errorf("version %q: empty release", s)
		}
	}
	if e.Version == "" {
		return EVR{}, fmt.Errorf("version %q: empty version", s)
	}
	return e, nil
}

// String writes e back: the epoch only when it is not 0, the release
// only when there is one.
func (e EVR) String() string {
	s := e.Version
	if e.Epoch != "" && strings.TrimLeft(e.Epoch, "0") != "" {
		s = e.Epoch + ":" + s
	}
	if e.Release != "" {
		s += "-" + e.Release
	}
	return s
}

// epochNum is the epoch as a number (no epoch is 0).
func (e EVR) epochNum() uint64 {
	var n uint64
	for _, c := range e.Epoch {
		n = n*10 + uint64(c-'0')
	}
	return n
}

// compareEVR orders two full EVRs as rpm orders packages: epoch (missing
// is 0), then version, then release, each with Vercmp.
func compareEVR(a, b EVR) int {
	if ea, eb := a.epochNum(), b.epochNum(); ea != eb {
		if ea < eb {
			return -1
		}
		return 1
	}
	if c := vercmp(a.Version, b.Version); c != 0 {
		return c
	}
	return vercmp(a.Release, b.Release)
}

// vercmp compares two version (or release) strings as rpm's rpmvercmp
// does: alternating runs of ASCII digits and letters are compared
// (numbers numerically and above letters), other characters only
// separate runs, '~' sorts before everything (1.0~rc1 < 1.0) and '^'
// after the end of a string but before anything else (1.0 < 1.0^git1 <
// 1.0.1).
//
// github.com/cavaliergopher/rpm's CompareVersions does not know '^'
// (it orders 1.0^1 above 1.0a), so this is a port of rpm's C function.
func vercmp(a, b string) int {
	if a == b {
		return 0
	}
	alnum := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	alpha := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !alnum(a[i]) && a[i] != '~' && a[i] != '^' {
			i++
		}
		for j < len(b) && !alnum(b[j]) && b[j] != '~' && b[j] != '^' {
			j++
		}
		// Tilde: sorts before everything else, even the end.
		ta, tb := i < len(a) && a[i] == '~', j < len(b) && b[j] == '~'
		if ta || tb {
			if !ta {
				return 1
			}
			if !tb {
				return -1
			}
			i++
			j++
			continue
		}
		// Caret: like tilde, but the end of a string sorts before it.
		ca, cb := i < len(a) && a[i] == '^', j < len(b) && b[j] == '^'
		if ca || cb {
			if i >= len(a) {
				return -1
			}
			if j >= len(b) {
				return 1
			}
			if !ca {
				return 1
			}
			if !cb {
				return -1
			}
			i++
			j++
			continue
		}
		if i >= len(a) || j >= len(b) {
			break
		}
		// One run of digits or of letters, the kind a's run has.
		si, sj := i, j
		isnum := digit(a[i])
		class := alpha
		if isnum {
			class = digit
		}
		for i < len(a) && class(a[i]) {
			i++
		}
		for j < len(b) && class(b[j]) {
			j++
		}
		ra, rb := a[si:i], b[sj:j]
		if rb == "" {
			// Different kinds of run: a number is newer than letters.
			if isnum {
				return 1
			}
			return -1
		}
		if isnum {
			ra, rb = strings.TrimLeft(ra, "0"), strings.TrimLeft(rb, "0")
			if len(ra) != len(rb) {
				if len(ra) > len(rb) {
					return 1
				}
				return -1
			}
		}
		if c := strings.Compare(ra, rb); c != 0 {
			return c
		}
	}
	// All runs equal; whichever has characters left is newer.
	if i >= len(a) && j >= len(b) {
		return 0
	}
	if i >= len(a) {
		return -1
	}
	return 1
}

// Dependency sense flags, as rpm stores them (RPMSENSE_*).
const (
	senseLess    = 1 << 1
	senseGreater = 1 << 2
	senseEqual   = 1 << 3
	senseMask    = senseLess | senseGreater | senseEqual
)

// senseOf maps a model operator ("<", "<=", "=", ">=", ">") to rpm's
// sense bits; "" is 0 (no version relation).
func senseOf(op string) (int, bool) {
	switch op {
	case "":
		return 0, true
	case "<":
		return senseLess, true
	case "<=":
		return senseLess | senseEqual, true
	case "=", "==":
		return senseEqual, true
	case ">=":
		return senseGreater | senseEqual, true
	case ">":
		return senseGreater, true
	}
	return 0, false
}

// overlaps reports whether a provide (flags pf, version p) satisfies a
// requirement (flags rf, version r): rpm's rpmdsCompare. An unversioned
// side matches everything; a missing epoch is 0; when one side has no
// release, releases are not compared.
func overlaps(pf int, p EVR, rf int, r EVR) bool {
	if pf&senseMask == 0 || rf&senseMask == 0 {
		return true
	}
	sense := 0
	if ep, er := p.epochNum(), r.epochNum(); ep != er {
		if ep < er {
			sense = -1
		} else {
			sense = 1
		}
	}
	if sense == 0 {
		sense = vercmp(p.Version, r.Version)
		if sense == 0 {
			if p.Release != "" && r.Release != "" {
				sense = vercmp(p.Release, r.Release)
			} else if (p.Release != "" && rf&senseEqual != 0) || (r.Release != "" && pf&senseEqual != 0) {
				// The side without a release, with an equal sense,
				// matches every release.
				return true
			}
		}
	}
	switch {
	case sense < 0:
		return pf&senseGreater != 0 || rf&senseLess != 0
	case sense > 0:
		return pf&senseLess != 0 || rf&senseGreater != 0
	}
	return pf&rf&senseMask != 0
}
