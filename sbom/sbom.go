package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	packageurl "github.com/package-url/packageurl-go"

	"github.com/distroless-dev/distroless/packages"
)

// Format is an SBOM format.
type Format string

const (
	SPDX      Format = "spdx"      // SPDX 2.3 JSON
	CycloneDX Format = "cyclonedx" // CycloneDX 1.6 JSON
)

// ParseFormat reads a format name ("" is SPDX).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "spdx", "spdx-json", "spdxjson":
		return SPDX, nil
	case "cyclonedx", "cyclonedx-json", "cdx":
		return CycloneDX, nil
	}
	return "", fmt.Errorf("SBOM format %q: want spdx (SPDX 2.3 JSON) or cyclonedx (CycloneDX 1.6 JSON)", s)
}

// MediaType is the format's media type, the artifactType of the SBOM as
// an OCI referrer.
func (f Format) MediaType() string {
	if f == CycloneDX {
		return "application/vnd.cyclonedx+json"
	}
	return "application/spdx+json"
}

// PredicateType is the in-toto predicate type of an attestation whose
// predicate is an SBOM of the format (what cosign verify-attestation
// --type spdxjson and cyclonedx look for).
func (f Format) PredicateType() string {
	if f == CycloneDX {
		return "https://cyclonedx.org/bom"
	}
	return "https://spdx.dev/Document"
}

// Image is what an SBOM describes: one single-platform image.
type Image struct {
	Name        string    // the profile the image is of
	Digest      string    // the image manifest's digest, sha256:HEX
	Arch        string    // the packages' architecture (Debian or rpm spelling)
	Created     time.Time // the image's creation time (SOURCE_DATE_EPOCH)
	ToolVersion string    // distroless's version
	Distro      Distro
	// Indexes are the signed index files (InRelease, Packages, repomd)
	// the packages came from; none for a build from a lockfile that
	// predates them.
	Indexes  []Index
	Packages []Package
	// Added are the files copied into the image from the build host (a
	// profile's src: entries, gen's --add-file), one component per layer.
	Added []Added // Apps are the application layer's packages (Python wheels, npm
	// packages), each with the purl its installer gives.
	Apps []App
}

// App is one package of the application layer.
type App struct {
	Type, Name, Version string
	// License is an SPDX expression, or other text (then not declared).
	License string
	// Hash is "sha256:HEX" or an integrity string (sha512-BASE64).
	Hash   string
	Source string // its URL or file name
	PURL   string
	Layer  string
}

// checksum is the app's hash as an algorithm and a hex value, ok false
// when it is neither sha256:HEX nor an integrity string of sha1, sha256,
// sha384 or sha512.
func (a App) checksum() (alg, hexValue string, ok bool) {
	if h, found := strings.CutPrefix(a.Hash, "sha256:"); found {
		return "SHA256", h, len(h) == 64
	}
	alg, b64, found := strings.Cut(a.Hash, "-")
	if !found {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", "", false
	}
	switch alg {
	case "sha1", "sha256", "sha384", "sha512":
		return strings.ToUpper(alg), hex.EncodeToString(raw), true
	}
	return "", "", false
}

// Added is the files one layer took from the build host.
type Added struct {
	Layer string
	Files []AddedFile
}

// AddedFile is one file taken from the build host: its path in the
// image, and its content's SHA-256 (hex) and size.
type AddedFile struct {
	Path, SHA256 string
	Size         int64
}

// name is the component's name: host-files-LAYER.
func (a Added) name() string { return "host-files-" + a.Layer }

// manifest lists the files, one "SHA256  PATH" line each in path order
// (sha256sum's format); its SHA-256 is the component's checksum.
func (a Added) manifest() (string, string) {
	fs := slices.Clone(a.Files)
	sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.SHA256 + "  " + f.Path + "\n")
	}
	sum := sha256.Sum256([]byte(b.String()))
	return b.String(), hex.EncodeToString(sum[:])
}

// Distro is the distro the packages come from.
type Distro struct {
	Name   string // the distro's name in distroless (trixie, fedora-41)
	Format string // deb or rpm
	// OSRelease is the os-release the image gets (ID, VERSION_ID,
	// PRETTY_NAME are used).
	OSRelease map[string]string
}

// Index is one index file by URL and SHA-256.
type Index struct {
	URL, SHA256 string
}

// Package is one installed package.
type Package struct {
	Name, Version, Arch string
	URL                 string // where it was downloaded from
	SHA256              string // of the package file
	Size                int64
	Layer               string // the image layer it is in
	Description         packages.Description
}

// pkg is a package with what the document needs worked out.
type pkg struct {
	*Package
	id      string // SPDX element id
	purl    string
	license packages.License
	deps    []*pkg
}

