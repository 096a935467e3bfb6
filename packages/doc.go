// Package packages is the format-neutral package model shared by every
// archive format (packages/deb, packages/rpm) and by the resolver.
//
// A format turns its repository metadata into Package values and answers
// the one question the resolver asks of it: which packages satisfy this
// requirement (Index.Satisfiers). Version ordering, architecture rules and
// dependency syntax stay inside the format's own package.
//
// Grammar is a format's spelling of package names, versions and
// architectures; each format's package has its own (deb.Grammar,
// rpm.Grammar), which the indexes, the lockfile reader and the profiles
// (through the distro's driver) apply where names enter. AnyFormat is
// what every format's grammar lies within, for where no format is known
// yet. PurlSpelling is how a format names its packages in a purl, for the
// SBOM. Identity/Identifier is how the assembler checks that a package
// file says of itself what its index entry said.
package packages
