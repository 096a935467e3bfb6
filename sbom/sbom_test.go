package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	spdxjson "github.com/spdx/tools-golang/json"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/distroless-dev/distroless/packages"
)

const testDigest = "sha256:14dd8eed8a6a7db4f8ba31baaefe97736e1101240a84444c6e893e27bb9d1bce"

var refRE = regexp.MustCompile(`LicenseRef-[A-Za-z0-9.-]+`)

// The purl spellings of the two formats, as their drivers give them
// (packages/deb's and packages/rpm's Purl; sbom's tests import no
// format).
var (
	debPurl = packages.PurlSpelling{Type: "deb", Namespace: "debian"}
	rpmPurl = packages.PurlSpelling{Type: "rpm", Namespace: "rpm", EpochQualifier: true}
)

func atom(n string) packages.Dep {
	return packages.Dep{Kind: packages.DepAtom, Atom: packages.Atom{Name: n}}
}

// debImage is a small Debian image: libc6, zlib1g (needs libc6),
// python3.13-minimal (needs zlib1g or libz-ng, and "libssl" which only a
// Provides names), libssl3t64 (provides libssl), gcc doc-linked base.
func debImage(t testing.TB) *Image {
	t.Helper()
	// The licenses packages/deb's Describe reads from these packages'
	// copyright files; gcc-14-base's is not machine readable.
	spdx := func(e string) packages.License { return packages.License{Expression: e} }
	gcc := packages.License{Expression: "LicenseRef-gcc-14-base-copyright", Extracted: []packages.ExtractedLicense{{
		ID: "LicenseRef-gcc-14-base-copyright", Name: "gcc-14-base copyright file",
		Text: "This is the Debian GNU/Linux prepackaged version of the GNU compiler collection,\ncontaining Ada, C, C++, D, Fortran 95, Go, Objective-C, Objective-C++, and\nModula-2 compilers, documentation, and support libraries.\n"}}}
	return &Image{
		Name: "python3.13", Digest: testDigest, Arch: "amd64", Created: time.Unix(1700000000, 0), ToolVersion: "v1.2.3",
		Distro:  Distro{Name: "trixie", Format: "deb", Purl: debPurl, OSRelease: map[string]string{"ID": "debian", "VERSION_ID": "13", "PRETTY_NAME": "Distroless (Debian 13)"}},
		Indexes: []Index{{URL: "https://deb.example/dists/trixie/InRelease", SHA256: strings.Repeat("a", 64)}, {URL: "https://deb.example/dists/trixie/main/binary-amd64/Packages.xz", SHA256: strings.Repeat("b", 64)}},
		Packages: []Package{
			{Name: "zlib1g", Version: "1:1.3.dfsg+really1.3.1-1+deb13u1", Arch: "amd64", URL: "https://deb.example/pool/main/z/zlib/zlib1g.deb", SHA256: strings.Repeat("1", 64), Layer: "base",
				Description: packages.Description{Supplier: "Mark Brown <broonie@debian.org>", Homepage: "http://zlib.net/", License: spdx("Zlib"), Depends: []packages.Dep{atom("libc6")}}},
			{Name: "libc6", Version: "2.41-12", Arch: "amd64", URL: "https://deb.example/pool/main/g/glibc/libc6.deb", SHA256: strings.Repeat("2", 64), Layer: "base",
				Description: packages.Description{Supplier: "GNU Libc Maintainers <debian-glibc@lists.debian.org>", License: spdx("GPL-2.0-only"), Depends: []packages.Dep{atom("libgcc-s1")}}},
			{Name: "libgcc-s1", Version: "14.2.0-19", Arch: "amd64", URL: "https://deb.example/pool/main/g/gcc/libgcc-s1.deb", SHA256: strings.Repeat("3", 64), Layer: "base",
				Description: packages.Description{Supplier: "Debian GCC Maintainers <debian-gcc@lists.debian.org>", DocLink: "gcc-14-base", Depends: []packages.Dep{atom("gcc-14-base"), atom("libc6")}}},
			{Name: "gcc-14-base", Version: "14.2.0-19", Arch: "amd64", URL: "https://deb.example/pool/main/g/gcc/gcc-14-base.deb", SHA256: strings.Repeat("4", 64), Layer: "base",
				Description: packages.Description{License: gcc}},
			{Name: "libssl3t64", Version: "3.5.9-1~deb13u1", Arch: "amd64", URL: "https://deb.example/pool/main/o/openssl/libssl3t64.deb", SHA256: strings.Repeat("5", 64), Layer: "python3",
				Description: packages.Description{License: spdx("Apache-2.0 AND (Artistic-1.0 OR GPL-1.0-or-later)"), Provides: []string{"libssl"}, Depends: []packages.Dep{atom("libc6")}}},
			{Name: "python3.13-minimal", Version: "3.13.5-2", Arch: "amd64", URL: "https://deb.example/pool/main/p/python3.13/python3.13-minimal.deb", SHA256: strings.Repeat("6", 64), Layer: "python3",
				Description: packages.Description{Depends: []packages.Dep{
					{Kind: packages.DepOr, Args: []packages.Dep{atom("zlib1g"), atom("libz-ng")}}, atom("libssl"), atom("python3.13-minimal")}}},
		},
	}
}

