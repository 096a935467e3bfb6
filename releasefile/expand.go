package releasefile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// DistroVars are what tag templates may say of a distro.
type DistroVars struct {
	Tag      string // {distro}: debian13
	ID       string // {distro_id}: debian
	Version  string // {distro_version}: 13
	Codename string // {codename}: trixie
}

// Env is what Expand needs besides the file.
type Env struct {
	// Distro says what the tag templates may say of a distro the file
	// names (an error for an unknown distro).
	Distro func(name string) (DistroVars, error)
	Date   string // {date}, e.g. 20260601
}

// Variant is the GD-style variant name of a user and debug setting:
// latest (root), nonroot, debug, debug-nonroot, and for a numeric UID N,
// N and debug-N.
func Variant(user string, debug bool) string {
	v := user
	if user == "root" {
		v = "latest"
	}
	if debug {
		if user == "root" {
			return "debug"
		}
		return "debug-" + v
	}
	return v
}

// Expand makes the matrix concrete: for each image entry, in order, each
// distro × user × debug setting, with its platforms and tags. Two images
// given the same tag are an error, as is a tag that is not a valid
// reference once filled in.
func Expand(f *File, env Env) ([]Image, error) {
	var out []Image
	type owned struct {
		im    Image
		entry int
	}
	owner := map[string]owned{}
	for ei, e := range f.Images {
		ax := e.Axes.over(f.Defaults)
		for _, dn := range ax.Distros {
			dv, err := env.Distro(dn)
			if err != nil {
				return nil, fmt.Errorf("release file %s: line %d: distro %s: %w", f.Path, e.Axes.lineOf("distros", f.Defaults, e.Line), dn, err)
			}
			for _, debug := range ax.Debug {
				for _, user := range ax.Users {
					im := Image{Name: e.Name, Distro: dn, Platforms: slices.Clone(ax.Platforms), User: user, Debug: debug,
						Variant: Variant(user, debug), Line: e.Line, Settings: e.Settings.Over(f.Settings), App: e.App.withPaths(f)}
					if e.File != "" {
						im.ProfileFile = f.rel(e.File)
					} else {
						im.Profile = e.Profile
						if debug {
							im.Profile += "-debug"
						}
					}
					vars := map[string]string{
						"registry": f.Registry, "name": e.Name, "profile": e.Profile, "distro": dv.Tag,
						"distro_id": dv.ID, "distro_version": dv.Version, "codename": dv.Codename,
						"variant": im.Variant, "user": user, "date": env.Date,
					}
					if e.File != "" {
						vars["profile"] = e.Name
					}
					for _, t := range ax.Tags {
						ref, err := fill(t, vars)
						if err != nil {
							return nil, fmt.Errorf("release file %s: line %d: image %s: %w", f.Path, e.Axes.lineOf("tags", f.Defaults, e.Line), im.Key(), err)
						}
						if o, ok := owner[ref]; ok {
							prev := o.im
							if o.entry == ei && prev.Variant == im.Variant && prev.Distro == im.Distro {
								continue // two templates giving one tag: once is enough
							}
							return nil, fmt.Errorf("release file %s: line %d: tag %s is given to both %s (line %d) and %s; add {variant}, {distro} or {name} to the tag templates",
								f.Path, im.Line, ref, prev.Key(), prev.Line, im.Key())
						}
						owner[ref] = owned{im, ei}
						im.Tags = append(im.Tags, ref)
					}
					out = append(out, im)
				}
			}
		}
	}
	return out, nil
}

// fill substitutes a template's placeholders and checks the reference.
func fill(t string, vars map[string]string) (string, error) {
	var missing []string
	ref := placeholderRE.ReplaceAllStringFunc(t, func(m string) string {
		k := m[1 : len(m)-1]
		v := vars[k]
		if v == "" {
			missing = append(missing, m)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("tag template %q: %s empty here", t, strings.Join(missing, ", "))
	}
	if _, err := name.NewTag(ref, name.StrictValidation); err != nil {
		return "", fmt.Errorf("tag template %q gives %q, which is not a registry reference REGISTRY/REPOSITORY:TAG: %v", t, ref, err)
	}
	return ref, nil
}

// over returns a's settings, each defaulting to d's, then to the built-in
// defaults (debian:trixie, amd64, nonroot, plain, DefaultTags).
func (a Axes) over(d Axes) Axes {
	pick := func(x, y, z []string) []string {
		if len(x) > 0 {
			return x
		}
		if len(y) > 0 {
			return y
		}
		return z
	}
	out := Axes{
		Distros:   pick(a.Distros, d.Distros, []string{"debian:trixie"}),
		Platforms: pick(a.Platforms, d.Platforms, []string{"amd64"}),
		Users:     pick(a.Users, d.Users, []string{"nonroot"}),
		Tags:      pick(a.Tags, d.Tags, DefaultTags),
		Debug:     a.Debug,
	}
	if len(out.Debug) == 0 {
		out.Debug = d.Debug
	}
	if len(out.Debug) == 0 {
		out.Debug = []bool{false}
	}
	return out
}

// lineOf is the line that gave setting k for an entry: its own, else the
// file's, else the entry's.
func (a Axes) lineOf(k string, d Axes, entry int) int {
	if l := a.lines[k]; l > 0 {
		return l
	}
	if l := d.lines[k]; l > 0 {
		return l
	}
	return entry
}
