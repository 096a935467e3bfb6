// Package profiles holds the built-in image profiles, one embedded YAML file
// each (builtin/), the prune lists that say which packages only serve
// package management (prune/, one per package format), and the loader that
// turns a profile name into resolver levels for one distro's index.
//
// Profiles extend one another (python3.11 extends cc extends base extends
// static); each profile in the chain becomes one resolver level and, in an
// image, one layer. A template profile (python3.X) serves every name its
// pattern matches, and lists which versions a distro packages from the
// index itself.
package profiles
