// Package unpackcache is a cache of decoded package payloads, kept as
// zstd-compressed tar and keyed by the package file's SHA-256 (see Key).
// packages/deb and packages/rpm use it to keep each package's file tree in
// a form much faster to read than the package itself.
//
// An entry is written to a temporary file in the same directory and
// renamed into place only once complete (Create, Write, Commit), so
// several processes may share the directory and an entry that exists is
// whole. A damaged entry is removed when Walk finds it unreadable. Nothing
// evicts entries. The callers choose the entry names.
package unpackcache