// TestMarshalReproducible: the same image gives the same bytes, whatever
// the order of its packages and index files; another creation time or digest changes them.
func TestMarshalReproducible(t *testing.T) {
	for _, f := range []Format{SPDX, CycloneDX} {
		img := debImage(t)
		a, err := Marshal(img, f)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			img := debImage(t)
			rand.Shuffle(len(img.Packages), func(i, j int) { img.Packages[i], img.Packages[j] = img.Packages[j], img.Packages[i] })
			img.Indexes[0], img.Indexes[1] = img.Indexes[1], img.Indexes[0]
			b, err := Marshal(img, f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Fatalf("%s: another package order gives other bytes", f)
			}
		}
		img.Created = img.Created.Add(time.Second)
		if b, err := Marshal(img, f); err != nil {
			t.Errorf("%s: another creation time: %v", f, err)
		} else if bytes.Equal(a, b) {
			t.Errorf("%s: another creation time gives the same bytes", f)
		}
		if !bytes.Contains(a, []byte("2023-11-14T22:13:20Z")) {
			t.Errorf("%s: SOURCE_DATE_EPOCH's time is not the creation time", f)
		}
	}
}

// TestSPDXDocument reads the SPDX document back with tools-golang and
// checks what it says of every package.
func TestSPDXDocument(t *testing.T) {
	data, err := Marshal(debImage(t), SPDX)
	if err != nil {
		t.Fatal(err)
	}
	var doc spdx.Document
	if err := spdxjson.ReadInto(bytes.NewReader(data), &doc); err != nil {
		t.Fatalf("tools-golang cannot read it back: %v", err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.CreationInfo.Created != "2023-11-14T22:13:20Z" ||
		len(doc.CreationInfo.Creators) != 1 || doc.CreationInfo.Creators[0].Creator != "distroless-v1.2.3" {
		t.Errorf("header: %s %+v", doc.SPDXVersion, doc.CreationInfo)
	}
	byName := map[string]*spdx.Package{}
	for _, p := range doc.Packages {
		byName[p.PackageName] = p
	}
	z := byName["zlib1g"]
	if z == nil {
		t.Fatal("no zlib1g")
	}
	purl := "pkg:deb/debian/zlib1g@1:1.3.dfsg%2Breally1.3.1-1%2Bdeb13u1?arch=amd64&distro=debian-13"
	if len(z.PackageExternalReferences) != 1 || z.PackageExternalReferences[0].Locator != purl {
		t.Errorf("zlib1g purl %+v, want %s", z.PackageExternalReferences, purl)
	}
	if z.PackageSupplier == nil || z.PackageSupplier.Supplier != "Mark Brown (broonie@debian.org)" || z.PackageSupplier.SupplierType != "Person" ||
		z.PackageDownloadLocation != "https://deb.example/pool/main/z/zlib/zlib1g.deb" ||
		len(z.PackageChecksums) != 1 || z.PackageChecksums[0].Value != strings.Repeat("1", 64) ||
		z.PackageLicenseDeclared != "Zlib" || z.PackageVersion != "1:1.3.dfsg+really1.3.1-1+deb13u1" || z.PackageHomePage != "http://zlib.net/" {
		t.Errorf("zlib1g: %+v", z)
	}
	if s := byName["libc6"].PackageSupplier; s == nil || s.SupplierType != "Organization" {
		t.Errorf("libc6's supplier %+v: a maintainers list is an organisation", s)
	}
	// libgcc-s1's doc directory links to gcc-14-base's: its license.
	if l := byName["libgcc-s1"].PackageLicenseDeclared; l != "LicenseRef-gcc-14-base-copyright" {
		t.Errorf("libgcc-s1's license %q", l)
	}
	if l := byName["python3.13-minimal"].PackageLicenseDeclared; l != "NOASSERTION" {
		t.Errorf("a package without a copyright file: license %q", l)
	}
	osPkg := byName["debian"]
	if osPkg == nil || osPkg.PrimaryPackagePurpose != "OPERATING-SYSTEM" || osPkg.PackageVersion != "13" || len(osPkg.Annotations) != 2 ||
		!strings.Contains(osPkg.Annotations[0].AnnotationComment, "InRelease sha256:"+strings.Repeat("a", 64)) {
		t.Errorf("distro package %+v", osPkg)
	}
	img := byName["python3.13"]
	if img == nil || img.PrimaryPackagePurpose != "CONTAINER" || img.PackageVersion != testDigest {
		t.Errorf("image package %+v", img)
	}
	// Every LicenseRef has its text.
	refs := map[string]bool{}
	for _, o := range doc.OtherLicenses {
		refs[o.LicenseIdentifier] = o.ExtractedText != ""
	}
	for _, p := range doc.Packages {
		for _, id := range refRE.FindAllString(p.PackageLicenseDeclared, -1) {
			if !refs[id] {
				t.Errorf("%s: %s has no extracted text", p.PackageName, id)
			}
		}
	}
	// Relationships: the dependency edges between installed packages,
	// through Provides and alternatives, none to itself or to a package
	// not installed.
	name := map[string]string{}
	for _, p := range doc.Packages {
		name["SPDXRef-"+string(p.PackageSPDXIdentifier)] = p.PackageName
	}
	var deps, contains []string
	describes := 0
	for _, r := range doc.Relationships {
		a, b := name["SPDXRef-"+string(r.RefA.ElementRefID)], name["SPDXRef-"+string(r.RefB.ElementRefID)]
		switch r.Relationship {
		case "DEPENDS_ON":
			deps = append(deps, a+">"+b)
		case "CONTAINS":
			contains = append(contains, b)
		case "DESCRIBES":
			describes++
		}
	}
	slices.Sort(deps)
	want := []string{"libc6>libgcc-s1", "libgcc-s1>gcc-14-base", "libgcc-s1>libc6", "libssl3t64>libc6",
		"python3.13-minimal>libssl3t64", "python3.13-minimal>zlib1g", "zlib1g>libc6"}
	if !slices.Equal(deps, want) {
		t.Errorf("DEPENDS_ON\n got %v\nwant %v", deps, want)
	}
	if len(contains) != 7 || describes != 1 {
		t.Errorf("CONTAINS %v, DESCRIBES %d", contains, describes)
	}
}

// TestCycloneDXDocument decodes the CycloneDX BOM with cyclonedx-go.
func TestCycloneDXDocument(t *testing.T) {
	data, err := Marshal(debImage(t), CycloneDX)
	if err != nil {
		t.Fatal(err)
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatal(err)
	}
	if bom.SpecVersion != cdx.SpecVersion1_6 || bom.Metadata.Timestamp != "2023-11-14T22:13:20Z" ||
		!strings.HasPrefix(bom.SerialNumber, "urn:uuid:") || bom.Metadata.Component.Version != testDigest {
		t.Errorf("header: %s %s %s", bom.SpecVersion, bom.Metadata.Timestamp, bom.SerialNumber)
	}
	if tools := *bom.Metadata.Tools.Components; len(tools) != 1 || tools[0].Name != "distroless" || tools[0].Version != "v1.2.3" {
		t.Errorf("tools %+v", tools)
	}
	comps := map[string]cdx.Component{}
	for _, c := range *bom.Components {
		comps[c.Name] = c
	}
	if c := comps["debian"]; c.Type != cdx.ComponentTypeOS || c.ExternalReferences == nil || len(*c.ExternalReferences) != 2 ||
		(*(*c.ExternalReferences)[0].Hashes)[0].Value != strings.Repeat("a", 64) {
		t.Errorf("distro component %+v", c)
	}
	z := comps["zlib1g"]
	if z.PackageURL != "pkg:deb/debian/zlib1g@1:1.3.dfsg%2Breally1.3.1-1%2Bdeb13u1?arch=amd64&distro=debian-13" ||
		z.Supplier == nil || z.Supplier.Name != "Mark Brown" || (*z.Hashes)[0].Value != strings.Repeat("1", 64) ||
		z.Licenses == nil || (*z.Licenses)[0].License == nil || (*z.Licenses)[0].License.ID != "Zlib" {
		t.Errorf("zlib1g %+v", z)
	}
	if l := comps["libssl3t64"].Licenses; l == nil || (*l)[0].Expression != "Apache-2.0 AND (Artistic-1.0 OR GPL-1.0-or-later)" {
		t.Errorf("libssl3t64 licenses %+v", l)
	}
	if l := comps["gcc-14-base"].Licenses; l == nil || (*l)[0].License == nil || (*l)[0].License.Text == nil ||
		!strings.Contains((*l)[0].License.Text.Content, "GNU compiler") {
		t.Errorf("gcc-14-base: a copyright file that is not machine readable is a named license with its text: %+v", l)
	}
	deps := map[string][]string{}
	for _, d := range *bom.Dependencies {
		if d.Dependencies != nil {
			deps[d.Ref] = *d.Dependencies
		} else {
			deps[d.Ref] = nil
		}
	}
	if len(deps) != 6 {
		t.Errorf("%d dependency entries, want one per package", len(deps))
	}
	if got := deps[comps["python3.13-minimal"].BOMRef]; len(got) != 2 || got[0] != comps["libssl3t64"].BOMRef || got[1] != comps["zlib1g"].BOMRef {
		t.Errorf("python3.13-minimal depends on %v", got)
	}
}

// TestRPMPurl: an rpm's purl has its epoch as a qualifier, its version
// without it, and the distro's os-release ID as namespace.
func TestRPMPurl(t *testing.T) {
	img := &Image{Name: "base", Digest: testDigest, Arch: "x86_64", Created: time.Unix(0, 0),
		Distro: Distro{Name: "rocky-9", Format: "rpm", Purl: rpmPurl, OSRelease: map[string]string{"ID": "rocky", "VERSION_ID": "9.5"}},
		Packages: []Package{
			{Name: "openssl-libs", Version: "1:3.2.2-6.el9_5", Arch: "x86_64", SHA256: strings.Repeat("1", 64), URL: "https://rpm.example/openssl-libs.rpm",
				Description: packages.Description{Supplier: "Rocky Enterprise Software Foundation", License: packages.License{Expression: "Apache-2.0"}}},
			{Name: "glibc", Version: "2.34-125.el9_5", Arch: "x86_64", SHA256: strings.Repeat("2", 64), URL: "https://rpm.example/glibc.rpm",
				Description: packages.Description{License: packages.License{Expression: "LicenseRef-LGPLv2-plus-and-LGPLv2-plus-with-exceptions-and-GPLv2-plus",
					Extracted: []packages.ExtractedLicense{{ID: "LicenseRef-LGPLv2-plus-and-LGPLv2-plus-with-exceptions-and-GPLv2-plus", Name: "LGPLv2+ and LGPLv2+ with exceptions and GPLv2+", Text: "The License header of glibc: LGPLv2+ and LGPLv2+ with exceptions and GPLv2+"}}}, Provides: []string{"libc.so.6()(64bit)"}}},
		}}
	img.Packages[0].Description.Depends = []packages.Dep{atom("libc.so.6()(64bit)"),
		{Kind: packages.DepIf, Args: []packages.Dep{atom("glibc"), atom("openssl-libs")}}}
	data, err := Marshal(img, SPDX)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"pkg:rpm/rocky/openssl-libs@3.2.2-6.el9_5?arch=x86_64&distro=rocky-9.5&epoch=1"`,
		`"pkg:rpm/rocky/glibc@2.34-125.el9_5?arch=x86_64&distro=rocky-9.5"`,
		`"licenseDeclared": "Apache-2.0"`,
		`"licenseDeclared": "LicenseRef-LGPLv2-plus-and-LGPLv2-plus-with-exceptions-and-GPLv2-plus"`,
		`"Organization: Rocky Enterprise Software Foundation"`,
	} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("no %s in\n%s", want, data)
		}
	}
	var doc spdx.Document
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range doc.Relationships {
		if r.Relationship == "DEPENDS_ON" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d DEPENDS_ON, want 1 (openssl-libs → glibc through libc.so.6, once)", n)
	}
}

// TestMarshalRefuses: a bad digest or format is an error, not a document.
func TestMarshalRefuses(t *testing.T) {
	img := debImage(t)
	img.Digest = "sha256:abc"
	if _, err := Marshal(img, SPDX); err == nil {
		t.Error("a short digest was accepted")
	}
	if _, err := Marshal(debImage(t), "xml"); err == nil {
		t.Error("format xml was accepted")
	}
	if _, err := ParseFormat("spdx-tag-value"); err == nil || !strings.Contains(err.Error(), "cyclonedx") {
		t.Errorf("ParseFormat: %v", err)
	}
	for s, want := range map[string][3]string{
		"":          {"spdx", "application/spdx+json", "https://spdx.dev/Document"},
		"SPDX":      {"spdx", "application/spdx+json", "https://spdx.dev/Document"},
		"cyclonedx": {"cyclonedx", "application/vnd.cyclonedx+json", "https://cyclonedx.org/bom"},
	} {
		f, err := ParseFormat(s)
		if err != nil || string(f) != want[0] || f.MediaType() != want[1] || f.PredicateType() != want[2] {
			t.Errorf("ParseFormat(%q) = %q (%s, %s), %v", s, f, f.MediaType(), f.PredicateType(), err)
		}
	}
	img = debImage(t)
	img.Distro.Format, img.Distro.Purl = "apk", packages.PurlSpelling{}
	if _, err := Marshal(img, SPDX); err == nil {
		t.Error("a format without a purl type was accepted")
	}
}

// TestReferrer: an OCI 1.1 artifact manifest whose artifactType and layer
// are the format's media type, whose config is the empty descriptor and
// whose subject is the image.
func TestReferrer(t *testing.T) {
	subject := v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 1408, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.TrimPrefix(testDigest, "sha256:")},
		Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}
	doc := []byte(`{"spdxVersion":"SPDX-2.3"}`)
	r, err := Referrer(subject, SPDX.MediaType(), doc, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.ArtifactType != "application/spdx+json" || m.Subject == nil || m.Subject.Digest != subject.Digest || m.Subject.Platform != nil ||
		m.Config.MediaType != types.OCIEmptyJSON || m.Config.Size != 2 || len(m.Layers) != 1 || m.Layers[0].MediaType != "application/spdx+json" ||
		m.Annotations["org.opencontainers.image.created"] != "2023-11-14T22:13:20Z" {
		t.Errorf("manifest %+v", m)
	}
	l, err := r.LayerByDigest(m.Layers[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got bytes.Buffer
	if _, err := got.ReadFrom(rc); err != nil || !bytes.Equal(got.Bytes(), doc) {
		t.Errorf("layer %q, %v", got.Bytes(), err)
	}
	cfg, err := r.RawConfigFile()
	if err != nil || string(cfg) != "{}" {
		t.Errorf("config %q %v", cfg, err)
	}
	r2, _ := Referrer(subject, SPDX.MediaType(), doc, time.Unix(1700000000, 0))
	d1, _ := r.Digest()
	d2, _ := r2.Digest()
	if d1 != d2 {
		t.Error("the same document gives another referrer")
	}
}

// BenchmarkMarshal: the documents of a small image (six packages).
func BenchmarkMarshal(b *testing.B) {
	img := debImage(b)
	for _, f := range []Format{SPDX, CycloneDX} {
		b.Run(string(f), func(b *testing.B) {
			for b.Loop() {
				if _, err := Marshal(img, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Files from the build host are one component per layer in both
// formats, with the checksum of their sha256sum-style list.
func TestAddedFiles(t *testing.T) {
	img := debImage(t)
	img.Added = []Added{{Layer: "app", Files: []AddedFile{
		{Path: "/srv/b", SHA256: strings.Repeat("b", 64), Size: 2},
		{Path: "/srv/a", SHA256: strings.Repeat("a", 64), Size: 1},
	}}}
	list := strings.Repeat("a", 64) + "  /srv/a\n" + strings.Repeat("b", 64) + "  /srv/b\n"
	sum := sha256.Sum256([]byte(list))
	want := hex.EncodeToString(sum[:])
	data, err := Marshal(img, SPDX)
	if err != nil {
		t.Fatal(err)
	}
	var doc spdx.Document
	if err := spdxjson.ReadInto(bytes.NewReader(data), &doc); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, p := range doc.Packages {
		if p.PackageName == "host-files-app" {
			found = true
			if len(p.PackageChecksums) != 1 || p.PackageChecksums[0].Value != want || !strings.Contains(p.PackageComment, list) {
				t.Errorf("host-files-app: %+v %q", p.PackageChecksums, p.PackageComment)
			}
		}
	}
	contained := false
	for _, r := range doc.Relationships {
		contained = contained || r.RefB.ElementRefID == "HostFiles-app" && r.Relationship == "CONTAINS"
	}
	if !found || !contained {
		t.Errorf("SPDX: component %v, contained %v", found, contained)
	}
	data, err = Marshal(img, CycloneDX)
	if err != nil {
		t.Fatal(err)
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatal(err)
	}
	found = false
	for _, c := range *bom.Components {
		if c.Name == "host-files-app" {
			found = c.Type == cdx.ComponentTypeFile && (*c.Hashes)[0].Value == want && len(*c.Properties) == 3
		}
	}
	if !found {
		t.Errorf("CycloneDX: no host-files-app component with the list's checksum:\n%s", data)
	}
}
