package rpm

import (
	"fmt"
	"strings"

	"github.com/distroless-dev/distroless/packages"
)

// licenseOf maps an rpm License header: an SPDX expression (what Fedora
// writes since 2022) is kept; anything else (Fedora's older short names,
// "GPLv2+") becomes a LicenseRef with the header as text. pkg names the
// package, for that text.
func licenseOf(pkg, header string) packages.License {
	header = strings.TrimSpace(header)
	if header == "" {
		return packages.License{}
	}
	if packages.ValidLicenseExpression(header) {
		return packages.License{Expression: header}
	}
	id := "LicenseRef-" + packages.SPDXIDString(header)
	return packages.License{Expression: id, Extracted: []packages.ExtractedLicense{{ID: id, Name: header,
		Text: packages.ClipLicenseText(fmt.Sprintf("The License header of %s: %s", pkg, header))}}}
}
