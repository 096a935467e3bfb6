// Package resolver computes the minimal run-time closure of a set of root
// packages over a packages.Index, whatever the archive format: it follows
// requirements, chooses among alternatives and providers by the smallest
// added closure (deterministically, looking ahead), keeps out packages
// that conflict (Conflicts, Breaks, Obsoletes) by searching back through
// its choices, prunes packages that only serve package management (as the
// profile's data says), and records why every package is in the closure
// and how every choice was made.
package resolver