// model works out licenses, purls, ids and dependency edges, sorted.
func model(img *Image) ([]*pkg, error) {
	if !strings.HasPrefix(img.Digest, "sha256:") || len(img.Digest) != 71 {
		return nil, fmt.Errorf("image digest %q: want sha256:HEX", img.Digest)
	}
	// The index files in a fixed order, whatever order they were read in.
	img.Indexes = slices.Clone(img.Indexes)
	sort.Slice(img.Indexes, func(i, j int) bool { return img.Indexes[i].URL < img.Indexes[j].URL })
	var ps []*pkg
	for i := range img.Packages {
		ps = append(ps, &pkg{Package: &img.Packages[i]})
	}
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Arch != b.Arch {
			return a.Arch < b.Arch
		}
		return a.Version < b.Version
	})
	byName := map[string][]*pkg{}
	provides := map[string][]*pkg{}
	ids := map[string]bool{}
	for _, p := range ps {
		byName[p.Name] = append(byName[p.Name], p)
		for _, pr := range p.Description.Provides {
			provides[pr] = append(provides[pr], p)
		}
		base := "SPDXRef-Package-" + img.Distro.Format + "-" + packages.SPDXIDString(p.Name) + "-" + packages.SPDXIDString(p.Arch)
		p.id = base
		for n := 2; ids[p.id]; n++ {
			p.id = fmt.Sprintf("%s-%d", base, n)
		}
		ids[p.id] = true
		var err error
		if p.purl, err = purlOf(img, p.Package); err != nil {
			return nil, err
		}
	}
	for _, p := range ps {
		d := p.Description
		p.license = d.License
		if p.license.Expression == "" && d.DocLink != "" {
			// A shared doc directory: the other package's license.
			for _, o := range byName[d.DocLink] {
				if o.Description.License.Expression != "" {
					p.license = o.Description.License
					break
				}
			}
		}
		seen := map[*pkg]bool{p: true}
		for _, name := range depNames(d.Depends) {
			for _, q := range append(slices.Clone(byName[name]), provides[name]...) {
				if !seen[q] {
					seen[q] = true
					p.deps = append(p.deps, q)
				}
			}
		}
		sort.Slice(p.deps, func(i, j int) bool { return p.deps[i].id < p.deps[j].id })
	}
	return ps, nil
}

// depNames are the names a requirement can be met by: every atom of it,
// but not the conditions of rpm's if/unless/with/without.
func depNames(ds []packages.Dep) []string {
	var out []string
	var walk func(d packages.Dep)
	walk = func(d packages.Dep) {
		switch d.Kind {
		case packages.DepAtom:
			out = append(out, d.Atom.Name)
		case packages.DepOr, packages.DepAnd:
			for _, a := range d.Args {
				walk(a)
			}
		case packages.DepIf, packages.DepUnless:
			for i, a := range d.Args {
				if i != 1 {
					walk(a)
				}
			}
		case packages.DepWith, packages.DepWithout:
			if len(d.Args) > 0 {
				walk(d.Args[0])
			}
		}
	}
	for _, d := range ds {
		walk(d)
	}
	return out
}

// distroID is os-release's ID (debian, fedora …), lower case.
func distroID(img *Image) string {
	id := strings.ToLower(strings.TrimSpace(img.Distro.OSRelease["ID"]))
	if id == "" {
		if img.Distro.Format == packages.FormatRPM {
			return "rpm"
		}
		return "debian"
	}
	return id
}

// distroQualifier is the purl distro qualifier: ID-VERSION_ID
// (debian-13), as syft and trivy write it.
func distroQualifier(img *Image) string {
	v := strings.TrimSpace(img.Distro.OSRelease["VERSION_ID"])
	if v == "" {
		v = img.Distro.Name
	}
	return distroID(img) + "-" + v
}

// purlOf is a package's purl.
func purlOf(img *Image, p *Package) (string, error) {
	q := packageurl.Qualifiers{{Key: "arch", Value: p.Arch}}
	switch img.Distro.Format {
	case packages.FormatDeb:
		q = append(q, packageurl.Qualifier{Key: "distro", Value: distroQualifier(img)})
		return packageurl.NewPackageURL(packageurl.TypeDebian, distroID(img), p.Name, p.Version, q, "").ToString(), nil
	case packages.FormatRPM:
		v := p.Version
		if e, rest, ok := strings.Cut(v, ":"); ok {
			v = rest
			if e != "0" {
				q = append(q, packageurl.Qualifier{Key: "epoch", Value: e})
			}
		}
		q = append(q, packageurl.Qualifier{Key: "distro", Value: distroQualifier(img)})
		return packageurl.NewPackageURL(packageurl.TypeRPM, distroID(img), p.Name, v, q, "").ToString(), nil
	}
	return "", fmt.Errorf("distro %s: package format %q has no purl type here", img.Distro.Name, img.Distro.Format)
}

// imagePurl is the image's purl: pkg:oci/NAME@DIGEST?arch=….
func imagePurl(img *Image) string {
	return packageurl.NewPackageURL(packageurl.TypeOCI, "", img.Name, img.Digest,
		packageurl.Qualifiers{{Key: "arch", Value: img.Arch}}, "").ToString()
}

// supplier splits "Name <email>" (Debian's Maintainer, rpm's Vendor or
// Packager) and says whether it names an organisation.
func supplier(s string) (name, email string, org bool) {
	s = strings.TrimSpace(s)
	name = s
	if i := strings.LastIndexByte(s, '<'); i >= 0 && strings.HasSuffix(s, ">") {
		name, email = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:len(s)-1])
	}
	lower := strings.ToLower(name)
	for _, w := range []string{"team", "maintainers", "project", "group", "developers", "debian", "fedora", "red hat", "inc", "foundation", "packagers", "list"} {
		if strings.Contains(lower, w) {
			org = true
		}
	}
	return name, email, org
}

// uuidOf is a name-based (version 5 style, SHA-256 truncated) UUID of s,
// so that the same image gets the same serial number.
func uuidOf(s string) string {
	h := sha256.Sum256([]byte(s))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// Marshal is the SBOM of img in format f: JSON, ending in a newline.
func Marshal(img *Image, f Format) ([]byte, error) {
	c := *img // model sorts the copy's index list, not the caller's
	img = &c
	ps, err := model(img)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	switch f {
	case SPDX, "":
		err = writeSPDX(&buf, img, ps)
	case CycloneDX:
		err = writeCycloneDX(&buf, img, ps)
	default:
		return nil, fmt.Errorf("SBOM format %q: want spdx or cyclonedx", f)
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
