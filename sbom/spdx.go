package sbom

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/distroless-dev/distroless/packages"
	"github.com/github/go-spdx/v2/spdxexp/spdxlicenses"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
)

const (
	spdxImageID = "SPDXRef-Image"
	spdxOSID    = "SPDXRef-OperatingSystem"
	noAssertion = "NOASSERTION"
)

// writeSPDX writes the SPDX 2.3 JSON document.
func writeSPDX(w io.Writer, img *Image, ps []*pkg) error {
	created := img.Created.UTC().Format(time.RFC3339)
	tool := "distroless-" + img.ToolVersion
	hexDigest := strings.TrimPrefix(img.Digest, "sha256:")
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      img.Name + "@" + img.Digest,
		DocumentNamespace: "https://spdx.org/spdxdocs/distroless-" + packages.SPDXIDString(img.Name) + "-" + hexDigest,
		CreationInfo: &spdx.CreationInfo{
			LicenseListVersion: spdxlicenses.LicenseListVersion(),
			Creators:           []common.Creator{{CreatorType: "Tool", Creator: tool}},
			Created:            created,
		},
	}
	describes := func(a, b, rel string) *spdx.Relationship {
		return &spdx.Relationship{
			RefA:         common.MakeDocElementID("", a),
			RefB:         common.MakeDocElementID("", b),
			Relationship: rel,
		}
	}
	// The image, by its manifest digest.
	doc.Packages = append(doc.Packages, &spdx.Package{
		PackageName:             img.Name,
		PackageSPDXIdentifier:   spdxImageID,
		PackageVersion:          img.Digest,
		PackageDownloadLocation: noAssertion,
		PackageChecksums:        []common.Checksum{{Algorithm: common.SHA256, Value: hexDigest}},
		PackageLicenseConcluded: noAssertion,
		PackageLicenseDeclared:  noAssertion,
		PackageCopyrightText:    noAssertion,
		PackageSupplier:         &common.Supplier{Supplier: noAssertion},
		PackageExternalReferences: []*spdx.PackageExternalReference{{
			Category: "PACKAGE-MANAGER", RefType: "purl", Locator: imagePurl(img)}},
		PrimaryPackagePurpose: "CONTAINER",
		BuiltDate:             created,
		PackageComment:        "made by " + tool + " for " + img.Arch + " from " + img.Distro.Name,
	})
	doc.Relationships = append(doc.Relationships, describes("DOCUMENT", spdxImageID, "DESCRIBES"))

	// The distro, with the index files the packages came from.
	osr := img.Distro.OSRelease
	osPkg := &spdx.Package{
		PackageName:             distroID(img),
		PackageSPDXIdentifier:   spdxOSID,
		PackageVersion:          osr["VERSION_ID"],
		PackageDownloadLocation: noAssertion,
		PackageLicenseConcluded: noAssertion,
		PackageLicenseDeclared:  noAssertion,
		PackageCopyrightText:    noAssertion,
		PackageDescription:      osr["PRETTY_NAME"],
		PackageComment:          "distroless distro " + img.Distro.Name,
		PrimaryPackagePurpose:   "OPERATING-SYSTEM",
	}
	for _, ix := range img.Indexes {
		osPkg.Annotations = append(osPkg.Annotations, spdx.Annotation{
			Annotator:                common.Annotator{AnnotatorType: "Tool", Annotator: tool},
			AnnotationDate:           created,
			AnnotationType:           "OTHER",
			AnnotationSPDXIdentifier: common.MakeDocElementID("", spdxOSID),
			AnnotationComment:        "index " + ix.URL + " sha256:" + ix.SHA256,
		})
	}
	doc.Packages = append(doc.Packages, osPkg)
	doc.Relationships = append(doc.Relationships, describes(spdxImageID, spdxOSID, "CONTAINS"))

	seenRef := map[string]bool{}
	for _, p := range ps {
		sp := &spdx.Package{
			PackageName:             p.Name,
			PackageSPDXIdentifier:   common.ElementID(p.id),
			PackageVersion:          p.Version,
			PackageFileName:         p.URL[strings.LastIndexByte(p.URL, '/')+1:],
			PackageDownloadLocation: p.URL,
			PackageChecksums:        []common.Checksum{{Algorithm: common.SHA256, Value: p.SHA256}},
			PackageHomePage:         p.Description.Homepage,
			PackageLicenseConcluded: noAssertion,
			PackageLicenseDeclared:  noAssertion,
			PackageCopyrightText:    noAssertion,
			PackageExternalReferences: []*spdx.PackageExternalReference{{
				Category: "PACKAGE-MANAGER", RefType: "purl", Locator: p.purl}},
			PrimaryPackagePurpose: "LIBRARY",
			PackageComment:        "architecture " + p.Arch + ", layer " + p.Layer,
		}
		if p.URL == "" {
			sp.PackageDownloadLocation = noAssertion
		}
		if sp.PackageHomePage != "" && !strings.Contains(sp.PackageHomePage, "://") {
			sp.PackageHomePage = ""
		}
		if name, email, org := supplier(p.Description.Supplier); name != "" {
			s := name
			if email != "" {
				s += " (" + email + ")"
			}
			typ := "Person"
			if org {
				typ = "Organization"
			}
			sp.PackageSupplier = &common.Supplier{SupplierType: typ, Supplier: s}
		} else {
			sp.PackageSupplier = &common.Supplier{Supplier: noAssertion}
		}
		if p.license.Expression != "" {
			sp.PackageLicenseDeclared = p.license.Expression
			for _, x := range p.license.Extracted {
				if !seenRef[x.ID] {
					seenRef[x.ID] = true
					doc.OtherLicenses = append(doc.OtherLicenses, &spdx.OtherLicense{
						LicenseIdentifier: x.ID, LicenseName: x.Name, ExtractedText: x.Text})
				}
			}
		}
		doc.Packages = append(doc.Packages, sp)
		doc.Relationships = append(doc.Relationships, describes(spdxImageID, p.id, "CONTAINS"))
	}
	for _, p := range ps {
		for _, q := range p.deps {
			doc.Relationships = append(doc.Relationships, describes(p.id, q.id, "DEPENDS_ON"))
		}
	}
	for _, a := range img.Added {
		list, sum := a.manifest()
		id := "SPDXRef-HostFiles-" + packages.SPDXIDString(a.Layer)
		doc.Packages = append(doc.Packages, &spdx.Package{
			PackageName:             a.name(),
			PackageSPDXIdentifier:   common.ElementID(id),
			PackageVersion:          "sha256:" + sum,
			PackageDownloadLocation: noAssertion,
			PackageChecksums:        []common.Checksum{{Algorithm: common.SHA256, Value: sum}},
			PackageLicenseConcluded: noAssertion,
			PackageLicenseDeclared:  noAssertion,
			PackageCopyrightText:    noAssertion,
			PackageSupplier:         &common.Supplier{Supplier: noAssertion},
			PrimaryPackagePurpose:   "FILE",
			PackageComment: fmt.Sprintf("%d files copied from the build host into layer %s; the checksum is that of this list (sha256sum's format):\n%s",
				len(a.Files), a.Layer, list),
		})
		doc.Relationships = append(doc.Relationships, describes(spdxImageID, id, "CONTAINS"))
	}
	for _, a := range img.Apps {
		id := "SPDXRef-App-" + packages.SPDXIDString(a.Type+"-"+a.Name+"-"+a.Version)
		sp := &spdx.Package{
			PackageName:             a.Name,
			PackageSPDXIdentifier:   common.ElementID(id),
			PackageVersion:          a.Version,
			PackageDownloadLocation: noAssertion,
			PackageLicenseConcluded: noAssertion,
			PackageLicenseDeclared:  noAssertion,
			PackageCopyrightText:    noAssertion,
			PackageSupplier:         &common.Supplier{Supplier: noAssertion},
			PackageExternalReferences: []*spdx.PackageExternalReference{{
				Category: "PACKAGE-MANAGER", RefType: "purl", Locator: a.PURL}},
			PrimaryPackagePurpose: "LIBRARY",
			PackageComment:        a.Type + " package, layer " + a.Layer,
		}
		if strings.Contains(a.Source, "://") {
			sp.PackageDownloadLocation = a.Source
		}
		if alg, v, ok := a.checksum(); ok {
			sp.PackageChecksums = []common.Checksum{{Algorithm: common.ChecksumAlgorithm(alg), Value: v}}
		}
		if a.License != "" && packages.ValidLicenseExpression(a.License) {
			sp.PackageLicenseDeclared = a.License
		}
		doc.Packages = append(doc.Packages, sp)
		doc.Relationships = append(doc.Relationships, describes(spdxImageID, id, "CONTAINS"))
	}
	return spdxjson.Write(doc, w, spdxjson.Indent("  "), spdxjson.EscapeHTML(false))
}
