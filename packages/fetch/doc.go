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
// A cached blob is verified again each time it is used (Fetch, Blob,
// WriteBlob): its SHA-256 is computed (once per process for each version
// of the file, see FileSHA256) and compared with its name; one that does
// not match is removed with a warning to Log and fetched or made again.
//
// Small mutable entries (for example the last verified InRelease of a
// suite, or an index's lookup table) are kept by name with Get, MapNamed
// and Put; the name is hashed into the file name, writes are atomic too,
// and each entry carries the SHA-256 of its data, checked on every read (a
// damaged entry is removed, with a warning, and reported missing).
//
// Network waits are bounded by Timeout (connect, TLS handshake, response
// headers, a pause mid-body; errors are TimeoutError, naming the URL and
// the wait), and failures that may be passing are retried with
// exponential backoff (from RetryDelay, doubling) within RetryFor (see
// Cache.retry for which).
//
// Killed processes leave temporary files; the first use of a Cache removes
// those older than StaleTemp, and Prune evicts entries by age and size,
// safely while other processes use the cache. Package faulttest serves
// files with injected network faults for tests.
//
// With Offline set the cache never touches the network: a blob that is not
// present is an error that names the URL, the digest and the directory.
//
// The cache directory defaults to DefaultDir (the user cache directory,
// which honours XDG_CACHE_HOME, plus "distroless"); the command line
// overrides it with --cache-dir or DISTROLESS_CACHE_DIR.
package fetch
