// Package python installs Python wheels into an image's application layer
// for the image's own interpreter, without pip and without running
// anything of the wheels.
//
// Input is a requirements file pinned with hashes (every line
// NAME==VERSION with at least one --hash=sha256:HEX, as pip's
// --require-hashes wants) or a directory of wheels (every *.whl in it,
// one per project). Wheels come from a local directory or a PEP 503/691
// "simple" index; sdists are never built: a project with no wheel for the
// image is an error naming it.
//
// A wheel is chosen by its tags (PEP 425) for the Target's interpreter
// (cpXY, abi3 down to cp32, py3X, none, any), architecture and glibc
// (PEP 600 manylinux_2_N, the legacy manylinux1/2010/2014 aliases, and
// linux_ARCH as pip accepts for a locally built wheel); musllinux wheels
// are refused on a glibc image. Each download is verified against the
// requirement's hashes and kept in the download cache (packages/fetch)
// under its SHA-256.
//
// Installation follows the binary distribution format spec: purelib and
// platlib into Target.Site, the .data directory's scripts (with a
// "#!python" line rewritten to the image's interpreter), data and headers
// under Target.Prefix, console_scripts and gui_scripts entry points as
// scripts running the image's interpreter. Every member must be listed in
// RECORD with its SHA-256 and size, and RECORD must name no file the wheel
// lacks; INSTALLER, direct_url.json (PEP 610) and a new RECORD are written.
// Members are refused before they are read when their names are absolute,
// climb out (..), are symlinks or special files, or declare more than the
// size limits; two wheels installing one path is an error naming both.
package python
