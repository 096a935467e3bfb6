package deb

import (
	"fmt"
	"strings"

	"github.com/distroless-dev/distroless/packages"
)

var _ packages.Identifier = Payload{}

// Identity returns the Package, Version and Architecture fields of the
// .deb's own control file, checked against Debian's grammars. It reads
// the package itself, never the cache: nothing of a package is cached
// before its identity is known to be the expected one.
func (p Payload) Identity(file string) (packages.Identity, error) {
	b, err := Payload{}.ControlFile(file, "control")
	if err != nil {
		return packages.Identity{}, err
	}
	return controlIdentity(b)
}

// controlIdentity reads the identity fields of a control file.
func controlIdentity(b []byte) (packages.Identity, error) {
	v, err := paragraph(b)
	if err != nil {
		return packages.Identity{}, fmt.Errorf("control file: %v", err)
	}
	id := packages.Identity{
		Name:    strings.TrimSpace(v["Package"]),
		Version: strings.TrimSpace(v["Version"]),
		Arch:    strings.TrimSpace(v["Architecture"]),
	}
	if err := packages.CheckIdentity(Grammar, id.Name, id.Version, id.Arch); err != nil {
		return packages.Identity{}, fmt.Errorf("control file: %v", err)
	}
	return id, nil
}
