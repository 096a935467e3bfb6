package deb

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages/packagestest"
)

// TestFromCopyrightTrixie maps real copyright files of trixie packages.
func TestFromCopyrightTrixie(t *testing.T) {
	for _, tc := range []struct {
		file string
		want string
		refs []string // LicenseRef ids, in order of first use
	}{
		{"zlib1g", "Zlib", nil},
		{"libexpat1", "MIT", nil},
		{"netbase", "GPL-2.0-only", nil},
		{"tzdata", "LicenseRef-public-domain", []string{"LicenseRef-public-domain"}},
		{"media-types", "LicenseRef-ad-hoc", []string{"LicenseRef-ad-hoc"}},
		{"libsqlite3-0", "LicenseRef-public-domain AND GPL-2.0-or-later", []string{"LicenseRef-public-domain"}},
		{"base-files", "GPL-2.0-or-later AND LicenseRef-verbatim", []string{"LicenseRef-verbatim"}},
		{"libbz2-1.0", "LicenseRef-BSD-variant AND GPL-2.0-only", []string{"LicenseRef-BSD-variant"}},
		// "Artistic or GPL-1+": DEP-5's or.
		{"libssl3t64", "Apache-2.0 AND (Artistic-1.0 OR GPL-1.0-or-later)", nil},
		// "BSD-3-clause or GPL-2", zlib, Expat (MIT).
		{"libzstd1", "(BSD-3-Clause OR GPL-2.0-only) AND Zlib AND MIT", nil},
		// "Sleepycat and BSD-3-clause" is split into its licenses; "GPL"
		// without a version is any version.
		{"libdb5.3t64", "Sleepycat AND BSD-3-Clause AND MS-PL AND (GPL-1.0-or-later OR Artistic-1.0) AND X11 AND " +
			"LicenseRef-MIT-old AND LicenseRef-TCL-like AND LicenseRef-BSD-3-clause-fjord AND GPL-3.0-only AND Zlib AND " +
			"(Artistic-1.0 OR BSD-3-Clause) AND GPL-1.0-or-later",
			[]string{"LicenseRef-MIT-old", "LicenseRef-TCL-like", "LicenseRef-BSD-3-clause-fjord"}},
		{"liblzma5", "0BSD AND GPL-2.0-or-later AND LGPL-2.1-or-later AND FSFULLR AND " +
			"LicenseRef-GPL-3.0-or-later-WITH-Autoconf-exception-macro AND LicenseRef-none AND LicenseRef-PD AND " +
			"LicenseRef-permissive-nowarranty AND FSFUL AND LicenseRef-noderivs AND LicenseRef-PD-debian", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/copyright/" + tc.file + ".copyright")
			if err != nil {
				t.Fatal(err)
			}
			l := fromCopyright(tc.file, data)
			if l.Expression != tc.want {
				t.Errorf("expression\n got %s\nwant %s", l.Expression, tc.want)
			}
			packagestest.CheckLicense(t, l)
			var ids []string
			for _, x := range l.Extracted {
				ids = append(ids, x.ID)
			}
			if tc.refs != nil && !slices.Equal(ids, tc.refs) {
				t.Errorf("LicenseRefs %v, want %v", ids, tc.refs)
			}
		})
	}
}

// TestFromCopyrightTexts: a LicenseRef's text is its standalone License
// paragraph's, with DEP-5's " ." lines as empty lines.
func TestFromCopyrightTexts(t *testing.T) {
	data, err := os.ReadFile("testdata/copyright/libbz2-1.0.copyright")
	if err != nil {
		t.Fatal(err)
	}
	l := fromCopyright("libbz2-1.0", data)
	if len(l.Extracted) != 1 {
		t.Fatalf("extracted %v", l.Extracted)
	}
	x := l.Extracted[0]
	if x.Name != "BSD-variant" || !strings.Contains(x.Text, "Redistribution and use in source and binary forms") ||
		strings.Contains(x.Text, "\n.\n") || strings.HasPrefix(x.Text, " ") {
		t.Errorf("BSD-variant text:\n%s", x.Text)
	}
}

