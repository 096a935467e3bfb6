package assemble

import (
	"fmt"
	"strings"
)

// Limits on the names in an image, so that every tool can unpack it. Linux
// refuses a path of PATH_MAX (4096) bytes or more and a name component
// of more than NAME_MAX (255) bytes. Unpackers that build host paths
// (umoci: BUNDLE/rootfs/PATH; containerd and Docker: their snapshot
// directory plus the path) need the image's path plus their own prefix to
// fit: umoci fails on a 4087-byte path unpacking into "b", and on a
// 4080-byte one into a 34-byte bundle path. So an image path may have
// 4095 bytes less 256 for that prefix; a symlink's target is stored as
// it is and may have 4095.
const (
	maxImagePath  = 4095 - 256 // bytes of "/" plus the path
	maxImageName  = 255        // bytes of one component
	maxLinkTarget = 4095       // bytes of a symlink's target
)

// checkPath refuses a path (clean, relative to the root) that an unpacker
// could not create.
func checkPath(p string) error {
	if n := len(p) + 1; n > maxImagePath {
		return fmt.Errorf("path %q is %d bytes long, more than the %d an image may have", shortPath("/"+p), n, maxImagePath)
	}
	for c := range strings.SplitSeq(p, "/") {
		if len(c) > maxImageName {
			return fmt.Errorf("path %q has a name of %d bytes (%q), more than the %d a file system allows", shortPath("/"+p), len(c), shortPath(c), maxImageName)
		}
	}
	return nil
}

// checkLink refuses a symlink target longer than a symlink may hold.
func checkLink(p, target string) error {
	if len(target) > maxLinkTarget {
		return fmt.Errorf("symlink %q: its target %q is %d bytes long, more than the %d a symlink may hold", shortPath("/"+p), shortPath(target), len(target), maxLinkTarget)
	}
	return nil
}

// shortPath shortens a long path for a message: its start and end.
func shortPath(s string) string {
	if len(s) <= 120 {
		return s
	}
	return strings.ToValidUTF8(s[:80], "") + "…" + strings.ToValidUTF8(s[len(s)-30:], "")
}
