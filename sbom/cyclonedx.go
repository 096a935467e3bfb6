package sbom

import (
	"fmt"
	"io"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/distroless-dev/distroless/packages"
)

// writeCycloneDX writes the CycloneDX 1.6 JSON BOM.
func writeCycloneDX(w io.Writer, img *Image, ps []*pkg) error {
	bom := cdx.NewBOM()
	bom.SerialNumber = "urn:uuid:" + uuidOf("distroless-sbom:"+img.Name+"@"+img.Digest)
	bom.Version = 1
	imageRef := imagePurl(img)
	osr := img.Distro.OSRelease
	bom.Metadata = &cdx.Metadata{
		Timestamp: img.Created.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "distroless", Version: img.ToolVersion}}},
		Component: &cdx.Component{
			BOMRef:     imageRef,
			Type:       cdx.ComponentTypeContainer,
			Name:       img.Name,
			Version:    img.Digest,
			PackageURL: imageRef,
			Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: strings.TrimPrefix(img.Digest, "sha256:")}},
			Properties: &[]cdx.Property{{Name: "distroless:arch", Value: img.Arch}, {Name: "distroless:distro", Value: img.Distro.Name}},
		},
	}
	// The distro, with the index files the packages came from.
	osRef := "os:" + distroID(img) + "@" + osr["VERSION_ID"]
	osc := cdx.Component{
		BOMRef:      osRef,
		Type:        cdx.ComponentTypeOS,
		Name:        distroID(img),
		Version:     osr["VERSION_ID"],
		Description: osr["PRETTY_NAME"],
	}
	var idx []cdx.ExternalReference
	for _, ix := range img.Indexes {
		idx = append(idx, cdx.ExternalReference{
			Type: cdx.ERTypeDistribution, URL: ix.URL, Comment: "signed index",
			Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: ix.SHA256}},
		})
	}
	if len(idx) > 0 {
		osc.ExternalReferences = &idx
	}
	comps := []cdx.Component{osc}
	deps := []cdx.Dependency{}
	for _, p := range ps {
		c := cdx.Component{
			BOMRef:     p.purl,
			Type:       cdx.ComponentTypeLibrary,
			Name:       p.Name,
			Version:    p.Version,
			PackageURL: p.purl,
			Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: p.SHA256}},
			Properties: &[]cdx.Property{
				{Name: "distroless:arch", Value: p.Arch},
				{Name: "distroless:layer", Value: p.Layer},
			},
		}
		if name, email, _ := supplier(p.Description.Supplier); name != "" {
			c.Supplier = &cdx.OrganizationalEntity{Name: name}
			if email != "" {
				c.Supplier.Contact = &[]cdx.OrganizationalContact{{Name: name, Email: email}}
			}
		}
		refs := []cdx.ExternalReference{}
		if p.URL != "" {
			refs = append(refs, cdx.ExternalReference{Type: cdx.ERTypeDistribution, URL: p.URL,
				Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: p.SHA256}}})
		}
		if h := p.Description.Homepage; strings.Contains(h, "://") {
			refs = append(refs, cdx.ExternalReference{Type: cdx.ERTypeWebsite, URL: h})
		}
		if len(refs) > 0 {
			c.ExternalReferences = &refs
		}
		if l := cdxLicense(p.license); l != nil {
			c.Licenses = l
		}
		comps = append(comps, c)
		on := []string{}
		for _, q := range p.deps {
			on = append(on, q.purl)
		}
		deps = append(deps, cdx.Dependency{Ref: p.purl, Dependencies: &on})
	}
	for _, a := range img.Added {
		_, sum := a.manifest()
		props := []cdx.Property{{Name: "distroless:layer", Value: a.Layer}}
		for _, f := range a.Files {
			props = append(props, cdx.Property{Name: "distroless:file", Value: "sha256:" + f.SHA256 + " " + f.Path})
		}
		comps = append(comps, cdx.Component{
			BOMRef:      "host-files:" + a.Layer + "@sha256:" + sum,
			Type:        cdx.ComponentTypeFile,
			Name:        a.name(),
			Version:     "sha256:" + sum,
			Description: fmt.Sprintf("%d files copied from the build host", len(a.Files)),
			Hashes:      &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: sum}},
			Properties:  &props,
		})
	}
	for _, a := range img.Apps {
		props := []cdx.Property{{Name: "distroless:layer", Value: a.Layer}}
		c := cdx.Component{
			BOMRef:     a.PURL,
			Type:       cdx.ComponentTypeLibrary,
			Name:       a.Name,
			Version:    a.Version,
			PackageURL: a.PURL,
			Properties: &props,
		}
		if alg, v, ok := a.checksum(); ok {
			algs := map[string]cdx.HashAlgorithm{"SHA1": cdx.HashAlgoSHA1, "SHA256": cdx.HashAlgoSHA256, "SHA384": cdx.HashAlgoSHA384, "SHA512": cdx.HashAlgoSHA512}
			c.Hashes = &[]cdx.Hash{{Algorithm: algs[alg], Value: v}}
		}
		if a.License != "" && packages.ValidLicenseExpression(a.License) {
			c.Licenses = &cdx.Licenses{{Expression: a.License}}
		}
		if strings.Contains(a.Source, "://") {
			c.ExternalReferences = &[]cdx.ExternalReference{{Type: cdx.ERTypeDistribution, URL: a.Source}}
		}
		comps = append(comps, c)
	}
	bom.Components = &comps
	bom.Dependencies = &deps
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	enc.SetEscapeHTML(false)
	return enc.EncodeVersion(bom, cdx.SpecVersion1_6)
}

// cdxLicense is a license as CycloneDX has it: one SPDX identifier, one
// named license with its text (a copyright file that is not machine
// readable), or an expression.
func cdxLicense(l packages.License) *cdx.Licenses {
	switch {
	case l.Expression == "":
		return nil
	case len(l.Extracted) == 1 && l.Expression == l.Extracted[0].ID:
		x := l.Extracted[0]
		return &cdx.Licenses{{License: &cdx.License{Name: x.Name, Text: &cdx.AttachedText{Content: x.Text, ContentType: "text/plain"}}}}
	case !strings.ContainsAny(l.Expression, " ()+") && !strings.HasPrefix(l.Expression, "LicenseRef-"):
		return &cdx.Licenses{{License: &cdx.License{ID: l.Expression}}}
	}
	return &cdx.Licenses{{Expression: l.Expression}}
}
