package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/profiles"
)

// ProfileInfo describes a built-in profile for `distroless profiles`.
type ProfileInfo struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Extends     string   `json:"extends,omitempty"`
	Distro      string   `json:"distro"`          // what gen picks without --distro
	Variants    []string `json:"variants"`        // for templates: "python3.11 (debian:bookworm)"
	Notes       []string `json:"notes,omitempty"` // distros whose index could not be read, and what that means for gen
}

// ListProfiles describes the built-in profiles. For templates and aliases
// it reads each built-in distro's index to say which distro gen picks.
func ListProfiles(ctx context.Context, o Options) ([]ProfileInfo, error) {
	type opened struct {
		d   *distro.Distro
		ix  distro.Index
		err error
	}
	if err := CheckArch(o.Platforms); err != nil {
		return nil, err
	}
	var ds []opened
	for _, d := range distro.Builtins() {
		ix, _, _, err := o.OpenIndex(ctx, d)
		ds = append(ds, opened{d: d, ix: ix, err: err})
	}
	var notes []string
	firstUnread := -1
	for i, od := range ds {
		if od.err != nil {
			notes = append(notes, fmt.Sprintf("%s not read: %v", od.d.Name, od.err))
			if firstUnread < 0 {
				firstUnread = i
			}
		}
	}
	// gen, choosing a distro, stops at the first one it cannot read: what
	// only later distros package needs --distro until then.
	where := func(i int) string {
		if firstUnread >= 0 && i > firstUnread {
			return fmt.Sprintf("%s, only with --distro while %s is not read", ds[i].d.Name, ds[firstUnread].d.Name)
		}
		return ds[i].d.Name
	}
	if firstUnread >= 0 {
		notes = append(notes, fmt.Sprintf("without --distro, a profile that no distro before %s packages fails there: gen never skips a distro it cannot read", ds[firstUnread].d.Name))
	}
	var out []ProfileInfo
	for _, p := range profiles.Builtins() {
		info := ProfileInfo{Name: p.Name, Description: p.Description, Extends: p.Extends, Variants: []string{}, Notes: notes}
		switch {
		case p.Variant != "":
			info.Name = "PROFILE" + p.Variant
			info.Distro = "that of PROFILE"
		case p.Template != nil:
			info.Name = strings.ReplaceAll(p.Name, "{"+p.Template.Var+"}", "X")
			info.Description = strings.ReplaceAll(p.Description, "{"+p.Template.Var+"}", "X")
			seen := map[string]bool{}
			for i, od := range ds {
				if od.err != nil {
					continue
				}
				for _, v := range p.Available(od.ix) {
					name := strings.ReplaceAll(p.Name, "{"+p.Template.Var+"}", v)
					if pf, _, err := profiles.FindFor(name, od.d.Format); err != nil || pf != p {
						continue // another format's template serves this distro
					}
					if !seen[name] {
						seen[name] = true
						info.Variants = append(info.Variants, fmt.Sprintf("%s (%s)", name, where(i)))
					}
				}
			}
			info.Distro = "the first built-in distro that packages the version"
		default:
			info.Distro = distro.Default().Name
			// A profile for one package format: the first built-in distro of it.
			if p.Format != "" && p.Format != distro.Default().Format {
				for _, d := range distro.Builtins() {
					if d.Format == p.Format {
						info.Distro = d.Name
						break
					}
				}
			}
			// A profile for some distros only: the first built-in one of them.
			if len(p.Distros) > 0 && !slices.Contains(p.Distros, info.Distro) {
				for _, d := range distro.Builtins() {
					if slices.Contains(p.Distros, d.Name) {
						info.Distro = d.Name
						break
					}
				}
			}
			if p.Alias != "" {
				for i, od := range ds {
					if od.err != nil {
						continue
					}
					if plan, err := profiles.Expand(p.Name, od.ix, od.d.Format, od.d.Name); err == nil {
						info.Variants = append(info.Variants, fmt.Sprintf("%s (%s)", plan.Name, where(i)))
					}
				}
			}
		}
		if p.Format != "" {
			info.Name += " (" + p.Format + ")"
		}
		out = append(out, info)
	}
	return out, nil
}
