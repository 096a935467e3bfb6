// Package distro holds the distro definitions (built-in ones are embedded
// YAML, one file per distro; a distro file in the same schema points at
// the user's own mirrors or repositories) and opens a distro's package
// index through its format's driver (deb.go: packages/deb for
// Debian-format archives; rpm.go: packages/rpm for RPM repositories). A
// driver holds all the package knows of its format: the definition's
// format fields, architecture names, the embedded keyring, whether the
// mirror settings are needed (only then are the host's apt sources
// read), opening the index, the payload reader (which is also the
// image's package database) and the loader's library path. A new distro
// is one definition file; a new format is one driver.
//
// Open returns the verified keys with the index; Payload takes them, so
// nothing of one opening is kept in a Distro, and built-in distros are
// safe to share.
//
// Signing keys come from a keyring file (the distro's keyring, or
// --keyring), the Debian archive keyring embedded in the binary, or, for
// the built-in RPM distros, the distro's published key URL over https
// (cached); whatever the source, a distro that pins fingerprints uses
// only keys with one of them.
package distro
