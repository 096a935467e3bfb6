// Package distroless is the library behind the distroless command: it
// ties a profile, a distro's signed index, the resolver and (for gen) the
// assembler together. Data flows one way: profile → resolver → packages
// (fetch) → assemble → output. The command in cmd/distroless only maps
// flags onto these calls.
//
// Release builds a release file's matrix (release.go); the record of each
// image's inputs it leaves in the registry lets a runner with an empty
// cache skip what did not change (release_record.go), and its matrix can
// be split into shards finished by one run (release_shard.go). Verify
// rebuilds an image from its provenance and says how it differs
// (verify.go).
package distroless
