// Package distroless is the library behind the distroless command's
// whole-matrix and maintenance verbs, built on package pipeline (one gen):
//
//   - Release builds a release file's matrix (release.go, releasebuild.go,
//     releaseapp.go). The record of each image's inputs it leaves in the
//     registry lets a runner with an empty cache skip what did not change;
//     its matrix can be split into shards finished by one run
//     (release_shard.go, release_platform.go).
//   - UpdateLock refreshes the lockfiles of a profile or a release file
//     against today's index (lockupdate.go).
//   - Verify rebuilds an image from its provenance and says how it
//     differs (verify.go).
//
// The command in cmd/distroless only maps flags onto these calls and
// build's.
package distroless
