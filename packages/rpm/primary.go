package rpm

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/distroless-dev/distroless/packages"
)

// xmlPackage is one <package> element of primary.xml. Tags name local
// names only, so the common and rpm namespaces both match.
type xmlPackage struct {
	Type    string `xml:"type,attr"`
	Name    string `xml:"name"`
	Arch    string `xml:"arch"`
	Version struct {
		Epoch string `xml:"epoch,attr"`
		Ver   string `xml:"ver,attr"`
		Rel   string `xml:"rel,attr"`
	} `xml:"version"`
	Checksum struct {
		Type  string `xml:"type,attr"`
		Value string `xml:",chardata"`
	} `xml:"checksum"`
	Size struct {
		Package   string `xml:"package,attr"`
		Installed string `xml:"installed,attr"`
	} `xml:"size"`
	Location struct {
		Href string `xml:"href,attr"`
		Base string `xml:"base,attr"`
	} `xml:"location"`
	Format struct {
		SourceRPM string     `xml:"sourcerpm"`
		Provides  []xmlEntry `xml:"provides>entry"`
		Requires  []xmlEntry `xml:"requires>entry"`
		Conflicts []xmlEntry `xml:"conflicts>entry"`
		Obsoletes []xmlEntry `xml:"obsoletes>entry"`
		Files     []xmlFile  `xml:"file"`
	} `xml:"format"`
}

type xmlEntry struct {
	Name  string `xml:"name,attr"`
	Flags string `xml:"flags,attr"`
	Epoch string `xml:"epoch,attr"`
	Ver   string `xml:"ver,attr"`
	Rel   string `xml:"rel,attr"`
	Pre   string `xml:"pre,attr"`
}

type xmlFile struct {
	Type string `xml:"type,attr"`
	Path string `xml:",chardata"`
}

// rpmPkg is a converted package with what the index needs beyond the
// model.
type rpmPkg struct {
	pkg      *packages.Package
	evr      EVR
	nevra    string
	provides []provide
	files    []string // the file paths primary lists for it
}

// provide is one parsed Provides entry.
type provide struct {
	name  string
	flags int
	evr   EVR
}

// flagsOp maps primary's flags attribute to the model's operator.
var flagsOp = map[string]string{"": "", "LT": "<", "LE": "<=", "EQ": "=", "GE": ">=", "GT": ">"}

// entryEVR builds the EVR of a versioned entry; ok is false when the
// entry has a relation but no version.
func entryEVR(e xmlEntry) (EVR, error) {
	evr := EVR{Epoch: strings.TrimSpace(e.Epoch), Version: strings.TrimSpace(e.Ver), Release: strings.TrimSpace(e.Rel)}
	if evr.Version == "" {
		return EVR{}, fmt.Errorf("no version")
	}
	// Check it the way a written-out version would parse.
	if _, err := ParseEVR(evr.String()); err != nil || strings.ContainsAny(evr.Version, ":-") || strings.ContainsAny(evr.Release, ":-") {
		return EVR{}, fmt.Errorf("bad version %q", evr.String())
	}
	for _, c := range evr.Epoch {
		if c < '0' || c > '9' {
			return EVR{}, fmt.Errorf("bad epoch %q", evr.Epoch)
		}
	}
	if len(evr.Epoch) > 10 {
		return EVR{}, fmt.Errorf("bad epoch %q", evr.Epoch)
	}
	return evr, nil
}

