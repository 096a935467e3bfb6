// Package appdeps is the format-neutral shape of an image's application
// dependencies: the files one ecosystem's installer (appdeps/python for
// wheels, an npm installer for package-lock.json) places in the
// application layer, above the runtime's layers, and the components it
// installed, for the lockfile, the SBOM and the provenance.
//
// An installer resolves and verifies its inputs itself (hashes, tags,
// integrity) and returns a Set; the root package puts every Set's Files
// into one layer, checks their ELF files' libraries (adding the distro
// packages that ship a missing one, see the root package's applibs.go) and
// lists the Components.
package appdeps

import "github.com/distroless-dev/distroless/assemble"

// Component is one installed application package.
type Component struct {
	// Type is the ecosystem: "pypi" or "npm".
	Type string
	// Name and Version as the ecosystem spells them (a wheel's
	// METADATA Name and Version; package.json's name and version).
	Name, Version string
	// License is an SPDX expression when the package's metadata gives
	// one that parses, else the metadata's text, else "".
	License string
	// Hash pins the artifact installed: "sha256:<hex>" of the wheel, or
	// an npm integrity string ("sha512-<base64>").
	Hash string
	// Source is where the artifact came from: its URL, or the file's
	// base name for a local directory.
	Source string
	// PURL is the package URL (pkg:pypi/name@ver, pkg:npm/%40scope/name@ver);
	// the SBOM takes it as it is.
	PURL string
}

// Set is one ecosystem's install: the files that go into the application
// layer (absolute paths, regular files with Data, directories, symlinks;
// owned by root unless set), the components installed, and warnings to
// print (e.g. packages whose install scripts were not run).
type Set struct {
	// Name names the installer in messages and why: "python", "npm".
	Name       string
	Files      []assemble.File
	Components []Component
	Warnings   []string
}
