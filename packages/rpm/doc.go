// Package rpm reads RPM-format repositories (RHEL and its rebuilds,
// Fedora, and any repository createrepo_c made): it verifies a
// repository's repomd.xml, loads its primary metadata through the
// download cache (packages/fetch) and presents the merged repositories
// as a packages.Index for the format-neutral resolver; Payload reads the
// file tree of a downloaded .rpm and writes the rpm database images
// carry.
//
// # Trust
//
// By default each repository must publish repodata/repomd.xml.asc, an
// armored detached signature of repomd.xml by a key of Spec.Keyring.
// The primary, filelists and modules files are checked against the
// SHA-256 (as downloaded) and open-checksum (decompressed) repomd.xml
// gives, and each package against the SHA-256 primary gives, before
// anything of them is used or cached. A failure is an error naming the
// file.
//
// The big RPM distros sign their packages but not their metadata (dnf's
// repo_gpgcheck is off for RHEL, its rebuilds and Fedora). For them
// Spec.UnsignedMetadata takes repomd.xml as an https server sends it
// (plain http is refused), and Payload.Keyring makes every package's
// header signature (RSA or DSA; version 3 signatures, which Red Hat still
// makes, are checked here, version 4 by go-crypto) verify against the
// keyring before the package is used; the signed header's payload digest
// then binds the payload to it.
//
// # Caching
//
// Online, Open reuses a cached repomd.xml (and signature) that is less
// than Spec.RefreshAfter old (one hour by default); offline it always
// uses the cached copy. Decompressed metadata is cached content-addressed
// by its open-checksum, and each primary file gets a sidecar (sidecar.go):
// the byte range, name and architecture of every package and sorted
// tables of names, provided names and listed files. A warm Open therefore
// maps the file and reads the sidecar, and a package's XML is parsed only
// when the resolver asks about it. filelists is fetched only when a file
// dependency is not met by primary's file lists or Provides.
//
// # Semantics
//
// Packages of the target architecture and noarch are loaded (not
// multilib i686, not source packages). Every version of a name across
// the repositories is a candidate, newest first in rpm's EVR order
// (epoch, then version and release with rpmvercmp: '~' sorts before
// anything, '^' after the end of a version but before anything else).
// Satisfiers follows rpm's rpmdsCompare: an unversioned Provides meets
// every relation, a relation or Provides without a release matches every
// release, a missing epoch is 0. Among providers of a capability, the
// one with the smallest installed size comes first, so that minimal
// variants (glibc-minimal-langpack) are preferred. Requires are
// converted as primary lists them, except those marked pre="1" (only for
// install scriptlets: pre, post, pretrans, posttrans), which are not
// followed, and rpmlib(…) features; rich dependencies ("(a if b)") become
// the model's Dep trees (ParseRich). Packages that belong to module
// streams (the repository's modules metadata) are left out: no stream is
// enabled in an image, and RHEL 9 has no default streams. Conflicts and
// Obsoletes become the model's relations (the resolver keeps what they
// match out of a closure); a rich one made of "or" alone is each of its
// atoms, any other rich one (and, if, with …) is not enforced.
//
// # Payload and database
//
// Payload converts the cpio (newc) payload, compressed with zstd, xz,
// gzip or bzip2, into tar headers for the assembler, with modes and
// owners from the header; %ghost files are not in a payload. The payload
// and the metadata files are read through packages/decompress, which
// checks each format's integrity data and that the stream runs to the end
// of the file (a legacy lzma payload is refused: that format has no
// integrity check, and no supported distro uses it). Payload
// implements packages.PackageDB: it writes rpmdb.sqlite (rpm's sqlite
// backend, as RHEL 9 and Fedora use, at Payload.DBPath) with each
// package's signed header plus the tags installation adds, and rpm's
// indexes, so that rpm, syft and trivy list the image's packages. The
// sqlite file is laid out by internal/sqlitefile, with the tables, rows
// and rowids rpm's sqlite backend would write; the same packages and
// creation time give the same bytes.
//
// Package headers are parsed by github.com/cavaliergopher/rpm (under
// recover, with the file tags checked for consistency, since it does not
// bounds-check everything); versions are compared by this package's port
// of rpmvercmp, because that library's CompareVersions does not know '^'.
package rpm
