package deb

import (
	"bytes"
	"fmt"
	"strings"

	"pault.ag/go/debian/control"

	"github.com/distroless-dev/distroless/packages"
)

var _ packages.Identifier = DebPayload{}

// Identity returns the Package, Version and Architecture fields of the
// .deb's own control file, checked against Debian's grammars. It reads
// the package itself, never the cache: nothing of a package is cached
// before its identity is known to be the expected one.
func (p DebPayload) Identity(file string) (packages.Identity, error) {
	b, err := DebPayload{}.ControlFile(file, "control")
	if err != nil {
		return packages.Identity{}, err
	}
	return controlIdentity(b)
}

// controlIdentity reads the identity fields of a control file.
func controlIdentity(b []byte) (packages.Identity, error) {
	r, err := control.NewParagraphReader(bytes.NewReader(b), nil)
	if err != nil {
		return packages.Identity{}, fmt.Errorf("control file: %v", err)
	}
	para, err := r.Next()
	if err != nil {
		return packages.Identity{}, fmt.Errorf("control file: %v", err)
	}
	id := packages.Identity{
		Name:    strings.TrimSpace(para.Values["Package"]),
		Version: strings.TrimSpace(para.Values["Version"]),
		Arch:    strings.TrimSpace(para.Values["Architecture"]),
	}
	if err := packages.CheckIdentity(packages.FormatDeb, id.Name, id.Version, id.Arch); err != nil {
		return packages.Identity{}, fmt.Errorf("control file: %v", err)
	}
	return id, nil
}
