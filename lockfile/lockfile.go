// Package lockfile is the lockfile format: a resolution pinned, every
// package with its digest and download URL, and the digests of the signed
// indexes it came from. It reads, checks and writes lockfiles; making one
// from a resolution, and building from one, is the distroless package's.
//
// A lockfile of one platform is version 1: arch, indexes and packages at
// the top. A lockfile of several platforms (an image index) is version 2:
// the same three fields once per platform, under platforms. Read takes
// both; a version-1 reader refuses a version-2 file by its version.
package lockfile

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/distroless-dev/distroless/internal/atomicfile"
	"github.com/distroless-dev/distroless/packages"
)

// Lock pins a resolution: every package with its digest, and the digests
// of the signed indexes it came from.
type Lock struct {
	Version   int    `json:"version"`
	Profile   string `json:"profile"`
	Requested string `json:"requested,omitempty"`
	Distro    string `json:"distro"`
	// One platform (version 1): its architecture, index files and
	// packages.
	Arch     string    `json:"arch,omitempty"`
	Indexes  []Index   `json:"indexes,omitempty"`
	Packages []Package `json:"packages,omitempty"`
	// App pins the application layer's packages (wheels, npm tarballs).
	App []App `json:"app,omitempty"`
	// Several platforms (version 2): the same, per platform.
	Platforms []Platform `json:"platforms,omitempty"`
}

// Platform is the pinned resolution of one platform of a version-2
// lockfile.
type Platform struct {
	Arch     string    `json:"arch"`
	Indexes  []Index   `json:"indexes"`
	Packages []Package `json:"packages"`
	App      []App     `json:"app,omitempty"`
}

// App is one pinned package of the application layer: its ecosystem
// (pypi, npm), name, version, the hash of the artifact installed
// (sha256:HEX or an npm integrity string) and where it came from.
type App struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Version string `json:"version"`
	Hash    string `json:"hash"`
	Source  string `json:"source,omitempty"`
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

// Version is the format version of a lockfile of one platform;
// VersionPlatforms that of a lockfile of several.
const (
	Version          = 1
	VersionPlatforms = 2
)

// Merge makes the lockfile of several platforms from the lockfiles of
// each (the same profile on the same distro): version 2, or the one
// lockfile itself, unchanged, when there is one.
func Merge(locks []*Lock) (*Lock, error) {
	if len(locks) == 0 {
		return nil, fmt.Errorf("no lockfile to merge")
	}
	if len(locks) == 1 {
		return locks[0], nil
	}
	first := locks[0]
	m := &Lock{Version: VersionPlatforms, Profile: first.Profile, Requested: first.Requested, Distro: first.Distro}
	for _, l := range locks {
		if l.Version != Version || len(l.Platforms) > 0 {
			return nil, fmt.Errorf("merging lockfiles: the lockfile of %s is not of one platform", l.Arch)
		}
		if l.Profile != first.Profile || l.Distro != first.Distro {
			return nil, fmt.Errorf("merging lockfiles: %s on %s and %s on %s", first.Profile, first.Distro, l.Profile, l.Distro)
		}
		m.Platforms = append(m.Platforms, Platform{Arch: l.Arch, Indexes: l.Indexes, Packages: l.Packages, App: l.App})
	}
	return m, nil
}

// Split returns the lockfile of each platform a lockfile pins, each of
// version 1: the lockfile itself for a version-1 lockfile.
func (l *Lock) Split() []*Lock {
	if len(l.Platforms) == 0 {
		return []*Lock{l}
	}
	var out []*Lock
	for _, p := range l.Platforms {
		out = append(out, &Lock{Version: Version, Profile: l.Profile, Requested: l.Requested, Distro: l.Distro,
			Arch: p.Arch, Indexes: p.Indexes, Packages: p.Packages, App: p.App})
	}
	return out
}

// Archs lists the architectures the lockfile pins, in its order.
func (l *Lock) Archs() []string {
	var out []string
	for _, p := range l.Split() {
		out = append(out, p.Arch)
	}
	return out
}

// Write writes a lockfile atomically (temporary file and rename).
func Write(path string, l *Lock) error {
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(data, '\n'), atomicfile.Options{MkdirAll: true})
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

// check checks a lock's structure (see Read); path names it in errors.
func (l *Lock) check(path string) error {
	switch l.Version {
	case Version:
		if len(l.Platforms) > 0 {
			return fmt.Errorf("lockfile %s: platforms is for version %d lockfiles, this one is version %d", path, VersionPlatforms, l.Version)
		}
		if l.Profile == "" || l.Distro == "" || len(l.Packages) == 0 {
			return fmt.Errorf("lockfile %s: profile, distro and packages are required", path)
		}
	case VersionPlatforms:
		if l.Arch != "" || len(l.Indexes) > 0 || len(l.Packages) > 0 {
			return fmt.Errorf("lockfile %s: version %d pins arch, indexes and packages per platform, under platforms, not at the top", path, l.Version)
		}
		if l.Profile == "" || l.Distro == "" || len(l.Platforms) == 0 {
			return fmt.Errorf("lockfile %s: profile, distro and platforms are required", path)
		}
	default:
		return fmt.Errorf("lockfile %s: version %d, this tool reads versions %d and %d", path, l.Version, Version, VersionPlatforms)
	}
	seen := map[string]bool{}
	for pi, pl := range l.Split() {
		where := ""
		if l.Version == VersionPlatforms {
			where = fmt.Sprintf("platforms[%d] ", pi)
			if len(pl.Packages) == 0 {
				return fmt.Errorf("lockfile %s: %s(%q) has no packages", path, where, pl.Arch)
			}
		}
		if err := packages.CheckArch("", pl.Arch); err != nil || pl.Arch == "" {
			if err == nil {
				err = fmt.Errorf("empty")
			}
			return fmt.Errorf("lockfile %s: %sarch: %w", path, where, err)
		}
		if seen[pl.Arch] {
			return fmt.Errorf("lockfile %s: %sarch %s is pinned twice", path, where, pl.Arch)
		}
		seen[pl.Arch] = true
		for i, p := range pl.Packages {
			if p.Name == "" || p.URL == "" || len(p.SHA256) != 64 || p.Size <= 0 {
				return fmt.Errorf("lockfile %s: %spackages[%d] (%q) needs name, url, a sha256 and a size", path, where, i, p.Name)
			}
			if _, err := hex.DecodeString(p.SHA256); err != nil {
				return fmt.Errorf("lockfile %s: %spackages[%d] (%q): sha256 %q is not hexadecimal", path, where, i, p.Name, p.SHA256)
			}
		}
	}
	return nil
}

// CheckPackages checks each pinned package's name, version and
// architecture against the grammar of format ("deb", "rpm"; "" for
// either); path names the lockfile in errors.
func (l *Lock) CheckPackages(path, format string) error {
	for pi, pl := range l.Split() {
		where := ""
		if len(l.Platforms) > 0 {
			where = fmt.Sprintf("platforms[%d] ", pi)
		}
		for i, p := range pl.Packages {
			if err := packages.CheckIdentity(format, p.Name, p.Version, p.Arch); err != nil {
				return fmt.Errorf("lockfile %s: %spackages[%d] (%q): %w", path, where, i, p.Name, err)
			}
		}
		for i, a := range pl.App {
			if a.Type == "" || a.Name == "" || a.Version == "" || a.Hash == "" {
				return fmt.Errorf("lockfile %s: %sapp[%d] (%q): type, name, version and hash are required", path, where, i, a.Name)
			}
		}
	}
	return nil
}
