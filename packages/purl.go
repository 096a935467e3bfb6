package packages

// PurlSpelling is how a format's packages are named in a purl (the
// package-url spec's rules for its type): the SBOM writes each package's
// purl from it, so that it knows no format itself.
type PurlSpelling struct {
	// Type is the purl type ("deb", "rpm"); empty for a format without
	// one.
	Type string
	// Namespace is the namespace when the image's os-release has no ID.
	Namespace string
	// EpochQualifier: a version's epoch ("E:") is not part of the purl's
	// version but an epoch qualifier, left out when it is 0 (rpm's
	// rule).
	EpochQualifier bool
}
