package distro

import (
	"context"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/packages/rpm"
)

// rpmDriver is the RPM repository format: repodata of one or more
// repositories, signed metadata or signed packages, .rpm payloads, an
// rpmdb.
type rpmDriver struct{}

// DefaultRPMDB is where images get the rpm database by default.
const DefaultRPMDB = "/usr/lib/sysimage/rpm"

func (rpmDriver) check(d *Distro, fail func(string, ...any) error) error {
	if len(d.Suites) > 0 || len(d.Components) > 0 {
		return fail("suites and components are for deb distros (an rpm distro has repos)")
	}
	if d.Keyring == debianKeyring {
		return fail("keyring debian is the Debian archive keyring; an rpm distro needs its own")
	}
	if len(d.Repos) == 0 {
		return fail("no repos")
	}
	seen := map[string]bool{}
	for i, r := range d.Repos {
		switch {
		case r.Name == "" || seen[r.Name]:
			return fail("repos[%d]: missing or repeated name %q", i, r.Name)
		case !isURL(r.URL):
			return fail("repos[%d].url %q is not an http(s) URL", i, r.URL)
		case !d.signedMetadata() && !strings.HasPrefix(r.URL, "https://"):
			return fail("repos[%d].url %q is not https, and signed-metadata is false: nothing would protect its metadata", i, r.URL)
		}
		seen[r.Name] = true
	}
	if d.RPMDB != "" && !strings.HasPrefix(d.RPMDB, "/") {
		return fail("rpmdb %q must be an absolute path", d.RPMDB)
	}
	return nil
}

func (rpmDriver) arch(oci string) (string, error) { return rpm.Arch(oci) }

func (rpmDriver) defaultKeyring() string { return "" }

func (rpmDriver) embeddedKeyring(string) (openpgp.EntityList, string, bool, error) {
	return nil, "", false, nil
}

// needsMirrors: repositories are named by URL in the definition.
func (rpmDriver) needsMirrors(*Distro) bool { return false }

func (rpmDriver) open(ctx context.Context, c *fetch.Cache, d *Distro, arch string, keys Keys, _ Mirrors, _ bool) (Index, error) {
	spec := rpm.Spec{Name: d.Name, Keyring: keys, Arch: arch, UnsignedMetadata: !d.signedMetadata(), Now: time.Now(), RefreshAfter: d.RefreshAfter}
	for _, r := range d.Repos {
		spec.Repos = append(spec.Repos, rpm.Repo{Name: r.Name, URL: strings.ReplaceAll(r.URL, "{arch}", arch)})
	}
	ix, err := rpm.Open(ctx, c, spec)
	if err != nil {
		return nil, err
	}
	return ix, nil
}

// payload: when the metadata is not signed, each package's own signature
// is checked against keys (nil for a build from a lockfile, which opens
// no index and relies on the lockfile's pinned digests, as for deb).
func (rpmDriver) payload(d *Distro, cacheDir string, keys Keys) packages.Payload {
	p := rpm.Payload{CacheDir: cacheDir, DBPath: d.RPMDB}
	if p.DBPath == "" {
		p.DBPath = DefaultRPMDB
	}
	if !d.signedMetadata() {
		p.Keyring = keys
	}
	return p
}

// localCA: update-ca-trust takes the files of
// /etc/pki/ca-trust/source/anchors as trust anchors.
func (rpmDriver) localCA() (string, string) { return "/etc/pki/ca-trust/source/anchors", ".pem" }

func (rpmDriver) grammar() packages.Grammar   { return rpm.Grammar }
func (rpmDriver) purl() packages.PurlSpelling { return rpm.Purl }

func (rpmDriver) libraryDirs(d *Distro) []string {
	if len(d.LibraryPath) > 0 {
		return d.LibraryPath
	}
	return []string{"/lib64", "/usr/lib64"}
}
