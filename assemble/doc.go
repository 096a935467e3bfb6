// Package assemble turns resolved packages into an OCI image: it unpacks
// each package's payload into a root filesystem (its tree in memory, file
// contents in a spool file on disk), does in Go
// what maintainer scripts would have done, checks that every ELF file's
// libraries are present and writes one deterministic layer per profile
// level. It ends at the image, a value; writing it to layouts, archives
// and registries is package publish's job.
//
// # Root filesystem
//
// Packages are unpacked in parallel; entries are then placed layer by
// layer (bottom first) and, within a layer, package by package in name
// order, so the result does not depend on the order packages are given
// in. Placement follows dpkg's rules where they matter:
//
//   - The tree is merged-/usr: /bin, /sbin and /lib (and /lib64 on
//     architectures whose loader lives there) are symlinks into /usr,
//     created in the bottom layer; /lib32, /libx32 and the like are
//     created in the first layer that needs them. A package path under one
//     of them is placed under /usr.
//   - A parent directory that is a symlink in the image is followed, as
//     dpkg does; a directory entry over a symlink to a directory keeps the
//     symlink.
//   - Directories merge (the first package, in layer then name order,
//     gives the metadata). Two packages shipping the same path as
//     different regular files, symlinks with different targets, or
//     different kinds of entry, are an error naming both packages;
//     identical content is fine.
//   - Unsafe entries are never written as they are: names are cleaned
//     ("./x", "/x" and "a/../x" become relative paths) and one that
//     escapes the root is an error; a symlink whose relative target
//     climbs above the root is rewritten to the target it has inside the
//     image (absolute targets are interpreted in the image root and kept);
//     a hard link must name an earlier entry of the same package; device
//     nodes, FIFOs and other special entries are dropped; setuid and
//     setgid bits are cleared everywhere, the sticky bit on everything but
//     directories. Owners are kept numerically as the package has them.
//   - Every tool must be able to unpack the image: a path where an entry
//     lands (generated files too) may have at most 3839 bytes, a name
//     255 and a symlink target 4095 (see pathlimit.go); a longer one is
//     an error naming the package and the path.
//   - Files matching Spec.PruneFiles (DefaultPruneFiles: documentation,
//     manual pages, locales, shell completions…, keeping each
//     /usr/share/doc/<pkg>/copyright) are left out, and so are symlinks
//     left dangling by that. A /usr/share/doc/<pkg> that is a symlink (to
//     the doc directory of the package it shares a source with) is kept
//     when the copyright below it would be, so that every package's
//     copyright stays reachable.
//
// # Memory and size limits
//
// Memory does not grow with the image. A regular file's content is read
// from the payload straight into the build's spool file (spool.go: made
// in Spec.SpoolDir and unlinked at once; small files, up to a budget,
// stay in memory), and everything that reads contents later (conflict
// checks, generators, the library check, the bytecode step, the tar
// writer and the compressor) reads them from there; the compressed
// layers are written there too, and the image's layers read them back.
// Before any of a file is read, its size is checked against
// Spec.MaxFileSize, and the running total of all payloads against
// Spec.MaxImageSize: a package past either is refused with a *LimitError.
// With Spec.Arrived, packages are read as their files arrive (while the
// others still download) instead of all at once.
//
// Build runs in stages with one job each (build.go): validate the spec;
// unpack the packages; place each layer (its packages, the package
// database, its files, its generators, its Python bytecode); place the
// os-release layer; check the finished tree; write the layers (with the
// library check running alongside); judge the library check; make the
// image config and manifest. A layer's tar and compression start in the
// background as soon as the layer is placed (its entries are a snapshot
// that placing later layers does not change), so they overlap with
// placing the layers above it and compiling their bytecode; writing the
// layers waits for them.
//
// Generated files (basefiles.go): /etc/passwd, /etc/group (root 0, nobody 65534, nonroot
// 65532), /etc/nsswitch.conf, /root, /home/nonroot and /tmp go into the
// bottom layer. A payload reader whose format keeps a database of the
// installed packages (packages.PackageDB: Debian's
// /var/lib/dpkg/status.d, RPM's rpmdb) gets it written into each layer
// that adds packages, for every package so far, less the files a lower
// layer already has unchanged, so that image scanners find every
// package. /etc/os-release and
// /usr/lib/os-release (and Spec.ReleaseFiles) go into a small top layer
// of their own. Generators a profile names run per layer (gconv-modules:
// glibc's iconv configuration for the modules kept; ca-certificates:
// /etc/ssl/certs/ca-certificates.crt built as update-ca-certificates
// would, with the links of OpenSSL's default trust paths, see
// sslcerts.go; ca-trust, its RPM counterpart; java-cacerts; ld.so.cache,
// …; generators.go registers them). The formats they read and write
// apart from the image are internal packages: internal/ldcache (glibc's
// ld.so.cache) and internal/trust (OpenSSL's subject hash, p11-kit's
// trust sources, the Java PKCS#12 trust store). assemble knows no package format: what differs between them comes
// from the payload reader or from a generator a profile names.
//
// A trust generator that ran in a lower layer runs again in a layer that
// places its inputs (registerRerun: a CA under the local CA directories,
// then the bundle the Java trust store is made from), as a package trigger
// would. A layer's Accounts are added to /etc/passwd and /etc/group after
// its files, each user with a home it owns (accounts.go). Files from the
// build host (HostFiles: a file or a directory tree, refusing links out of
// it, loops, devices, FIFOs and sockets) are read into the spool when the
// layer is placed, within the size limits, their mtimes clamped as
// packaged files' are (hostfiles.go); the Report lists them with their
// SHA-256, and so the generated files that name the host file their
// content came from (File.From).
//
// A layer with PythonBytecode gets the hash-based .pyc files of the Python
// modules it placed, compiled by the image's own interpreter run in the
// sandbox, internal/sandbox (bytecode.go).
//
// # Determinism
//
// A layer is a tar stream in which entries are sorted by path, parents
// before children, with numeric owners only and a fixed header format,
// compressed with a fixed gzip level and a fixed gzip header. Its bytes depend only on what is placed in it (and
// on the metadata of the lower layers' directories it has files in), so
// images of profiles that extend one another share their lower layers
// byte for byte, and the same inputs always give the same image digest.
// Compression is done in 1 MiB blocks in parallel, each primed with the
// 32 KiB before it, and joined into one gzip member (Spec.Compression Zstd:
// each block one zstd frame). A layer already compressed by an earlier
// build with the same tar stream is taken from Spec.Cache, keyed by its
// diffID (layercache.go); StoreImage and LoadImage keep and read back a
// whole image for callers that know its inputs are unchanged (memo.go).
//
// # Modification times
//
// A packaged file keeps the mtime its package gives it (Debian and RPM
// builds clamp those to the source's date, so they are reproducible);
// with Spec.ClampMTimes (gen sets it when SOURCE_DATE_EPOCH is set) a
// later one is lowered to Spec.Created. What the build generates (the
// files above, directories no package names, the merged-/usr links,
// bytecode) is dated Spec.Created with ClampMTimes, minMTime
// (1980-01-03T00:00:00Z) without. No mtime is earlier than minMTime:
// ZIP cannot store a time before 1980, so zipfile, zipapp, wheel builders
// and jar would refuse files dated 1970.
//
// # Library check
//
// Before an image is returned every ELF executable and shared object of
// the image's architecture is checked: its program interpreter must
// exist, and each DT_NEEDED library must be found the way the dynamic
// loader would (DT_RPATH, LD_LIBRARY_PATH from the image's environment,
// DT_RUNPATH, /etc/ld.so.conf{,.d}, the multiarch and default
// directories), following symlinks inside the image. A missing library
// fails the build unless Spec.AllowMissingLibs turns it into a warning.
package assemble