// convertPackage turns a parsed <package> into an rpmPkg. base is the
// repository's base URL, origin its name.
func convertPackage(x *xmlPackage, base, origin string) (*rpmPkg, error) {
	name := strings.TrimSpace(x.Name)
	if name == "" {
		return nil, fmt.Errorf("package without a name")
	}
	fail := func(format string, args ...any) (*rpmPkg, error) {
		return nil, fmt.Errorf("package %s: %s", name, fmt.Sprintf(format, args...))
	}
	if x.Type != "" && x.Type != "rpm" {
		return fail("type %q is not rpm", x.Type)
	}
	if err := CheckName(name); err != nil {
		return fail("refused: %v", err)
	}
	evr := EVR{Epoch: strings.TrimSpace(x.Version.Epoch), Version: strings.TrimSpace(x.Version.Ver), Release: strings.TrimSpace(x.Version.Rel)}
	if evr.Version == "" || evr.Release == "" {
		return fail("no version or release")
	}
	if err := CheckVersionParts(evr.Epoch, evr.Version, evr.Release); err != nil {
		return fail("refused: %v", err)
	}
	if _, err := ParseEVR(evr.String()); err != nil {
		return fail("%v", err)
	}
	if _, err := strconv.ParseUint(evr.Epoch, 10, 32); evr.Epoch != "" && err != nil {
		return fail("bad epoch %q", evr.Epoch)
	}
	p := &packages.Package{
		Name:    name,
		Version: evr.String(),
		Arch:    strings.TrimSpace(x.Arch),
		Origin:  origin,
	}
	if p.Arch == "" {
		return fail("no arch")
	}
	if err := CheckArch(p.Arch); err != nil {
		return fail("refused: %v", err)
	}
	if t := strings.TrimSpace(x.Checksum.Type); t != "sha256" {
		return fail("checksum type %q (only sha256 is accepted)", t)
	}
	p.SHA256 = strings.ToLower(strings.TrimSpace(x.Checksum.Value))
	if !isHexDigest(p.SHA256) {
		return fail("bad sha256 %q", p.SHA256)
	}
	var err error
	if p.Size, err = strconv.ParseInt(strings.TrimSpace(x.Size.Package), 10, 64); err != nil || p.Size <= 0 {
		return fail("bad package size %q", x.Size.Package)
	}
	if s := strings.TrimSpace(x.Size.Installed); s != "" {
		if p.InstalledSize, err = strconv.ParseInt(s, 10, 64); err != nil || p.InstalledSize < 0 {
			return fail("bad installed size %q", s)
		}
	}
	p.Location = strings.TrimSpace(x.Location.Href)
	if p.Location == "" || strings.HasPrefix(p.Location, "/") || strings.Contains(p.Location, "://") {
		return fail("bad location %q", p.Location)
	}
	for _, part := range strings.Split(p.Location, "/") {
		if part == ".." {
			return fail("bad location %q", p.Location)
		}
	}
	b := strings.TrimSpace(x.Location.Base)
	if b == "" || !(strings.HasPrefix(b, "https://") || strings.HasPrefix(b, "http://")) {
		b = base
	}
	p.URL = strings.TrimRight(b, "/") + "/" + p.Location
	p.Source = sourceName(strings.TrimSpace(x.Format.SourceRPM), name)

	r := &rpmPkg{pkg: p, evr: evr, nevra: name + "-" + evr.String() + "." + p.Arch}
	for _, e := range x.Format.Provides {
		pr := provide{name: strings.TrimSpace(e.Name)}
		if pr.name == "" {
			continue
		}
		op, ok := flagsOp[e.Flags]
		if !ok {
			return fail("Provides %s: bad flags %q", pr.name, e.Flags)
		}
		pr.flags, _ = senseOf(op)
		text := pr.name
		if op != "" {
			if pr.evr, err = entryEVR(e); err != nil {
				return fail("Provides %s: %v", pr.name, err)
			}
			text += " " + op + " " + pr.evr.String()
		}
		r.provides = append(r.provides, pr)
		p.Provides = append(p.Provides, text)
	}
	for _, e := range x.Format.Requires {
		n := strings.TrimSpace(e.Name)
		switch {
		case n == "":
			continue
		case e.Pre == "1" || strings.EqualFold(e.Pre, "true"):
			// Only for install scriptlets (pre, post, pretrans…), which
			// never run in an image.
			continue
		case strings.HasPrefix(n, "rpmlib("):
			// Features of the rpm that installs it.
			continue
		case strings.HasPrefix(n, "("):
			if e.Flags != "" {
				return fail("Requires %s: a rich dependency with flags %q", n, e.Flags)
			}
			d, err := parseRich(n)
			if err != nil {
				return fail("Requires: %v", err)
			}
			p.Depends = append(p.Depends, d)
			continue
		}
		a := packages.Atom{Name: n}
		op, ok := flagsOp[e.Flags]
		if !ok {
			return fail("Requires %s: bad flags %q", n, e.Flags)
		}
		if op != "" {
			v, err := entryEVR(e)
			if err != nil {
				return fail("Requires %s: %v", n, err)
			}
			a.Op, a.Version = op, v.String()
		}
		p.Depends = append(p.Depends, packages.Dep{Kind: packages.DepAtom, Atom: a})
	}
	for _, f := range []struct {
		field   string
		entries []xmlEntry
		to      *[]packages.Atom
		rich    *[]packages.Dep
	}{{"Conflicts", x.Format.Conflicts, &p.Conflicts, &p.ConflictsRich}, {"Obsoletes", x.Format.Obsoletes, &p.Obsoletes, &p.ObsoletesRich}} {
		for _, e := range f.entries {
			n := strings.TrimSpace(e.Name)
			if n == "" {
				continue
			}
			if strings.HasPrefix(n, "(") {
				// A rich relation: "(a or b …)" is the relation with
				// each of them, kept as atoms; any other (and, if,
				// unless, with …) is kept as the expression.
				if e.Flags != "" {
					return fail("%s %s: a rich dependency with flags %q", f.field, n, e.Flags)
				}
				d, err := parseRich(n)
				if err != nil {
					return fail("%s: %v", f.field, err)
				}
				if as := orAtoms(d); as != nil {
					*f.to = append(*f.to, as...)
				} else {
					*f.rich = append(*f.rich, d)
				}
				continue
			}
			a := packages.Atom{Name: n}
			op, ok := flagsOp[e.Flags]
			if !ok {
				return fail("%s %s: bad flags %q", f.field, n, e.Flags)
			}
			if op != "" {
				v, err := entryEVR(e)
				if err != nil {
					return fail("%s %s: %v", f.field, n, err)
				}
				a.Op, a.Version = op, v.String()
			}
			*f.to = append(*f.to, a)
		}
	}
	for _, f := range x.Format.Files {
		if fp := strings.TrimSpace(f.Path); strings.HasPrefix(fp, "/") {
			r.files = append(r.files, fp)
		}
	}
	return r, nil
}

