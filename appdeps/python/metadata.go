package python

import (
	"slices"
	"strings"

	"github.com/distroless-dev/distroless/packages"
)

// parseHeaders reads the RFC 822 style headers of METADATA or WHEEL (up
// to the first blank line), continuation lines folded.
func parseHeaders(data []byte) map[string][]string {
	if len(data) > maxMetadata {
		data = data[:maxMetadata]
	}
	out := map[string][]string{}
	var last string
	for _, line := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") {
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			vs := out[last]
			vs[len(vs)-1] += "\n" + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.TrimSpace(k)
		out[last] = append(out[last], strings.TrimSpace(v))
	}
	return out
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// classifierLicense maps the common trove classifiers to SPDX ids.
var classifierLicense = map[string]string{
	"License :: OSI Approved :: MIT License":                                   "MIT",
	"License :: OSI Approved :: BSD License":                                   "BSD-3-Clause",
	"License :: OSI Approved :: Apache Software License":                       "Apache-2.0",
	"License :: OSI Approved :: ISC License (ISCL)":                            "ISC",
	"License :: OSI Approved :: Python Software Foundation License":            "PSF-2.0",
	"License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)":          "MPL-2.0",
	"License :: OSI Approved :: GNU General Public License v2 (GPLv2)":         "GPL-2.0-only",
	"License :: OSI Approved :: GNU General Public License v3 (GPLv3)":         "GPL-3.0-only",
	"License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
	"License :: OSI Approved :: The Unlicense (Unlicense)":                     "Unlicense",
}

// license is the package's license: License-Expression (PEP 639), else a
// License field that is an SPDX expression, else its classifiers, else
// the License field's text.
func license(meta map[string][]string) string {
	if e := first(meta["License-Expression"]); packages.ValidLicenseExpression(e) {
		return e
	}
	l := first(meta["License"])
	if l != "" && packages.ValidLicenseExpression(l) {
		return l
	}
	var ids []string
	for _, c := range meta["Classifier"] {
		if id, ok := classifierLicense[c]; ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		return strings.Join(ids, " OR ")
	}
	return l
}
