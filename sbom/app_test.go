package sbom

import (
	"strings"
	"testing"
	"time"
)

// TestApps: the application layer's packages are in both formats, with
// the purl, hash and license their installer gave.
func TestApps(t *testing.T) {
	img := &Image{Name: "app", Digest: "sha256:" + strings.Repeat("ab", 32), Arch: "amd64", Created: time.Unix(0, 0), ToolVersion: "test",
		Distro: Distro{Name: "debian:trixie", Format: "deb", OSRelease: map[string]string{"ID": "debian", "VERSION_ID": "13"}},
		Apps: []App{
			{Type: "pypi", Name: "hello-app", Version: "1.0", License: "MIT", Hash: "sha256:" + strings.Repeat("cd", 32), Source: "https://example.com/hello_app-1.0-py3-none-any.whl", PURL: "pkg:pypi/hello-app@1.0", Layer: "app"},
			{Type: "pypi", Name: "odd", Version: "2", License: "Some custom text", Hash: "sha256:" + strings.Repeat("ef", 32), Source: "odd-2-py3-none-any.whl", PURL: "pkg:pypi/odd@2", Layer: "app"},
		}}
	spdx, err := Marshal(img, SPDX)
	if err != nil {
		t.Fatal(err)
	}
	cdx, err := Marshal(img, CycloneDX)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"referenceLocator": "pkg:pypi/hello-app@1.0"`, `"licenseDeclared": "MIT"`, `"checksumValue": "` + strings.Repeat("cd", 32) + `"`,
		`"downloadLocation": "https://example.com/hello_app-1.0-py3-none-any.whl"`, `"referenceLocator": "pkg:pypi/odd@2"`} {
		if !strings.Contains(string(spdx), want) {
			t.Errorf("SPDX has no %s", want)
		}
	}
	if strings.Contains(string(spdx), "Some custom text") {
		t.Error("SPDX declares a license that is not an SPDX expression")
	}
	for _, want := range []string{`"purl": "pkg:pypi/hello-app@1.0"`, `"expression": "MIT"`, `"content": "` + strings.Repeat("cd", 32) + `"`} {
		if !strings.Contains(string(cdx), want) {
			t.Errorf("CycloneDX has no %s\n", want)
		}
	}
}
