package distro

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/packages/rpm"
)

// Keys are a distro's verified signing keys, as Open loaded them.
type Keys = openpgp.EntityList

// driver is what distro knows of one package format: everything that
// differs between a Debian archive and an RPM repository goes through
// it, so the rest of the package (and the module) asks no format
// questions.
type driver interface {
	// check validates the format's own fields of a decoded definition;
	// fail formats the error.
	check(d *Distro, fail func(format string, args ...any) error) error
	// arch is the format's name for an OCI architecture (amd64 →
	// x86_64 for rpm), or an error when the format has none.
	arch(oci string) (string, error)
	// defaultKeyring is the keyring of a definition that names none
	// ("" when it must name one).
	defaultKeyring() string
	// embeddedKeyring returns the keys a keyring name stands for when
	// the binary embeds them (deb's "debian"); ok is false otherwise.
	embeddedKeyring(name string) (el openpgp.EntityList, what string, ok bool, err error)
	// needsMirrors reports whether opening d uses the mirror settings.
	needsMirrors(d *Distro) bool
	// open opens d's index for arch (an OCI name) with verified keys.
	open(ctx context.Context, c *fetch.Cache, d *Distro, arch string, keys Keys, m Mirrors, deferLoad bool) (Index, error)
	// payload is the reader of d's package files (and its package
	// database); keys are those Open returned, or nil.
	payload(d *Distro, cacheDir string, keys Keys) packages.Payload
	// libraryDirs is the dynamic loader's built-in search path.
	libraryDirs(d *Distro) []string
	// localCA is where the format's trust store takes an administrator's
	// CA certificates, and the file name suffix they need there.
	localCA() (dir, suffix string)
	// grammar is the format's spelling of names, versions and
	// architectures.
	grammar() packages.Grammar
	// purl is how the format's packages are named in a purl.
	purl() packages.PurlSpelling
}

// drivers are the package formats, by Distro.Format.
var drivers = map[string]driver{
	deb.Format: debDriver{},
	rpm.Format: rpmDriver{},
}

// formats lists the supported formats, for messages.
func formats() string {
	var f []string
	for k := range drivers {
		f = append(f, k)
	}
	slices.Sort(f)
	return strings.Join(f, " or ")
}

// drv is d's driver. A Distro that did not come from Decode may name a
// format without one: its driver fails every operation with an error.
func (d *Distro) drv() driver {
	if dr, ok := drivers[d.Format]; ok {
		return dr
	}
	return noDriver{fmt.Errorf("distro %s: format %q is not supported (want %s)", d.Name, d.Format, formats())}
}

// noDriver is the driver of an unsupported format.
type noDriver struct{ err error }

func (n noDriver) check(*Distro, func(string, ...any) error) error { return n.err }
func (n noDriver) arch(string) (string, error)                     { return "", n.err }
func (noDriver) defaultKeyring() string                            { return "" }
func (noDriver) embeddedKeyring(string) (openpgp.EntityList, string, bool, error) {
	return nil, "", false, nil
}
func (noDriver) needsMirrors(*Distro) bool { return false }
func (n noDriver) open(context.Context, *fetch.Cache, *Distro, string, Keys, Mirrors, bool) (Index, error) {
	return nil, n.err
}
func (n noDriver) payload(*Distro, string, Keys) packages.Payload { return failPayload{n.err} }
func (noDriver) libraryDirs(*Distro) []string                     { return nil }
func (noDriver) localCA() (string, string)                        { return "", "" }
func (n noDriver) grammar() packages.Grammar                      { return failGrammar{n.err} }
func (noDriver) purl() packages.PurlSpelling                      { return packages.PurlSpelling{} }

// failGrammar accepts nothing.
type failGrammar struct{ err error }

func (f failGrammar) CheckName(string) error    { return f.err }
func (f failGrammar) CheckVersion(string) error { return f.err }
func (f failGrammar) CheckArch(string) error    { return f.err }
func (f failGrammar) CheckPattern(string) error { return f.err }

// failPayload reads no package file.
type failPayload struct{ err error }

func (f failPayload) Walk(string, func(*tar.Header, io.Reader) error) error { return f.err }
