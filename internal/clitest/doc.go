// Package clitest is what the root package's integration tests share to
// run the distroless binary (Run, Command) and to read the OCI layouts it
// writes (ReadLayout, ReadIndex, WalkLayers, TagDigests). It is used by
// tests only.
package clitest
