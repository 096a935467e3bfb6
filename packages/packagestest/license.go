package packagestest

import (
	"regexp"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
)

var refRE = regexp.MustCompile(`LicenseRef-[A-Za-z0-9.-]+`)

// CheckLicense fails t unless l is sound: the expression is valid SPDX, and every LicenseRef it
// names has exactly one extracted text, which is valid UTF-8 and bounded.
func CheckLicense(t testing.TB, l packages.License) {
	t.Helper()
	if l.Expression == "" {
		if len(l.Extracted) != 0 {
			t.Errorf("no expression but %d extracted licenses", len(l.Extracted))
		}
		return
	}
	if !packages.ValidLicenseExpression(l.Expression) {
		t.Errorf("invalid SPDX expression %q", l.Expression)
	}
	have := map[string]int{}
	for _, x := range l.Extracted {
		have[x.ID]++
		if !refRE.MatchString(x.ID) || refRE.FindString(x.ID) != x.ID {
			t.Errorf("bad LicenseRef id %q", x.ID)
		}
		if x.Text == "" || !strings.Contains(l.Expression, x.ID) {
			t.Errorf("extracted %s: empty text or not in the expression", x.ID)
		}
		if len(x.Text) > packages.MaxLicenseText+16 || strings.ToValidUTF8(x.Text, "?") != x.Text {
			t.Errorf("extracted %s: text of %d bytes or not UTF-8", x.ID, len(x.Text))
		}
	}
	for _, id := range refRE.FindAllString(l.Expression, -1) {
		if have[id] != 1 {
			t.Errorf("%s: %d extracted texts, want 1", id, have[id])
		}
	}
}
