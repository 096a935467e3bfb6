// Package distro holds the distro definitions (built-in ones are embedded
// YAML, one file per distro) and opens a distro's package index through
// its format's package (packages/deb). A new distro is one definition file.
package distro
