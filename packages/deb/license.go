package deb

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/distroless-dev/distroless/packages"
	"github.com/github/go-spdx/v2/spdxexp/spdxlicenses"
)

// Bounds on what of a copyright file is mapped license by license (real
// files stay far below them; beyond them a line, or the whole file, is one
// LicenseRef): the bytes and words of one License line, and the distinct
// licenses of a file.
const (
	maxLicenseLine  = 1024
	maxLicenseWords = 64
	maxConjuncts    = 256
)

// fromCopyright reads a Debian copyright file. A machine-readable one
// (DEP-5: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/)
// gives the licenses of its Files paragraphs, each mapped to SPDX
// (Debian's short names such as GPL-2+, Expat, BSD-3-clause are
// translated; names on the SPDX list are taken as they are; others become
// LicenseRef-NAME with the text of their License dep5Paragraph), joined with
// AND. Any other copyright file becomes one LicenseRef-PKG-copyright whose
// text is the whole file. pkg names the package (for that identifier); an
// empty file is no license at all.
func fromCopyright(pkg string, data []byte) packages.License {
	if len(bytes.TrimSpace(data)) == 0 {
		return packages.License{}
	}
	if l, ok := fromDEP5(data); ok {
		return l
	}
	id := "LicenseRef-" + packages.SPDXIDString(pkg) + "-copyright"
	return packages.License{Expression: id, Extracted: []packages.ExtractedLicense{{ID: id, Name: pkg + " copyright file", Text: packages.ClipLicenseText(string(data))}}}
}

// fromDEP5 reads a machine-readable copyright file; ok is false when the
// file is not one or does not parse.
func fromDEP5(data []byte) (packages.License, bool) {
	paras, err := dep5Paragraphs(data)
	if err != nil || len(paras) == 0 {
		return packages.License{}, false
	}
	if !strings.Contains(strings.ToLower(paras[0]["format"]), "copyright-format") {
		return packages.License{}, false
	}
	// Standalone License paragraphs give the texts of names.
	texts := map[string]string{}
	for _, p := range paras[1:] {
		if _, files := p["files"]; files {
			continue
		}
		name, body := licenseField(p["license"])
		if name != "" && body != "" {
			texts[strings.ToLower(name)] = body
		}
	}
	c := converter{texts: texts, refs: map[string]int{}}
	var exprs []string
	seen := map[string]bool{}
	for _, p := range paras {
		if _, files := p["files"]; !files {
			continue
		}
		line, body := licenseField(p["license"])
		if line == "" {
			continue
		}
		if body != "" && !strings.ContainsAny(line, " ,") {
			if _, ok := texts[strings.ToLower(line)]; !ok {
				texts[strings.ToLower(line)] = body
			}
		}
		var e string
		if len(line) > maxLicenseLine || len(strings.Fields(line)) > maxLicenseWords {
			// No real file has such a line; parsing it would only cost time.
			e = c.ref(line)
		} else if e, err = c.expression(line); err != nil {
			return packages.License{}, false
		}
		for _, t := range conjuncts(e) {
			if !seen[t] {
				seen[t] = true
				exprs = append(exprs, t)
			}
		}
	}
	if len(exprs) > maxConjuncts {
		return packages.License{}, false // the whole file, as a LicenseRef
	}
	if len(exprs) == 0 {
		// A header dep5Paragraph's License alone (a file with no Files
		// dep5Paragraph is not valid DEP-5, but says something).
		line, _ := licenseField(paras[0]["license"])
		if line == "" {
			return packages.License{}, false
		}
		e, err := c.expression(line)
		if err != nil {
			return packages.License{}, false
		}
		exprs = append(exprs, e)
	}
	if len(exprs) > 1 {
		for i := range exprs {
			exprs[i] = paren(exprs[i])
		}
	}
	expr := strings.Join(exprs, " AND ")
	if !packages.ValidLicenseExpression(expr) {
		return packages.License{}, false
	}
	return packages.License{Expression: expr, Extracted: c.extracted}, true
}

// dep5Paragraph is one deb822 dep5Paragraph: lower-cased field name → value
// (continuation lines joined with "\n", each without its first blank).
type dep5Paragraph map[string]string

// maxParagraphs bounds the paragraphs of a copyright file.
const maxParagraphs = 10000

