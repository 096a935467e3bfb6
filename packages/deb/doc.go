// Package deb reads Debian-format archives: it verifies a suite's
// InRelease file, loads its Packages indexes through the download cache
// (packages/fetch) and presents the merged suites as a packages.Index.
//
// # Trust
//
// Each suite's InRelease is a clearsigned file; it is accepted when one of
// its signatures verifies with a key of Spec.Keyring and its Valid-Until
// (if any) has not passed. Every Packages file is checked against the
// SHA-256 and size the InRelease lists, both as downloaded (compressed)
// and after decompression. A failure is an error naming the file, and
// nothing from that suite is used. Decompression (packages/decompress)
// checks the stream's own integrity data and that it ends where the file
// does; package members are read the same way (see Payload).
//
// The Debian archive keys are embedded (DebianKeyring):
// keys/debian-archive-keyring.pgp is /usr/share/keyrings/
// debian-archive-keyring.pgp from debian-archive-keyring 2025.1 (the
// newest in trixie and sid when it was taken; the .deb's SHA-256 is
// 9ea7778e443144ca490668737a8ab22dd3e748bb99e805e22ec055abeb3c7fac). It
// holds the archive, security archive and stable release keys for
// bullseye (11), bookworm (12) and trixie (13). To update it, take the
// same file from a newer debian-archive-keyring package.
//
// # Caching
//
// Online, Open reuses a cached InRelease that is less than
// Spec.RefreshAfter old (one hour by default) and still valid, and
// downloads it otherwise; offline it always uses the cached copy (which
// must still be valid). Decompressed Packages files are cached
// content-addressed by the digest the InRelease lists for them, with a
// small sidecar index (stanza offsets, package names, architectures,
// provided names). A warm Open therefore maps the file and reads the
// sidecar; stanzas are parsed only when the resolver asks about a name.
//
// # Semantics
//
// Packages of the target architecture and "all" are loaded (binary-all
// indexes too, for suites that list "all" without
// "No-Support-for-Architecture-all: Packages"). When several suites (or one
// suite) hold a name, the highest version (dpkg ordering) wins, so
// bookworm-security overrides bookworm; as in dpkg, "all" counts as the
// native architecture, so a name has one candidate. A suite's InRelease
// must name that suite (Suite or Codename), so a signed InRelease of
// another suite cannot be replayed in its place.
//
// Stanzas are converted by parseStanza: Depends are Pre-Depends then
// Depends; alternatives restricted to other architectures or to build
// profiles are dropped; Installed-Size becomes bytes; Priority becomes a
// rank (required 1, important 2, standard 3, optional 4, extra 5, anything
// else 0). A stanza that does not convert is left out and reported by Index.Problems. Index.MultiArch
// and Index.Field read further fields of a package's stanza. Satisfiers
// follows dpkg:
// versioned relations are met by the real package or by a versioned
// Provides (an unversioned Provides never meets a versioned relation),
// and architecture qualifiers follow dpkg's deparchsatisfied.
//
// Payload reads a .deb's files and is the Debian package database
// (packages.PackageDB): /var/lib/dpkg/status.d, one record per package
// from the .deb's own control file, and its md5sums. Its Describe reads
// what a .deb says of itself for a bill of materials, the license from
// /usr/share/doc/NAME/copyright: a machine-readable one (DEP-5) mapped to
// an SPDX expression, any other one a LicenseRef with the file as text.
// The copyright file is read by a reader of its own (linear in its size)
// and mapped within bounds no real file reaches (License line length,
// distinct licenses); beyond them a line or the whole file becomes one
// LicenseRef with its text, so a package cannot make the mapping slow.
//
// HostMirrors reads the host's apt sources to find a Debian mirror.
package deb
