package deb

import (
	_ "embed"
	"fmt"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// debianArchiveKeyring is /usr/share/keyrings/debian-archive-keyring.pgp
// from the debian-archive-keyring package (see doc.go for the version).
//
//go:embed keys/debian-archive-keyring.pgp
var debianArchiveKeyring []byte

var loadDebianKeyring = sync.OnceValues(func() (openpgp.EntityList, error) {
	el, err := readKeyRing(debianArchiveKeyring)
	if err != nil {
		return nil, fmt.Errorf("embedded Debian archive keyring: %w", err)
	}
	if len(el) == 0 {
		return nil, fmt.Errorf("embedded Debian archive keyring holds no keys")
	}
	return el, nil
})

// DebianKeyring returns Debian's archive signing keys (the archive, security
// archive and stable release keys of the supported releases), embedded in
// the binary. The returned list is the caller's; the entities are shared.
func DebianKeyring() (openpgp.EntityList, error) {
	el, err := loadDebianKeyring()
	if err != nil {
		return nil, err
	}
	return append(openpgp.EntityList(nil), el...), nil
}
