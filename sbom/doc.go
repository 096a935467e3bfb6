// Package sbom makes the software bill of materials of an image: an SPDX
// 2.3 JSON document (the default) or a CycloneDX 1.6 JSON BOM, built
// with the ecosystems' own libraries (github.com/spdx/tools-golang,
// github.com/CycloneDX/cyclonedx-go).
//
// An Image lists the installed packages, each with what its package file
// says of itself (packages.Description: supplier, homepage, license or
// copyright file, requirements, provides), its download URL and sha256.
// The document has one package (component) per installed package, with
// version, architecture, purl (pkg:deb/debian/NAME@VERSION?arch=…&distro=
// debian-13, pkg:rpm/ID/NAME@V-R?arch=…&distro=ID-VERSION; the purl type,
// default namespace and epoch rule are the format's, Distro.Purl, which
// the format's driver gives), supplier,
// download location, the package file's sha256 and its license as an
// SPDX expression (packages.License, which the format's Describer works
// out: Debian's copyright file, rpm's License header); one package for the
// distro (purpose OPERATING-SYSTEM, so scanners learn it) with the
// digest of every signed index file the packages came from; one for the
// image itself, by its manifest digest; the dependency relationships
// between installed packages (a requirement met by the name or a
// Provides of an installed package); and the tool and its version as
// creator.
//
// Everything in the document is a function of the Image: the creation
// time is the image's (SOURCE_DATE_EPOCH), identifiers and the
// namespace derive from the image digest, and lists are sorted, so the
// same image gives the same bytes.
package sbom
