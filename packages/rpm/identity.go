package rpm

import (
	"fmt"
	"os"

	"github.com/distroless-dev/distroless/packages"
)

var _ packages.Identifier = Payload{}

// Identity returns the name, [epoch:]version-release and architecture of
// the package's own header, checked against rpm's grammars. The version
// is spelt as the index spells it (no epoch when it is 0).
func (p Payload) Identity(file string) (packages.Identity, error) {
	f, err := os.Open(file)
	if err != nil {
		return packages.Identity{}, err
	}
	defer f.Close()
	hd, err := readHeaders(f)
	if err != nil {
		return packages.Identity{}, fmt.Errorf("%s: %w", file, err)
	}
	return hd.identity()
}

// identity reads the NEVRA tags of the main header.
func (h *rpmHeaders) identity() (packages.Identity, error) {
	hd := &h.pkg.Header
	evr := EVR{Version: hd.GetTag(tagVersion).String(), Release: hd.GetTag(tagRelease).String()}
	if e := hd.GetTag(tagEpoch).Int64Slice(); len(e) > 0 {
		evr.Epoch = fmt.Sprint(e[0])
	}
	name, arch := hd.GetTag(tagName).String(), hd.GetTag(tagArch).String()
	if err := CheckName(name); err != nil {
		return packages.Identity{}, fmt.Errorf("header: %v", err)
	}
	if err := CheckVersionParts(evr.Epoch, evr.Version, evr.Release); err != nil {
		return packages.Identity{}, fmt.Errorf("header: %v", err)
	}
	if evr.Release == "" {
		return packages.Identity{}, fmt.Errorf("header: no release")
	}
	if err := CheckArch(arch); err != nil {
		return packages.Identity{}, fmt.Errorf("header: %v", err)
	}
	return packages.Identity{Name: name, Version: evr.String(), Arch: arch}, nil
}
