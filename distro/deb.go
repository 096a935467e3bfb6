package distro

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// ResolveMirrors fills in the Debian mirrors not given explicitly: from
// the environment, else from the host's apt sources (call it only for a
// distro that NeedsMirrors). root is the host's root
// directory ("/" outside tests).
func ResolveMirrors(m Mirrors, root string) (Mirrors, error) {
	if m.Archive == "" {
		m.Archive = os.Getenv(EnvMirror)
	}
	if m.Security == "" {
		m.Security = os.Getenv(EnvSecurityMirror)
	}
	if m.Archive != "" && m.Security != "" {
		return m, nil
	}
	archive, security, err := deb.HostMirrors(root)
	if m.Archive == "" {
		m.Archive = archive
	}
	if m.Security == "" {
		m.Security = security
	}
	return m, err
}

// debDriver is the Debian archive format: suites of a mirror, InRelease
// signed with the archive keys, .deb payloads, dpkg's status.d.
type debDriver struct{}

// debianKeyring is the keyring name of the Debian archive keys embedded
// in the binary, and a deb distro's default.
const debianKeyring = "debian"

func (debDriver) check(d *Distro, fail func(string, ...any) error) error {
	if len(d.Repos) > 0 || d.SignedMetadata != nil || d.RPMDB != "" {
		return fail("repos, signed-metadata and rpmdb are for rpm distros (a deb distro has suites)")
	}
	if len(d.Suites) == 0 {
		return fail("no suites")
	}
	for i, s := range d.Suites {
		switch {
		case s.Name == "" || strings.Contains(s.Name, ".."):
			return fail("suites[%d]: bad name %q", i, s.Name)
		case s.URL != "" && s.Mirror != "":
			return fail("suites[%d]: give mirror or url, not both", i)
		case s.URL != "":
			if !isURL(s.URL) {
				return fail("suites[%d].url %q is not an http(s) URL", i, s.URL)
			}
		case s.Mirror != "archive" && s.Mirror != "security":
			return fail("suites[%d].mirror must be archive or security, not %q", i, s.Mirror)
		}
	}
	return nil
}

// arch: Debian's names are OCI's, but for 386 (i386), arm (armhf, the
// arm/v7 hard-float port) and ppc64le (ppc64el).
func (debDriver) arch(oci string) (string, error) {
	switch oci {
	case "amd64", "arm64", "s390x", "riscv64":
		return oci, nil
	case "386":
		return "i386", nil
	case "arm":
		return "armhf", nil
	case "ppc64le":
		return "ppc64el", nil
	}
	return "", fmt.Errorf("no Debian architecture for %q", oci)
}

func (debDriver) defaultKeyring() string { return debianKeyring }

func (debDriver) embeddedKeyring(name string) (openpgp.EntityList, string, bool, error) {
	if name != debianKeyring {
		return nil, "", false, nil
	}
	el, err := deb.DebianKeyring()
	return el, "the Debian archive keyring", true, err
}

func (debDriver) needsMirrors(d *Distro) bool {
	for _, s := range d.Suites {
		if s.URL == "" {
			return true
		}
	}
	return false
}

func (debDriver) open(ctx context.Context, c *fetch.Cache, d *Distro, arch string, keys Keys, m Mirrors, deferLoad bool) (Index, error) {
	spec := deb.Spec{Name: d.Name, Keyring: keys, Arch: arch, Now: time.Now(), RefreshAfter: d.RefreshAfter, Defer: deferLoad}
	for _, s := range d.Suites {
		base := s.URL
		if base == "" {
			var setting, env string
			base, setting, env = m.Archive, "Mirrors.Archive", EnvMirror
			if s.Mirror == "security" {
				base, setting, env = m.Security, "Mirrors.Security", EnvSecurityMirror
			}
			if base == "" {
				return nil, fmt.Errorf("%s: no %s mirror for suite %s: set %s or %s, or add one to the host's apt sources", d.Name, s.Mirror, s.Name, setting, env)
			}
		}
		spec.Suites = append(spec.Suites, deb.Suite{Mirror: strings.TrimRight(base, "/"), Name: s.Name, Components: d.Components})
	}
	ix, err := deb.Open(ctx, c, spec)
	if err != nil {
		return nil, err
	}
	return ix, nil
}

func (debDriver) payload(_ *Distro, cacheDir string, _ Keys) packages.Payload {
	// The archive's signed index pins every .deb's digest; a .deb has
	// no signature of its own to check.
	return deb.Payload{CacheDir: cacheDir}
}

// libraryDirs: nil, the assembler's default, which is Debian's.
func (debDriver) libraryDirs(d *Distro) []string { return d.LibraryPath }

// localCA: update-ca-certificates takes *.crt files (PEM) from
// /usr/local/share/ca-certificates.
func (debDriver) localCA() (string, string) { return "/usr/local/share/ca-certificates", ".crt" }

func (debDriver) grammar() packages.Grammar   { return deb.Grammar }
func (debDriver) purl() packages.PurlSpelling { return deb.Purl }
