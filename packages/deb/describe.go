package deb

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"pault.ag/go/debian/dependency"

	"github.com/distroless-dev/distroless/packages"
)

var _ packages.Describer = Payload{}

// maxCopyright bounds the copyright file Describe reads; a larger one is
// left out (the description then has no License).
const maxCopyright = 4 << 20

// errFound stops a walk once the copyright file is read.
var errFound = errors.New("found")

// Describe reads what the .deb says of itself for a bill of materials:
// Maintainer, Homepage, Pre-Depends and Depends, and Provides of its
// control file, and the licenses of /usr/share/doc/NAME/copyright in its
// data (see fromCopyright; or, when that directory is a symlink to another
// package's, which one).
// Dependency fields are read for the package's own architecture (for an
// "all" package, without architecture restrictions applied).
func (p Payload) Describe(file string) (packages.Description, error) {
	var d packages.Description
	b, err := p.ControlFile(file, "control")
	if err != nil {
		return d, err
	}
	v, err := paragraph(b)
	if err != nil {
		return d, fmt.Errorf("%s: control file: %v", file, err)
	}
	name := strings.TrimSpace(v["Package"])
	if err := CheckName(name); err != nil {
		return d, fmt.Errorf("%s: control file: %v", file, err)
	}
	d.Supplier = oneLine(v["Maintainer"])
	d.Homepage = oneLine(v["Homepage"])
	arch := dependency.Arch{CPU: strings.TrimSpace(v["Architecture"])}
	if a, err := dependency.ParseArch(arch.CPU); err == nil {
		arch = *a
	}
	for _, f := range []string{"Pre-Depends", "Depends"} {
		deps, err := convertDeps(v[f], arch)
		if err != nil {
			return d, fmt.Errorf("%s: control file: %s: %v", file, f, err)
		}
		d.Depends = append(d.Depends, deps...)
	}
	if prov := strings.TrimSpace(v["Provides"]); prov != "" {
		rel, err := dependency.Parse(prov)
		if err != nil {
			return d, fmt.Errorf("%s: control file: Provides: %v", file, err)
		}
		for _, r := range rel.Relations {
			for _, poss := range r.Possibilities {
				if poss.Name != "" && !poss.Substvar {
					d.Provides = append(d.Provides, poss.Name)
				}
			}
		}
	}

	if seen, ok := takeDocs(file); ok {
		// The build walked this file whole: what it saw.
		if s, ok := seen[name]; ok {
			if s.isLink {
				d.DocLink = docLink(s.link)
			} else if s.copyright != nil {
				d.License = fromCopyright(name, s.copyright)
			}
		}
		return d, nil
	}
	docDir := "usr/share/doc/" + name
	err = p.walk(file, func(h *tar.Header, r io.Reader) error {
		n := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		switch {
		case n == docDir && h.Typeflag == tar.TypeSymlink:
			d.DocLink = docLink(h.Linkname)
			return errFound
		case n == docDir+"/copyright" && h.Typeflag == tar.TypeReg:
			data, err := io.ReadAll(io.LimitReader(r, maxCopyright+1))
			if err != nil {
				return err
			}
			if len(data) <= maxCopyright {
				d.License = fromCopyright(name, data)
			}
			return errFound
		}
		return nil
	}, false)
	if err != nil && !errors.Is(err, errFound) {
		return d, err
	}
	return d, nil
}

// docLink is the package a /usr/share/doc/NAME symlink to target names
// (Debian's shared doc directories: "libfoo1 → libfoo-common"), or "".
func docLink(target string) string {
	if !path.IsAbs(target) {
		target = path.Join("/usr/share/doc", target)
	}
	target = path.Clean(target)
	if path.Dir(target) == "/usr/share/doc" {
		return path.Base(target)
	}
	return ""
}

// oneLine is a field's value on one line, trimmed.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
