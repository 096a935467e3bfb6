package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// The description memo: what a package file says of itself for the SBOM
// (packages.Describer) depends only on the file's bytes and on the code
// that reads it, so gen keeps each description in the cache under a key
// naming both: the file's SHA-256 (which the signed index pins, and which
// the download cache checks before the file is used) and the running
// binary's Go build ID, with the payload's type. A deb's description
// means reading its data up to the copyright file, most of the file; a
// no-change gen of python3 spent about 0.1 CPU-s on it.
//
// An entry is a named cache entry (its digest checked when read) that
// also names its key, so a damaged or misplaced entry is never used: it
// is described again. Without a build ID there is no memo.

// describeEntry is the stored form of a description.
type describeEntry struct {
	Key         string
	Description packages.Description
}

// describeKey is the memo key of the description of the package file
// with digest sha by describer d, or "" when there can be none.
func describeKey(d packages.Describer, sha string) string {
	id := toolID()
	if id == "" || sha == "" {
		return ""
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%T\x00%s", id, d, sha))
	return "describe/v1/" + hex.EncodeToString(sum[:])
}

// describeMemo is d's description of the package file at file (whose
// SHA-256 is sha), from the memo when it holds it, else read and kept.
func describeMemo(c *fetch.Cache, d packages.Describer, file, sha string) (packages.Description, error) {
	key := describeKey(d, sha)
	if key != "" && c != nil {
		if raw, err := c.Get(key); err == nil {
			var e describeEntry
			if json.Unmarshal(raw, &e) == nil && e.Key == key {
				return e.Description, nil
			}
		}
	}
	desc, err := d.Describe(file)
	if err != nil || key == "" || c == nil {
		return desc, err
	}
	if raw, err := json.Marshal(describeEntry{Key: key, Description: desc}); err == nil {
		_ = c.Put(key, raw) // a cache that cannot be written still works
	}
	return desc, nil
}