// TestFromCopyrightNotMachineReadable: a free-form copyright file is one
// LicenseRef with the whole file as its text.
func TestFromCopyrightNotMachineReadable(t *testing.T) {
	data, err := os.ReadFile("testdata/copyright/gcc-14-base.copyright.head")
	if err != nil {
		t.Fatal(err)
	}
	l := fromCopyright("gcc-14-base", data)
	if l.Expression != "LicenseRef-gcc-14-base-copyright" || len(l.Extracted) != 1 || l.Extracted[0].Text != string(data) {
		t.Errorf("got %q with %d extracted", l.Expression, len(l.Extracted))
	}
	packagestest.CheckLicense(t, l)
}

// TestDEP5Syntax: DEP-5's operators, precedence, exceptions and names.
func TestDEP5Syntax(t *testing.T) {
	for line, want := range map[string]string{
		"GPL-2+":                 "GPL-2.0-or-later",
		"LGPL-2.1":               "LGPL-2.1-only",
		"AGPL-3+":                "AGPL-3.0-or-later",
		"GFDL-NIV-1.3+":          "GFDL-1.3-no-invariants-or-later",
		"Expat":                  "MIT",
		"bsd-3-clause":           "BSD-3-Clause",
		"Apache-2":               "Apache-2.0",
		"MPL-1.1+":               "MPL-1.1+",
		"GPL-2.0-or-later":       "GPL-2.0-or-later",
		"GPL-2+ or Artistic-2.0": "GPL-2.0-or-later OR Artistic-2.0",
		"GPL-2+ or Artistic-2.0, and BSD-3-clause": "(GPL-2.0-or-later OR Artistic-2.0) AND BSD-3-Clause",
		"MIT and BSD-2-clause or ISC":              "(MIT AND BSD-2-Clause) OR ISC",
		"ISC or MIT and BSD-2-clause":              "ISC OR (MIT AND BSD-2-Clause)",
		"GPL-3+ with GCC-Runtime-3.1 exception":    "GPL-3.0-or-later WITH GCC-exception-3.1",
		"GPL-2+ with Autoconf exception":           "GPL-2.0-or-later WITH Autoconf-exception-2.0",
		"GPL-3+ with Autoconf exception":           "GPL-3.0-or-later WITH Autoconf-exception-3.0",
		"GPL-2 with Classpath exception":           "GPL-2.0-only WITH Classpath-exception-2.0",
		"GPL-2+ with OpenSSL exception":            "LicenseRef-GPL-2-plus-with-OpenSSL-exception",
		"Perl":                                     "Artistic-1.0-Perl OR GPL-1.0-or-later",
		"public-domain":                            "LicenseRef-public-domain",
		"GPL-2+ with Nobody-Knows exception":       "LicenseRef-GPL-2-plus-with-Nobody-Knows-exception",
	} {
		doc := "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: someone\nLicense: " + line + "\n"
		l := fromCopyright("p", []byte(doc))
		if l.Expression != want {
			t.Errorf("License: %s\n got %s\nwant %s", line, l.Expression, want)
		}
		packagestest.CheckLicense(t, l)
	}
}

// TestFromCopyrightHostile: broken, odd and hostile copyright files give
// a valid expression (or none) whose every LicenseRef has a text, and
// never a panic.
func TestFromCopyrightHostile(t *testing.T) {
	header := "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
	many := header
	for i := 0; i < 3000; i++ {
		many += "Files: f" + strings.Repeat("x", i%7) + "\nLicense: GPL-2+ or MIT, and Zlib\n\n"
	}
	for name, doc := range map[string]string{
		"empty":                "",
		"blank":                "\n\n \n",
		"binary":               "\x00\x01\x02\xff\xfe Format: copyright-format\n\x00",
		"latin-1":              header + "Files: *\nLicense: caf\xe9-license\n caf\xe9 text\n",
		"crlf":                 strings.ReplaceAll(header+"Files: *\nLicense: MIT\n", "\n", "\r\n"),
		"no files":             header,
		"header license":       "Format: copyright-format/1.0\nLicense: GPL-2+\n",
		"empty license":        header + "Files: *\nLicense:\n",
		"operators only":       header + "Files: *\nLicense: or and ,\n",
		"trailing comma":       header + "Files: *\nLicense: MIT,\n",
		"leading operator":     header + "Files: *\nLicense: and MIT\n",
		"double or":            header + "Files: *\nLicense: MIT or or ISC\n",
		"parentheses":          header + "Files: *\nLicense: (MIT) AND (ISC\n",
		"spdx injection":       header + "Files: *\nLicense: MIT) OR (LicenseRef-x\n",
		"with nothing":         header + "Files: *\nLicense: GPL-2+ with\n",
		"long name":            header + "Files: *\nLicense: " + strings.Repeat("a-", 5000) + "\n",
		"slash and unicode":    header + "Files: *\nLicense: MIT/X11 ünïcödé ☃\n",
		"continuation first":   header + " Files: *\nLicense: MIT\n",
		"no colon":             header + "Files *\nLicense MIT\n",
		"duplicate field":      header + "Files: *\nLicense: MIT\nLicense: ISC\n",
		"many paragraphs":      many,
		"huge text":            header + "Files: *\nLicense: custom\n" + strings.Repeat(" text line\n", 100000),
		"format not dep5":      "Format: something else\n\nFiles: *\nLicense: MIT\n",
		"only dot lines":       header + "Files: *\nLicense: x\n .\n .\n",
		"exception of nothing": header + "Files: *\nLicense: with GCC exception\n",
	} {
		t.Run(name, func(t *testing.T) {
			l := fromCopyright("pkg+name/..", []byte(doc))
			packagestest.CheckLicense(t, l)
			if strings.TrimSpace(doc) != "" && l.Expression == "" {
				t.Errorf("no license at all for a non-empty file")
			}
		})
	}
}