// dep5Paragraphs reads the deb822 paragraphs of a copyright file. It is
// written here rather than taken from pault.ag/go/debian/control, whose
// reader takes time quadratic in a field's length (seconds for a 1 MB
// license text), which a package must not be able to cost a build.
// Lines starting with '#' are comments; a line that is neither a field
// nor a continuation is an error, as in dpkg.
func dep5Paragraphs(data []byte) ([]dep5Paragraph, error) {
	if !utf8.Valid(data) {
		data = bytes.ToValidUTF8(data, []byte("\uFFFD")) // old files are Latin-1
	}
	var out []dep5Paragraph
	var cur dep5Paragraph
	var field string
	var val *strings.Builder
	vals := map[string]*strings.Builder{}
	flush := func() {
		if cur != nil {
			for k, b := range vals {
				cur[k] = b.String()
			}
			out = append(out, cur)
		}
		cur, field, vals = nil, "", map[string]*strings.Builder{}
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		switch {
		case strings.TrimSpace(line) == "":
			flush()
			if len(out) > maxParagraphs {
				return nil, fmt.Errorf("more than %d paragraphs", maxParagraphs)
			}
		case strings.HasPrefix(line, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if field == "" {
				return nil, fmt.Errorf("a continuation line with no field before it")
			}
			val.WriteByte('\n')
			val.WriteString(line[1:])
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok || strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t") {
				return nil, fmt.Errorf("line %.40q is not a field", line)
			}
			if cur == nil {
				cur = dep5Paragraph{}
			}
			field = strings.ToLower(k)
			if _, dup := vals[field]; dup {
				return nil, fmt.Errorf("field %s twice in one dep5Paragraph", k)
			}
			val = &strings.Builder{}
			val.WriteString(strings.TrimSpace(v))
			vals[field] = val
		}
	}
	flush()
	return out, nil
}

// licenseField splits a License field into its first line (the names)
// and the text below it (with DEP-5's " ." empty lines restored).
func licenseField(v string) (line, body string) {
	line, rest, _ := strings.Cut(v, "\n")
	var lines []string
	for _, l := range strings.Split(rest, "\n") {
		l = strings.TrimPrefix(strings.TrimPrefix(l, " "), "\t")
		if strings.TrimSpace(l) == "." {
			l = ""
		}
		lines = append(lines, l)
	}
	return strings.TrimSpace(line), strings.TrimSpace(strings.Join(lines, "\n"))
}

// converter maps DEP-5 license lines to SPDX expressions, collecting the
// LicenseRefs it makes.
type converter struct {
	texts     map[string]string // lower-cased name → text
	refs      map[string]int    // LicenseRef id → index in extracted
	extracted []packages.ExtractedLicense
}

// expression converts one DEP-5 license line. In DEP-5, "and" binds
// tighter than "or", and a comma before either starts a new, looser
// group: "A or B, and C" is (A OR B) AND C.
func (c *converter) expression(line string) (string, error) {
	var groups [][]string
	var ops []string // the operator joining each group after the first
	cur := []string{}
	for _, f := range strings.Fields(strings.ReplaceAll(line, ",", " , ")) {
		if f == "," {
			groups = append(groups, cur)
			cur = []string{}
			continue
		}
		if len(cur) == 0 && len(groups) > 0 && len(ops) < len(groups) {
			switch strings.ToLower(f) {
			case "and", "or":
				ops = append(ops, strings.ToUpper(f))
				continue
			}
			ops = append(ops, "AND") // "A, B" lists licenses that all apply
		}
		cur = append(cur, f)
	}
	groups = append(groups, cur)
	if len(ops) != len(groups)-1 {
		return "", fmt.Errorf("license %q: a comma with nothing after it", line)
	}
	out := ""
	for i, g := range groups {
		e, err := c.group(g)
		if err != nil {
			return "", fmt.Errorf("license %q: %v", line, err)
		}
		if i == 0 {
			out = e
			continue
		}
		out = paren(out) + " " + ops[i-1] + " " + paren(e)
	}
	return out, nil
}

