// Package distroless is the library behind the distroless command: it
// ties a profile, a distro's signed index, the resolver and (for gen) the
// assembler together. Data flows one way: profile → resolver → packages
// (fetch) → assemble → output. The command in cmd/distroless only maps
// flags onto these calls.
package distroless
