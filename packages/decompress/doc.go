// Package decompress opens the compressed streams of packages and their
// indexes: a .deb's data.tar and control.tar members, an .rpm's payload,
// Packages indexes and RPM repository metadata, and the unpack cache's
// entries. packages/deb, packages/rpm and packages/unpackcache all read
// through it, so every format is held to the same rules:
//
//   - The format's own integrity data is checked: gzip's CRC-32 and size
//     trailer of every member; xz's block checks (CRC-32, CRC-64 or
//     SHA-256, as the stream says), index and stream footer; zstd's
//     frame checksums when the frames have them (a frame written without
//     one has nothing to check but its structure and declared size);
//     bzip2's block and stream CRCs. An xz stream whose check type the
//     decoder does not know is refused rather than read unchecked.
//   - A stream is read to the end of its input: Read returns io.EOF only
//     once the last trailer was checked and no byte follows it, other
//     than what the format itself allows (concatenated gzip members, xz
//     streams and stream padding, zstd frames and skippable frames,
//     bzip2 streams). Anything else, including a truncated or empty
//     stream, is an error.
//   - Readers of archives inside a stream (tar, cpio) stop at their
//     end-of-archive marker, before the compressor's trailer: they call
//     Finish, which reads and checks the rest.
//
// An xz stream of several blocks (dpkg-deb writes them with xz's threaded
// encoder, 24 MiB each) read from an input that can be read at any offset
// (a .deb's ar member) is decoded a few blocks at a time, in parallel,
// after its header, index and footer were checked and found to tile the
// input exactly; each block is checked as a serial read checks it
// (xzblocks.go). Anything else is read serially.
//
// Memory is bounded by what a stream may declare, since decoders allocate
// their window or dictionary from the header before reading any data: an
// xz dictionary may have 64 MiB (xz -9), a zstd window 128 MiB (libzstd's
// default limit). Decoders are pooled (each holds such a buffer), so
// Close must be called when a Reader is done with.
// Errors from the decoders are reported as *Error, naming the format;
// an error reading the underlying input is returned as it is.
package decompress
