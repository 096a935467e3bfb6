package distro

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/distroless-dev/distroless/packages/fetch"
)

// maxKeyring bounds a keyring file or download.
const maxKeyring = 4 << 20

// keyringCachePrefix keys downloaded keyrings in the cache, by URL.
const keyringCachePrefix = "keyring/"

// readKeyring reads OpenPGP public keys: binary packets, or one or more
// ASCII-armored blocks (as RPM-GPG-KEY files often hold several).
func readKeyring(data []byte) (openpgp.EntityList, error) {
	if !bytes.Contains(data, []byte("-----BEGIN PGP")) {
		el, err := openpgp.ReadKeyRing(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		return el, nil
	}
	var out openpgp.EntityList
	const begin = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
	rest := data
	for {
		i := bytes.Index(rest, []byte(begin))
		if i < 0 {
			break
		}
		block := rest[i:]
		j := bytes.Index(block[len(begin):], []byte(begin))
		if j >= 0 {
			block = block[:len(begin)+j]
		}
		rest = rest[i+len(block):]
		b, err := armor.Decode(bytes.NewReader(block))
		if err != nil {
			return nil, err
		}
		raw, err := io.ReadAll(io.LimitReader(b.Body, maxKeyring))
		if err != nil {
			return nil, err
		}
		el, err := openpgp.ReadKeyRing(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		out = append(out, el...)
	}
	if len(out) == 0 {
		return nil, errors.New("no public key block")
	}
	return out, nil
}

// fingerprint is a key's primary fingerprint in upper-case hex.
func fingerprint(e *openpgp.Entity) string {
	return strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint))
}

// normFingerprint removes spaces and upper-cases a fingerprint.
func normFingerprint(s string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.ReplaceAll(s, " ", ""), ":", ""))
}

// pinKeys keeps the keys whose fingerprint is pinned; it fails when none
// is. Without pins every key is kept.
func pinKeys(where string, el openpgp.EntityList, pins []string) (openpgp.EntityList, error) {
	if len(el) == 0 {
		return nil, fmt.Errorf("%s holds no public key", where)
	}
	if len(pins) == 0 {
		return el, nil
	}
	var want []string
	for _, p := range pins {
		want = append(want, normFingerprint(p))
	}
	var out openpgp.EntityList
	var got []string
	for _, e := range el {
		fp := fingerprint(e)
		got = append(got, fp)
		if slices.Contains(want, fp) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no key with a pinned fingerprint (it holds %s; the distro pins %s)", where, strings.Join(got, ", "), strings.Join(want, ", "))
	}
	return out, nil
}

// readKeyringFile reads a keyring file, pinned.
func readKeyringFile(path string, pins []string) (openpgp.EntityList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if len(data) > maxKeyring {
		return nil, fmt.Errorf("keyring %s: larger than %d bytes", path, maxKeyring)
	}
	el, err := readKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	return pinKeys("keyring "+path, el, pins)
}

// fetchKeyring downloads keys from each URL (https only), or takes them
// from the cache, and keeps the pinned ones. Every key is checked
// against the pins each time it is used, cached or not.
func fetchKeyring(ctx context.Context, c *fetch.Cache, urls, pins []string) (openpgp.EntityList, error) {
	if len(pins) == 0 {
		return nil, errors.New("keys to download need pinned fingerprints")
	}
	var all openpgp.EntityList
	var errs []error
	for _, url := range urls {
		if !strings.HasPrefix(url, "https://") {
			errs = append(errs, fmt.Errorf("key URL %s is not https", url))
			continue
		}
		key := keyringCachePrefix + url
		data, err := c.Get(key)
		fromCache := err == nil
		if !fromCache {
			if data, err = c.Download(ctx, url, maxKeyring); err != nil {
				errs = append(errs, fmt.Errorf("downloading the distro's signing key: %w", err))
				continue
			}
		}
		el, err := readKeyring(data)
		if err == nil {
			el, err = pinKeys(url, el, pins)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !fromCache {
			_ = c.Put(key, data) // a cache that cannot be written still works
		}
		all = append(all, el...)
	}
	if len(all) == 0 {
		if len(errs) == 0 {
			return nil, errors.New("no key URL")
		}
		return nil, errors.Join(errs...)
	}
	return all, nil
}
