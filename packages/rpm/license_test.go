package rpm

import (
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages/packagestest"
)

// TestLicenseOf: an SPDX License header is kept; anything else is a
// LicenseRef with the header as text.
func TestLicenseOf(t *testing.T) {
	for h, want := range map[string]string{
		"MIT":                                "MIT",
		"GPL-2.0-or-later AND LGPL-2.1-only": "GPL-2.0-or-later AND LGPL-2.1-only",
		"GPLv2+":                             "LicenseRef-GPLv2-plus",
		"GPLv2+ and LGPLv2+ with exceptions": "LicenseRef-GPLv2-plus-and-LGPLv2-plus-with-exceptions",
		"":                                   "",
	} {
		l := licenseOf("p", h)
		if l.Expression != want {
			t.Errorf("License: %s: got %q, want %q", h, l.Expression, want)
		}
		packagestest.CheckLicense(t, l)
		if strings.HasPrefix(want, "LicenseRef-") && !strings.Contains(l.Extracted[0].Text, h) {
			t.Errorf("License: %s: text %q", h, l.Extracted[0].Text)
		}
	}
}
