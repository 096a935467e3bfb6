// Package lockfile is the lockfile format: a resolution pinned, every
// package with its digest and download URL, and the digests of the signed
// indexes it came from. It reads, checks and writes lockfiles; making one
// from a resolution, and building from one, is the distroless package's.
package lockfile

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// Lock pins a resolution: every package with its digest, and the digests
// of the signed indexes it came from.
type Lock struct {
	Version   int       `json:"version"`
	Profile   string    `json:"profile"`
	Requested string    `json:"requested,omitempty"`
	Distro    string    `json:"distro"`
	Arch      string    `json:"arch"`
	Indexes   []Index   `json:"indexes"`
	Packages  []Package `json:"packages"`
}

// Index is one index file (InRelease, Packages) by URL and digest.
type Index struct {
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
}

// Package is one pinned package.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
	Layer   string `json:"layer"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
	Path    string `json:"path"`
	URL     string `json:"url"`
}

// Version is the lockfile format version this tool writes and reads.
const Version = 1

// Write writes a lockfile atomically (temporary file and rename).
func Write(path string, l *Lock) error {
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return fetch.WriteFileAtomic(path, append(data, '\n'))
}

// Read reads a lockfile and checks its structure: the version, the
// required fields, each package's sha256 and size, and the architecture.
// Package names, versions and architectures are for CheckPackages, which
// needs the pinned distro's format.
func Read(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var l Lock
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("lockfile %s: %w", path, err)
	}
	var probe struct {
		Locks json.RawMessage `json:"locks"`
	}
	if json.Unmarshal(data, &probe) == nil && probe.Locks != nil {
		return nil, fmt.Errorf("lockfile %s holds the locks of several images (a release's); it is read by distroless release and lock update, not for one image", path)
	}
	if err := l.check(path); err != nil {
		return nil, err
	}
	return &l, nil
}

// check checks a lock's structure (see Read).
func (l *Lock) check(path string) error {
	if l.Version != Version {
		return fmt.Errorf("lockfile %s: version %d, this tool reads version %d", path, l.Version, Version)
	}
	if l.Profile == "" || l.Distro == "" || len(l.Packages) == 0 {
		return fmt.Errorf("lockfile %s: profile, distro and packages are required", path)
	}
	if err := packages.CheckArch("", l.Arch); err != nil {
		return fmt.Errorf("lockfile %s: arch: %w", path, err)
	}
	for i, p := range l.Packages {
		if p.Name == "" || p.URL == "" || len(p.SHA256) != 64 || p.Size <= 0 {
			return fmt.Errorf("lockfile %s: packages[%d] (%q) needs name, url, a sha256 and a size", path, i, p.Name)
		}
		if _, err := hex.DecodeString(p.SHA256); err != nil {
			return fmt.Errorf("lockfile %s: packages[%d] (%q): sha256 %q is not hexadecimal", path, i, p.Name, p.SHA256)
		}
	}
	return nil
}

// CheckPackages checks each pinned package's name, version and
// architecture against the grammar of format ("deb", "rpm"; "" for
// either); path names the lockfile in errors.
func (l *Lock) CheckPackages(path, format string) error {
	for i, p := range l.Packages {
		if err := packages.CheckIdentity(format, p.Name, p.Version, p.Arch); err != nil {
			return fmt.Errorf("lockfile %s: packages[%d] (%q): %w", path, i, p.Name, err)
		}
	}
	return nil
}
