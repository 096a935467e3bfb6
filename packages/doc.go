// Package packages is the format-neutral package model shared by every
// archive format (packages/deb, packages/rpm) and by the resolver.
//
// A format turns its repository metadata into Package values and answers
// the one question the resolver asks of it: which packages satisfy this
// requirement (Index.Satisfiers). Version ordering, architecture rules and
// dependency syntax stay inside the format's own package.
//
// names.go holds each format's grammar of package names, versions and
// architectures (CheckName, CheckVersion, CheckArch, CheckPattern), which
// the indexes, the lockfile reader and the profile loader apply where
// names enter, and Identity/Identifier, through which the assembler checks
// that a package file says of itself what its index entry said.
package packages
