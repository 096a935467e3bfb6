package fetch

import "os"

// BlobUnhashed returns the path of the cached blob with digest sha256hex
// when it is present with the given size (negative: any), without hashing
// it: for a caller that checks every byte it uses against digests it took
// when the blob was last verified in full (packages/deb's Packages files,
// each stanza against its sidecar's digest). Like Blob, it marks the blob
// used (its access time), which Prune reads.
func (c *Cache) BlobUnhashed(sha256hex string, size int64) (string, bool) {
	h, err := normHex(sha256hex)
	if err != nil {
		return "", false
	}
	c.sweep()
	p := c.BlobPath(h)
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() || (size >= 0 && st.Size() != size) {
		return "", false
	}
	touch(p, st)
	return p, true
}
