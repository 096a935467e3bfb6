package rpm

import (
	"fmt"
	"os"
	"strings"

	crpm "github.com/cavaliergopher/rpm"

	"github.com/distroless-dev/distroless/packages"
)

var _ packages.Describer = Payload{}

// scriptletOnly are the requirement flags of what only install scriptlets
// need (createrepo's pre="1"), which never run in an image.
const scriptletOnly = crpm.DepFlagPrereq | crpm.DepFlagScriptPre | crpm.DepFlagScriptPost |
	crpm.DepFlagScriptPreUn | crpm.DepFlagScriptPostUn

// Describe reads what the package's header says of it for a bill of
// materials: Vendor (else Packager), URL, License (mapped to SPDX), the run-time Requires
// (without rpmlib() features and scriptlet-only ones, as the index's are
// read) and Provides.
func (p Payload) Describe(file string) (d packages.Description, err error) {
	f, err := os.Open(file)
	if err != nil {
		return d, err
	}
	defer f.Close()
	hd, err := readHeaders(f)
	if err != nil {
		return d, fmt.Errorf("%s: %w", file, err)
	}
	pkg := hd.pkg
	// The library indexes the dependency tags' arrays without checking
	// that their lengths agree: a header where they do not is an error.
	defer func() {
		if r := recover(); r != nil {
			d, err = packages.Description{}, fmt.Errorf("%s: malformed dependency tags in the header (%v)", file, r)
		}
	}()
	d.Supplier = oneLine(pkg.Vendor())
	if d.Supplier == "" {
		d.Supplier = oneLine(pkg.Packager())
	}
	d.Homepage = oneLine(pkg.URL())
	d.License = licenseOf(pkg.Name(), oneLine(pkg.License()))
	for _, r := range pkg.Requires() {
		n := strings.TrimSpace(r.Name())
		switch {
		case n == "" || strings.HasPrefix(n, "rpmlib(") || r.Flags()&crpm.DepFlagRpmlib != 0:
			continue
		case r.Flags()&scriptletOnly != 0:
			continue
		case strings.HasPrefix(n, "("):
			dep, err := parseRich(n)
			if err != nil {
				return d, fmt.Errorf("%s: Requires: %v", file, err)
			}
			d.Depends = append(d.Depends, dep)
			continue
		}
		d.Depends = append(d.Depends, packages.Dep{Kind: packages.DepAtom, Atom: packages.Atom{Name: n}})
	}
	for _, pr := range pkg.Provides() {
		if n := strings.TrimSpace(pr.Name()); n != "" {
			d.Provides = append(d.Provides, n)
		}
	}
	return d, nil
}

// oneLine is a header value on one line, trimmed.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
