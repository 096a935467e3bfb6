package pipeline

import (
	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/packages"
)

// Lock returns the lockfile of a resolution.
func (r *Resolution) Lock() *lockfile.Lock {
	l := &lockfile.Lock{Version: lockfile.Version, Profile: r.Plan.Name, Requested: r.Plan.Requested, Distro: r.Distro.Name, Arch: r.Arch}
	for _, f := range r.Index.Sources() {
		l.Indexes = append(l.Indexes, lockfile.Index{URL: f.URL, SHA256: f.SHA256})
	}
	for _, s := range r.Result.Packages {
		p := s.Pkg
		l.Packages = append(l.Packages, lockfile.Package{
			Name: p.Name, Version: p.Version, Arch: p.Arch, Layer: r.Result.Levels[s.Level].Name,
			SHA256: p.SHA256, Size: p.Size, Path: p.Location, URL: p.URL,
		})
	}
	if r.App != nil {
		l.App = r.App.lockApp()
	}
	return l
}

// ReadLock reads and checks a lockfile. Names, versions and architectures
// are checked against the format of the pinned distro when it is a
// built-in one (a distro file's distro is checked by lockPlan once the
// file is read), else against what any format allows (packages.AnyFormat).
func ReadLock(path string) (*lockfile.Lock, error) {
	l, err := lockfile.Read(path)
	if err != nil {
		return nil, err
	}
	g := packages.AnyFormat
	if d, err := distro.Get(l.Distro); err == nil {
		g = d.Grammar()
	}
	if err := l.CheckPackages(path, g); err != nil {
		return nil, err
	}
	return l, nil
}