// group converts "A or B and C": and binds tighter.
func (c *converter) group(words []string) (string, error) {
	var ors []string
	var ands []string
	var term []string
	flushTerm := func() error {
		if len(term) == 0 {
			return fmt.Errorf("an operator with no license before it")
		}
		t, err := c.term(term)
		if err != nil {
			return err
		}
		ands = append(ands, t)
		term = nil
		return nil
	}
	flushAnd := func() {
		if len(ands) == 1 {
			ors = append(ors, ands[0])
		} else {
			for i := range ands {
				ands[i] = paren(ands[i])
			}
			ors = append(ors, strings.Join(ands, " AND "))
		}
		ands = nil
	}
	for _, w := range words {
		switch strings.ToLower(w) {
		case "and":
			if err := flushTerm(); err != nil {
				return "", err
			}
		case "or":
			if err := flushTerm(); err != nil {
				return "", err
			}
			flushAnd()
		default:
			term = append(term, w)
		}
	}
	if err := flushTerm(); err != nil {
		return "", err
	}
	flushAnd()
	if len(ors) == 1 {
		return ors[0], nil
	}
	for i := range ors {
		ors[i] = paren(ors[i])
	}
	return strings.Join(ors, " OR "), nil
}

// term converts one license: "NAME" or "NAME with EXC exception".
func (c *converter) term(words []string) (string, error) {
	name := words[0]
	if len(words) == 1 {
		return c.license(name, ""), nil
	}
	if strings.EqualFold(words[1], "with") && len(words) >= 3 {
		exc := strings.Join(words[2:], " ")
		exc = strings.TrimSuffix(strings.TrimSuffix(exc, " exception"), " Exception")
		// Only a license on the SPDX list takes an exception (and only
		// one license: WITH binds tighter than OR). Anything else is one
		// LicenseRef for the whole term, and no other is made for the
		// name alone: every LicenseRef made must be in the expression.
		if id, ok := spdxID(name); ok && !strings.Contains(id, " ") {
			if e, ok := exceptionID(exc, id); ok {
				return id + " WITH " + e, nil
			}
		}
		return c.ref(strings.Join(words, " ")), nil
	}
	// Words that are not an exception: one name with spaces.
	return c.ref(strings.Join(words, " ")), nil
}

// license maps one Debian or SPDX license name.
func (c *converter) license(name, _ string) string {
	if id, ok := spdxID(name); ok {
		return id
	}
	return c.ref(name)
}

// ref is a LicenseRef for a name, with the text the file gives it.
func (c *converter) ref(name string) string {
	id := "LicenseRef-" + packages.SPDXIDString(name)
	if _, ok := c.refs[id]; ok {
		return id
	}
	text := c.texts[strings.ToLower(name)]
	if text == "" {
		text = "The license named " + name + " in the package's copyright file, which gives no text for it."
	}
	if len(name) > 200 {
		name = strings.ToValidUTF8(name[:200], "") + "…"
	}
	c.refs[id] = len(c.extracted)
	c.extracted = append(c.extracted, packages.ExtractedLicense{ID: id, Name: name, Text: packages.ClipLicenseText(text)})
	return id
}

// debianNames are Debian short names (DEP-5's list and common use) whose
// SPDX identifier differs from a case-insensitive match.
var debianNames = map[string]string{
	"expat":         "MIT",
	"mit/x11":       "MIT",
	"bsd-2":         "BSD-2-Clause",
	"bsd-3":         "BSD-3-Clause",
	"bsd-4":         "BSD-4-Clause",
	"apache-2":      "Apache-2.0",
	"artistic":      "Artistic-1.0",
	"artistic-1":    "Artistic-1.0",
	"artistic-2":    "Artistic-2.0",
	"perl":          "Artistic-1.0-Perl OR GPL-1.0-or-later",
	"psf-2":         "PSF-2.0",
	"psf":           "PSF-2.0",
	"python":        "Python-2.0",
	"python-2":      "Python-2.0",
	"cc0":           "CC0-1.0",
	"zlib":          "Zlib",
	"isc":           "ISC",
	"mpl-2":         "MPL-2.0",
	"mpl-1.1":       "MPL-1.1",
	"lppl-1.3c":     "LPPL-1.3c",
	"unicode":       "Unicode-DFS-2016",
	"ssleay":        "SSLeay-standalone",
	"openssl":       "OpenSSL",
	"x11":           "X11",
	"gpl":           "GPL-1.0-or-later",
	"lgpl":          "LGPL-2.0-or-later",
	"gfdl":          "GFDL-1.1-or-later",
	"gfdl-niv":      "GFDL-1.1-no-invariants-or-later",
	"zope":          "ZPL-2.1",
	"w3c":           "W3C",
	"bsl-1":         "BSL-1.0",
	"boost-1.0":     "BSL-1.0",
	"cc-by-3":       "CC-BY-3.0",
	"cc-by-sa-3":    "CC-BY-SA-3.0",
	"cc-by-4":       "CC-BY-4.0",
	"cc-by-sa-4":    "CC-BY-SA-4.0",
	"fsf-unlimited": "FSFUL",
}

