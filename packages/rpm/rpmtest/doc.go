// Package rpmtest builds real RPM repositories for tests: packages made
// with rpmbuild (so their dependency metadata is rpm's own: automatic
// soname Requires and Provides, file requirements, scriptlet flags),
// signed with a throwaway key by rpmsign, indexed by createrepo_c, with
// repomd.xml signed by gpg. It needs rpmbuild, rpmsign, createrepo_c,
// modifyrepo_c, gpg and gcc (scripts/test.sh installs them) and runs
// only on amd64 Linux, whose glibc it packages so that the binaries run.
package rpmtest
