package npm

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"strings"
)

// integrity is the strongest algorithm of a Subresource Integrity string
// (as ssri picks it) and the digests it allows.
type integrity struct {
	algo    string
	digests [][]byte
	raw     string // the chosen hashes, as the lockfile spells them
}

var algos = []struct {
	name string
	new  func() hash.Hash
}{
	{"sha512", sha512.New},
	{"sha384", sha512.New384},
	{"sha256", sha256.New},
	{"sha1", sha1.New},
}

// parseIntegrity reads an SRI string ("sha512-<base64> sha1-<base64>"):
// ssri's choice is the strongest algorithm present, and data matches when
// it has one of that algorithm's digests. Unknown algorithms are ignored;
// a string with no known one is an error.
func parseIntegrity(s string) (*integrity, error) {
	byAlgo := map[string][][]byte{}
	raws := map[string][]string{}
	for _, tok := range strings.Fields(s) {
		algo, rest, ok := strings.Cut(tok, "-")
		if !ok {
			continue
		}
		rest, _, _ = strings.Cut(rest, "?") // options
		d, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, fmt.Errorf("integrity %q: %s digest is not base64", s, algo)
		}
		byAlgo[algo] = append(byAlgo[algo], d)
		raws[algo] = append(raws[algo], tok)
	}
	for _, a := range algos {
		if ds := byAlgo[a.name]; len(ds) > 0 {
			size := a.new().Size()
			for _, d := range ds {
				if len(d) != size {
					return nil, fmt.Errorf("integrity %q: a %s digest has %d bytes, not %d", s, a.name, len(d), size)
				}
			}
			return &integrity{algo: a.name, digests: ds, raw: strings.Join(raws[a.name], " ")}, nil
		}
	}
	return nil, fmt.Errorf("integrity %q names no sha512, sha384, sha256 or sha1 digest", s)
}

func (in *integrity) hash() hash.Hash {
	for _, a := range algos {
		if a.name == in.algo {
			return a.new()
		}
	}
	panic("unreachable: parseIntegrity keeps known algorithms only")
}

// check says whether data has one of the allowed digests; the error
// names the digest data has.
func (in *integrity) check(data []byte) error {
	h := in.hash()
	h.Write(data)
	sum := h.Sum(nil)
	for _, d := range in.digests {
		if bytes.Equal(d, sum) {
			return nil
		}
	}
	return fmt.Errorf("integrity mismatch: expected %s, got %s-%s", in.raw, in.algo, base64.StdEncoding.EncodeToString(sum))
}

// key names the tarball in the download cache.
func (in *integrity) key() string { return "npm-tarball " + in.raw }
