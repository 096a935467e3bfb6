package packages

import (
	"strings"

	"github.com/github/go-spdx/v2/spdxexp"
)

// License is a package's license as an SPDX expression, with the text of
// every LicenseRef-… it uses. The format's Describer works it out from
// what the package file says (a deb's copyright file, an rpm's License
// header), so that what reads a Description (the SBOM) knows no format.
type License struct {
	// Expression is an SPDX license expression, "" when nothing is known
	// (NOASSERTION).
	Expression string
	// Extracted are the licenses the expression names as LicenseRef-…,
	// each with its text.
	Extracted []ExtractedLicense
}

// ExtractedLicense is a license that is not on the SPDX list: its
// LicenseRef identifier, the name the package gives it, and its text.
type ExtractedLicense struct {
	ID, Name, Text string
}

// MaxLicenseText bounds the text kept for one extracted license.
const MaxLicenseText = 256 << 10

// ValidLicenseExpression reports whether e is a valid SPDX expression
// (LicenseRefs allowed), on one line.
func ValidLicenseExpression(e string) bool {
	if strings.ContainsAny(e, "\n\r\t") {
		return false
	}
	ok, _ := spdxexp.ValidateLicenses([]string{e})
	return ok
}

// SPDXIDString makes a string an SPDX idstring ([A-Za-z0-9.-]+, at most
// about 200 bytes): a '+' is "plus", anything else outside the set a '-';
// "unnamed" if nothing is left.
func SPDXIDString(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		case r == '+':
			b.WriteString("-plus")
		default:
			b.WriteByte('-')
		}
		if b.Len() > 200 {
			break
		}
	}
	out := strings.Trim(b.String(), "-.")
	if out == "" {
		out = "unnamed"
	}
	return out
}

// ClipLicenseText makes a license text valid UTF-8 and at most
// MaxLicenseText bytes (and a marker).
func ClipLicenseText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > MaxLicenseText {
		s = strings.ToValidUTF8(s[:MaxLicenseText], "") + "\n[…]"
	}
	return s
}
