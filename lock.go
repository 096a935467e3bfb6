package distroless

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// Lock pins a resolution: every package with its digest, and the digests
// of the signed indexes it came from.
type Lock struct {
	Version   int           `json:"version"`
	Profile   string        `json:"profile"`
	Requested string        `json:"requested,omitempty"`
	Distro    string        `json:"distro"`
	Arch      string        `json:"arch"`
	Indexes   []LockIndex   `json:"indexes"`
	Packages  []LockPackage `json:"packages"`
}

// LockIndex is one index file (InRelease, Packages) by URL and digest.
type LockIndex struct {
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
}

// LockPackage is one pinned package.
type LockPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
	Layer   string `json:"layer"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
	Path    string `json:"path"`
	URL     string `json:"url"`
}

// LockVersion is the lockfile format version this tool writes and reads.
const LockVersion = 1

// Lock returns the lockfile of a resolution.
func (r *Resolution) Lock() *Lock {
	l := &Lock{Version: LockVersion, Profile: r.Plan.Name, Requested: r.Plan.Requested, Distro: r.Distro.Name, Arch: r.Arch}
	for _, f := range r.Index.Sources() {
		l.Indexes = append(l.Indexes, LockIndex{URL: f.URL, SHA256: f.SHA256})
	}
	for _, s := range r.Result.Packages {
		p := s.Pkg
		l.Packages = append(l.Packages, LockPackage{
			Name: p.Name, Version: p.Version, Arch: p.Arch, Layer: r.Result.Levels[s.Level].Name,
			SHA256: p.SHA256, Size: p.Size, Path: p.Location, URL: p.URL,
		})
	}
	return l
}

// WriteLock writes a lockfile atomically.
func WriteLock(path string, l *Lock) error {
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return fetch.WriteFileAtomic(path, append(data, '\n'))
}

// ReadLock reads and checks a lockfile.
func ReadLock(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var l Lock
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("lockfile %s: %w", path, err)
	}
	if l.Version != LockVersion {
		return nil, fmt.Errorf("lockfile %s: version %d, this tool reads version %d", path, l.Version, LockVersion)
	}
	if l.Profile == "" || l.Distro == "" || len(l.Packages) == 0 {
		return nil, fmt.Errorf("lockfile %s: profile, distro and packages are required", path)
	}
	if err := packages.CheckArch("", l.Arch); err != nil {
		return nil, fmt.Errorf("lockfile %s: arch: %w", path, err)
	}
	for i, p := range l.Packages {
		if p.Name == "" || p.URL == "" || len(p.SHA256) != 64 || p.Size <= 0 {
			return nil, fmt.Errorf("lockfile %s: packages[%d] (%q) needs name, url, a sha256 and a size", path, i, p.Name)
		}
		if _, err := hex.DecodeString(p.SHA256); err != nil {
			return nil, fmt.Errorf("lockfile %s: packages[%d] (%q): sha256 %q is not hexadecimal", path, i, p.Name, p.SHA256)
		}
	}
	// Names, versions and architectures are checked against the format
	// of the pinned distro when it is known (a distro file's distro is
	// checked by lockPlan once the file is read), else against both.
	format := ""
	if d, err := distro.Get(l.Distro); err == nil {
		format = d.Format
	}
	if err := l.checkPackages(path, format); err != nil {
		return nil, err
	}
	return &l, nil
}

// checkPackages checks each pinned package's name, version and
// architecture against the grammar of format ("deb", "rpm"; "" for
// either).
func (l *Lock) checkPackages(path, format string) error {
	for i, p := range l.Packages {
		if err := packages.CheckIdentity(format, p.Name, p.Version, p.Arch); err != nil {
			return fmt.Errorf("lockfile %s: packages[%d] (%q): %w", path, i, p.Name, err)
		}
	}
	return nil
}
