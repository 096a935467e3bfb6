// Package fetch is distroless's download cache.
//
// Everything the tool downloads whose digest is known in advance (package
// indexes named by a signed Release file, .deb files named by an index) is
// stored content-addressed under <Dir>/blobs/sha256/<hex>. A download is
// streamed into a temporary file in the same directory while its size and
// SHA-256 are checked, and is renamed into place only once both match, so
// a blob that exists is always complete and correct. Several processes may
// share one cache directory: the only synchronisation needed is the atomic
// rename, and two processes fetching the same blob both end up with the
// same file.
//
// Small mutable entries (for example the last verified InRelease of a
// suite) are kept by name with Get and Put; the name is hashed into the
// file name, and writes are atomic too.
//
// With Offline set the cache never touches the network: a blob that is not
// present is an error that names the URL, the digest and the directory.
//
// The cache directory defaults to DefaultDir (the user cache directory,
// which honours XDG_CACHE_HOME, plus "distroless"); the command line
// overrides it with --cache-dir or DISTROLESS_CACHE_DIR.
package fetch