// FuzzFromCopyright: any copyright file gives a valid expression whose
// LicenseRefs all have texts.
func FuzzFromCopyright(f *testing.F) {
	for _, n := range []string{"libdb5.3t64", "liblzma5", "libzstd1", "base-files"} {
		b, err := os.ReadFile("testdata/copyright/" + n + ".copyright")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Format: copyright-format\n\nFiles: *\nLicense: GPL-2+ or MIT, and X with Y exception\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		packagestest.CheckLicense(t, fromCopyright("p", data))
	})
}

// TestFromCopyrightBounded: a License line longer than any real one is
// one LicenseRef, not parsed; a file of more distinct licenses than any
// real one is one LicenseRef of the whole file; below those bounds every
// license is mapped.
func TestFromCopyrightBounded(t *testing.T) {
	header := "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
	var ids []string
	for i := 0; i < 5000; i++ {
		ids = append(ids, fmt.Sprintf("L%d", i))
	}
	l := fromCopyright("p", []byte(header+"Files: *\nLicense: "+strings.Join(ids, " or ")+", and MIT\n"))
	if len(l.Extracted) != 1 || l.Expression != l.Extracted[0].ID || len(l.Extracted[0].Name) > 210 {
		t.Errorf("a 5000-license line: %.100q with %d extracted", l.Expression, len(l.Extracted))
	}
	packagestest.CheckLicense(t, l)

	paragraphs := func(n int) []byte {
		var b strings.Builder
		b.WriteString(header)
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "Files: f%d\nLicense: L%d or MIT\n\n", i, i)
		}
		return []byte(b.String())
	}
	l = fromCopyright("p", paragraphs(100))
	if !strings.Contains(l.Expression, "(LicenseRef-L99 OR MIT)") || len(l.Extracted) != 100 {
		t.Errorf("100 licenses: %d extracted, expression %.100q…", len(l.Extracted), l.Expression)
	}
	packagestest.CheckLicense(t, l)
	l = fromCopyright("p", paragraphs(1000))
	if l.Expression != "LicenseRef-p-copyright" {
		t.Errorf("1000 licenses: %.100q, want the whole file as one LicenseRef", l.Expression)
	}
	packagestest.CheckLicense(t, l)
}

// BenchmarkFromCopyright: a real file, and the worst a package can make
// (one long License line; thousands of Files paragraphs).
func BenchmarkFromCopyright(b *testing.B) {
	real, err := os.ReadFile("testdata/copyright/libdb5.3t64.copyright")
	if err != nil {
		b.Fatal(err)
	}
	header := "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
	var files strings.Builder
	files.WriteString(header)
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&files, "Files: f%d\nLicense: L%d or MIT, and GPL-2+\n\n", i, i)
	}
	for name, data := range map[string][]byte{
		"libdb5.3t64":     real,
		"long line":       []byte(header + "Files: *\nLicense: " + strings.Repeat("MIT or GPL-2+ and Zlib, and ", 20000) + "ISC\n"),
		"5000 paragraphs": []byte(files.String()),
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				fromCopyright("p", data)
			}
		})
	}
}
