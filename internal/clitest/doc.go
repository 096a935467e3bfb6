// Package clitest is what the root package's integration tests share to
// run the distroless binary (Run, Command) and to read the OCI layouts it
// writes (ReadLayout, ReadIndex, WalkLayers, TagDigests), and to parse
// outputs as the command does (Output). It is used by
// tests only.
package clitest
