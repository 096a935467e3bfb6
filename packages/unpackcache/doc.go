// Package unpackcache is a cache of decoded package payloads, kept as
// zstd-compressed tar and keyed by the package file's SHA-256 (see Key).
// packages/deb and packages/rpm use it to keep each package's file tree in
// a form much faster to read than the package itself.
//
// An entry is written to a temporary file in the same directory and
// renamed into place only once complete (Create, Write, Commit), so
// several processes may share the directory and an entry that exists is
// whole. Every entry is sealed with the key of the package it was made
// from and the SHA-256 of its bytes, and the seal is checked before
// anything of the entry is used: a damaged, cut or replaced entry is
// removed, reported to the caller's warn function, and the package is
// decoded again. (A seal detects damage and misplaced entries; like any
// unkeyed digest it does not stop someone who can write the cache and
// computes a new one, so the cache directory must be writable only by
// those trusted to build the images.) fetch.Prune evicts entries. The
// callers choose the entry names.
package unpackcache