// orAtoms returns the atoms of a rich dependency made of atoms and
// "or" alone (the relation with any of them), else none.
func orAtoms(d packages.Dep) []packages.Atom {
	switch d.Kind {
	case packages.DepAtom:
		return []packages.Atom{d.Atom}
	case packages.DepOr:
		var out []packages.Atom
		for _, a := range d.Args {
			as := orAtoms(a)
			if as == nil {
				return nil
			}
			out = append(out, as...)
		}
		return out
	}
	return nil
}

// sourceName is the source package's name: the source rpm's file name
// without -version-release.src.rpm.
func sourceName(srpm, fallback string) string {
	s := strings.TrimSuffix(srpm, ".rpm")
	s = strings.TrimSuffix(strings.TrimSuffix(s, ".src"), ".nosrc")
	for i := 0; i < 2; i++ {
		j := strings.LastIndexByte(s, '-')
		if j <= 0 {
			return fallback
		}
		s = s[:j]
	}
	return s
}

// parsePackage parses one <package> element (a fragment of primary.xml).
func parsePackage(frag []byte, base, origin string) (*rpmPkg, error) {
	var x xmlPackage
	dec := xml.NewDecoder(bytes.NewReader(frag))
	if err := dec.Decode(&x); err != nil {
		return nil, fmt.Errorf("package %s: %v", guessName(frag), err)
	}
	return convertPackage(&x, base, origin)
}

// guessName finds the <name> of a fragment that does not parse.
func guessName(frag []byte) string {
	i := bytes.Index(frag, []byte("<name>"))
	if i < 0 {
		return "(unnamed)"
	}
	rest := frag[i+6:]
	j := bytes.Index(rest, []byte("</name>"))
	if j < 0 || j > 256 {
		return "(unnamed)"
	}
	return string(rest[:j])
}

// scanPrimary walks primary.xml, calling fn with the byte range of each
// <package> element and the element parsed. It checks the document is
// well formed.
func scanPrimary(data []byte, fn func(off, end int64, x *xmlPackage) error) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	depth := 0
	sawRoot := false
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if t.Name.Local != "metadata" {
					return fmt.Errorf("root element is <%s>, not <metadata>", t.Name.Local)
				}
				sawRoot = true
				depth++
				continue
			}
			if depth == 1 && t.Name.Local == "package" {
				var x xmlPackage
				if err := dec.DecodeElement(&x, &t); err != nil {
					return err
				}
				if err := fn(off, dec.InputOffset(), &x); err != nil {
					return err
				}
				continue
			}
			depth++
			if err := dec.Skip(); err != nil {
				return err
			}
			depth--
		case xml.EndElement:
			depth--
		}
	}
	if !sawRoot {
		return fmt.Errorf("no <metadata> element")
	}
	return nil
}
