package distroless

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"

	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/pipeline"
	"github.com/distroless-dev/distroless/profiles"
)

// LockTarget is one profile to lock: a built-in name (PROFILE or
// PROFILE-debug) or a profile file, on a distro ("" = the one gen would
// pick) for an architecture.
type LockTarget struct {
	Profile     string
	ProfileFile *profiles.Profile
	Distro      string
	// Platforms are OCI architecture names (pipeline.ParseArchList):
	// each is updated; none, the platforms an image's lockfile pins, or
	// amd64.
	Platforms []string
}

// PackageChange is one package that a lock update moved: From "" is a
// package added, To "" one removed.
type PackageChange struct {
	Name     string `json:"name"`
	Arch     string `json:"arch"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	Security bool   `json:"security,omitempty"` // the new version is from the distro's security suite
	Origin   string `json:"origin,omitempty"`   // the suite or repository of the new version
}

// LockImageUpdate is what a lock update found for one profile, distro
// and architecture.
type LockImageUpdate struct {
	Profile string          `json:"profile"` // as locked (python3.13)
	Key     string          `json:"key"`     // PROFILE DISTRO ARCH, as asked (python3 debian:trixie amd64)
	Distro  string          `json:"distro"`
	Arch    string          `json:"arch"`
	Status  string          `json:"status"` // unchanged, changed, new (not locked before), removed (no longer in the release)
	Changes []PackageChange `json:"changes,omitempty"`
}

// LockUpdateResult is the outcome of a lock update.
type LockUpdateResult struct {
	Lock    string            `json:"lock"`
	Changed bool              `json:"changed"` // some package (or image) changed; the lockfile was written
	Images  []LockImageUpdate `json:"images"`
}

// UpdateLock re-resolves every target against the distros' current
// indexes and compares each closure with the lockfile at path (a missing
// file locks nothing yet). When a package changed, the updated lockfile
// is written (temporary file and rename); with dryRun nothing is
// written. Entries of the file that no target names are dropped when
// prune is set (a release's lockfile holds exactly its matrix). A
// lockfile of one image stays one while one target is locked.
func UpdateLock(ctx context.Context, path string, targets []LockTarget, prune, dryRun bool, o pipeline.Options) (_ *LockUpdateResult, err error) {
	defer func() { err = pipeline.DiskFirst(err) }()
	old, err := lockfile.ReadSet(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		old = &lockfile.Set{Single: true} // one image's, if the targets are one image
	case err != nil:
		return nil, err
	}
	for _, l := range old.Locks {
		for _, pl := range l.Split() {
			if len(pl.App) > 0 || slices.ContainsFunc(pl.Packages, func(p lockfile.Package) bool { return p.Layer == pipeline.AppLibsLevel }) {
				return nil, fmt.Errorf("lockfile %s pins an application layer, which lock update does not update yet; remove it and gen again with the lockfile and the application's inputs to resolve again", path)
			}
		}
	}
	res := &LockUpdateResult{Lock: path}
	o.Refresh = !o.Offline // today's indexes, however recent the cached ones
	// One target per platform: --arch may list several, and without it
	// an image's lockfile is updated for the platforms it pins.
	var expanded []LockTarget
	for _, t := range targets {
		archs := slices.Clone(t.Platforms)
		if len(archs) == 0 && old.Single {
			for _, l := range old.Locks {
				archs = append(archs, l.Arch)
			}
		}
		if len(archs) == 0 {
			archs = []string{"amd64"}
		}
		for _, a := range archs {
			x := t
			x.Platforms = []string{a}
			expanded = append(expanded, x)
		}
	}
	targets = expanded
	// One image (one profile on one distro, for one or more platforms):
	// a lockfile of one image stays one.
	oneImage := len(targets) > 0
	targetArchs := map[string]bool{}
	for _, t := range targets {
		oneImage = oneImage && t.Profile == targets[0].Profile && t.ProfileFile == targets[0].ProfileFile && t.Distro == targets[0].Distro
		targetArchs[t.Platforms[0]] = true
	}
	next := &lockfile.Set{Single: old.Single && oneImage}
	s := newSession(o)
	wanted := map[string]bool{}
	for _, t := range targets {
		name := t.Profile
		if t.ProfileFile != nil {
			name = t.ProfileFile.Name
		}
		r, err := s.resolve(ctx, name, t.ProfileFile, t.Distro, t.Platforms[0])
		if err != nil {
			return nil, err
		}
		l := r.Lock()
		l.Requested = name
		if wanted[l.Key()] {
			continue
		}
		wanted[l.Key()] = true
		// The suite each new package came from, for the security mark.
		origin := map[string]string{}
		for _, sp := range r.Result.Packages {
			origin[sp.Pkg.Name+":"+sp.Pkg.Arch] = sp.Pkg.Origin
		}
		u := LockImageUpdate{Profile: l.Profile, Key: l.Key(), Distro: l.Distro, Arch: l.Arch}
		prev := old.Find(l.Key())
		// A single image's lockfile asked for another key (python3.13
		// locked as python3.13, asked now as python3): the same image.
		if prev == nil && old.Single && oneImage {
			for _, p := range old.Locks {
				if p.Profile == l.Profile && p.Distro == l.Distro && p.Arch == l.Arch {
					prev = p
				}
			}
		}
		if prev == nil {
			u.Status = "new"
			u.Changes = diffPackages(nil, l.Packages, origin)
		} else {
			u.Changes = diffPackages(prev.Packages, l.Packages, origin)
			u.Status = "unchanged"
			if len(u.Changes) > 0 || prev.Profile != l.Profile {
				u.Status = "changed"
			}
		}
		if u.Status == "unchanged" {
			next.Put(prev) // the same packages: the file stays as it was
		} else {
			next.Put(l)
			res.Changed = true
		}
		res.Images = append(res.Images, u)
	}
	for _, l := range old.Locks {
		if wanted[l.Key()] {
			continue
		}
		if old.Single && oneImage && targetArchs[l.Arch] {
			continue // replaced by the target of its platform (see above)
		}
		if !prune {
			next.Put(l)
			continue
		}
		res.Changed = true
		res.Images = append(res.Images, LockImageUpdate{Profile: l.Profile, Key: l.Key(), Distro: l.Distro, Arch: l.Arch, Status: "removed"})
	}
	if res.Changed && !dryRun {
		if err := lockfile.WriteSet(path, next); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// diffPackages lists the packages whose version (or file) differs between
// two closures, by name and architecture, sorted by name.
func diffPackages(from, to []lockfile.Package, origin map[string]string) []PackageChange {
	key := func(p lockfile.Package) string { return p.Name + ":" + p.Arch }
	old := map[string]lockfile.Package{}
	for _, p := range from {
		old[key(p)] = p
	}
	var out []PackageChange
	seen := map[string]bool{}
	for _, p := range to {
		k := key(p)
		seen[k] = true
		o, had := old[k]
		if had && o.Version == p.Version && o.SHA256 == p.SHA256 {
			continue
		}
		c := PackageChange{Name: p.Name, Arch: p.Arch, To: p.Version, Origin: origin[k]}
		c.Security = strings.HasSuffix(c.Origin, "-security")
		if had {
			c.From = o.Version
		}
		out = append(out, c)
	}
	for _, p := range from {
		if !seen[key(p)] {
			out = append(out, PackageChange{Name: p.Name, Arch: p.Arch, From: p.Version})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Arch < out[j].Arch
	})
	return out
}

// ReleaseLockTargets are the profiles, distros and architectures a
// release file's matrix builds, each once, and its lockfile.
func ReleaseLockTargets(path string) (string, []LockTarget, error) {
	f, ims, err := releaseUsage(path, "")
	if err != nil {
		return "", nil, err
	}
	var out []LockTarget
	seen := map[string]bool{}
	for _, im := range ims {
		profile, pf, err := profileOf(im)
		if err != nil {
			return "", nil, err
		}
		for _, arch := range im.Platforms {
			k := lockfile.SetKey(profile, im.Distro, arch)
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, LockTarget{Profile: profile, ProfileFile: pf, Distro: im.Distro, Platforms: []string{arch}})
		}
	}
	return f.LockPath(), out, nil
}

// SecurityChanges counts the changes from a security suite.
func (r *LockUpdateResult) SecurityChanges() int {
	n := 0
	for _, im := range r.Images {
		n += len(slices.DeleteFunc(slices.Clone(im.Changes), func(c PackageChange) bool { return !c.Security }))
	}
	return n
}

// describe is one change as a line: NAME FROM → TO [security].
func (c PackageChange) describe() string {
	switch {
	case c.From == "":
		return fmt.Sprintf("+ %s %s", c.Name, c.To)
	case c.To == "":
		return fmt.Sprintf("- %s %s", c.Name, c.From)
	}
	s := fmt.Sprintf("  %s %s → %s", c.Name, c.From, c.To)
	if c.Security {
		s += "  [security]"
	}
	return s
}

// Text is the lock update's report: per image, its status and each
// package that changed.
func (r *LockUpdateResult) Text() string {
	var b strings.Builder
	for _, im := range r.Images {
		switch im.Status {
		case "unchanged":
			fmt.Fprintf(&b, "%s on %s (%s): unchanged\n", im.Profile, im.Distro, im.Arch)
		case "removed":
			fmt.Fprintf(&b, "%s on %s (%s): removed (no longer in the release)\n", im.Profile, im.Distro, im.Arch)
		case "new":
			fmt.Fprintf(&b, "%s on %s (%s): new, %d packages locked\n", im.Profile, im.Distro, im.Arch, len(im.Changes))
		default:
			sec := 0
			for _, c := range im.Changes {
				if c.Security {
					sec++
				}
			}
			fmt.Fprintf(&b, "%s on %s (%s): %d packages changed", im.Profile, im.Distro, im.Arch, len(im.Changes))
			if sec > 0 {
				fmt.Fprintf(&b, ", %d from the security suite", sec)
			}
			b.WriteString("\n")
			for _, c := range im.Changes {
				b.WriteString("  " + c.describe() + "\n")
			}
		}
	}
	return b.String()
}
