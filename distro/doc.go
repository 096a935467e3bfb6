// Package distro holds the distro definitions (built-in ones are embedded
// YAML, one file per distro; a distro file in the same schema points at
// the user's own mirrors or repositories) and opens a distro's package
// index through its format's package: packages/deb for Debian-format
// archives, packages/rpm for RPM repositories. A new distro is one
// definition file.
//
// Signing keys come from a keyring file (the distro's keyring, or
// --keyring), the Debian archive keyring embedded in the binary, or, for
// the built-in RPM distros, the distro's published key URL over https
// (cached); whatever the source, a distro that pins fingerprints uses
// only keys with one of them.
package distro