// spdxID maps a Debian short name or an SPDX identifier to an SPDX
// expression of one license (two for Debian's "Perl").
func spdxID(name string) (string, bool) {
	lower := strings.ToLower(name)
	if id, ok := debianNames[lower]; ok {
		return id, true
	}
	if ok, id := spdxlicenses.IsActiveLicense(name); ok {
		return id, true
	}
	// GNU licenses: GPL-2, GPL-2+, LGPL-2.1+, AGPL-3, GFDL-1.3+,
	// GFDL-NIV-1.3: SPDX's -only and -or-later forms.
	plus := strings.HasSuffix(lower, "+")
	base := strings.TrimSuffix(lower, "+")
	for _, fam := range []string{"gpl", "lgpl", "agpl", "gfdl-niv", "gfdl"} {
		v, ok := strings.CutPrefix(base, fam+"-")
		if !ok {
			continue
		}
		v = strings.TrimSuffix(v, "-only")
		v = strings.TrimSuffix(v, "-or-later")
		if !strings.Contains(v, ".") {
			v += ".0"
		}
		spdxFam := strings.ToUpper(fam)
		suffix := "-only"
		if plus || strings.HasSuffix(base, "-or-later") {
			suffix = "-or-later"
		}
		id := spdxFam + "-" + v + suffix
		if fam == "gfdl-niv" {
			id = "GFDL-" + v + "-no-invariants" + suffix
		}
		if ok, canon := spdxlicenses.IsActiveLicense(id); ok {
			return canon, true
		}
		return "", false
	}
	// Other names with a version: MPL-1.1+, Apache-2 → Apache-2.0.
	if ok, id := spdxlicenses.IsActiveLicense(base); ok {
		if plus {
			return id + "+", true
		}
		return id, true
	}
	if ok, id := spdxlicenses.IsActiveLicense(base + ".0"); ok {
		if plus {
			return id + "+", true
		}
		return id, true
	}
	return "", false
}

// debianExceptions maps the exception names Debian copyright files use
// ("GPL-3+ with GCC-Runtime-3.1 exception") to SPDX's.
var debianExceptions = map[string]string{
	"gcc-runtime-3.1": "GCC-exception-3.1",
	"gcc-3.1":         "GCC-exception-3.1",
	"gcc":             "GCC-exception-2.0",
	"bison":           "Bison-exception-2.2",
	"bison-2.2":       "Bison-exception-2.2",
	"libtool":         "Libtool-exception",
	"classpath":       "Classpath-exception-2.0",
	"classpath-2.0":   "Classpath-exception-2.0",
	"font":            "Font-exception-2.0",
	"autoconf":        "Autoconf-exception-2.0",
	"autoconf-3.0":    "Autoconf-exception-3.0",
}

// exceptionID maps an exception name to SPDX's, given the license it
// qualifies (Autoconf's exception has one version per GPL version).
func exceptionID(name, license string) (string, bool) {
	lower := strings.ToLower(strings.TrimSpace(name))
	id, ok := debianExceptions[lower]
	if lower == "autoconf" && strings.HasPrefix(license, "GPL-3.0") {
		id = "Autoconf-exception-3.0"
	}
	if !ok {
		for _, cand := range []string{name, name + "-exception"} {
			if ok, canon := spdxlicenses.IsException(cand); ok {
				return canon, true
			}
		}
		return "", false
	}
	if ok, canon := spdxlicenses.IsException(id); ok {
		return canon, true
	}
	return "", false
}

// conjuncts splits an expression that is only licenses joined by AND
// (in any grouping) into them, so that the package's expression names
// each once; any other expression is one conjunct.
func conjuncts(e string) []string {
	if strings.Contains(e, " OR ") || strings.Contains(e, " WITH ") {
		return []string{e}
	}
	var out []string
	for _, t := range strings.Split(e, " AND ") {
		out = append(out, strings.Trim(t, "()"))
	}
	return out
}

// paren wraps a compound expression in parentheses.
func paren(e string) string {
	if strings.Contains(e, " ") {
		return "(" + e + ")"
	}
	return e
}
