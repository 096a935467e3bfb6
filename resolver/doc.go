// Package resolver computes the minimal run-time closure of a set of root
// packages over a packages.Index, whatever the archive format: it follows
// requirements, chooses among alternatives deterministically, prunes
// packages that only serve package management (as the profile's data
// says), and records why every package is in the closure.
package resolver
