package pipeline

import "github.com/distroless-dev/distroless/resolver"

// Totals returns the download and installed sizes of the closure.
func (r *Resolution) Totals() (download, installed int64) {
	for _, s := range r.Result.Packages {
		download += s.Pkg.Size
		installed += s.Pkg.InstalledSize
	}
	return
}

// JSONPackage is one closure row in JSON output.
type JSONPackage struct {
	Name          string   `json:"name"`
	Version       string   `json:"version"`
	Arch          string   `json:"arch"`
	Size          int64    `json:"size"`
	InstalledSize int64    `json:"installed_size"`
	Layer         string   `json:"layer"`
	FilesOnly     bool     `json:"files_only,omitempty"`
	Why           []string `json:"why"`
	SHA256        string   `json:"sha256"`
	Origin        string   `json:"origin"`
}

// JSONPruned is one pruned package in JSON output.
type JSONPruned struct {
	Name     string   `json:"name"`
	Virtual  bool     `json:"virtual,omitempty"`
	Reason   string   `json:"reason"`
	NeededBy []string `json:"needed_by"`
}

// JSONResolution is the JSON form of a resolution.
type JSONResolution struct {
	Profile       string        `json:"profile"`
	Requested     string        `json:"requested"`
	Distro        string        `json:"distro"`
	Arch          string        `json:"arch"`
	Layers        []string      `json:"layers"`
	Size          int64         `json:"size"`
	InstalledSize int64         `json:"installed_size"`
	Packages      []JSONPackage `json:"packages"`
	Pruned        []JSONPruned  `json:"pruned"`
	Choices       []JSONChoice  `json:"choices"`
}

// JSONChoice is a requirement more than one candidate could meet, and
// how it was decided: the options in the order tried, smallest added
// closure first.
type JSONChoice struct {
	Dep        string       `json:"dep"`
	RequiredBy []string     `json:"required_by"`
	Layer      string       `json:"layer"`
	Chosen     string       `json:"chosen"`
	Why        string       `json:"why,omitempty"` // why chosen over the others
	Options    []JSONOption `json:"options"`
}

// JSONOption is one candidate of a choice, with the installed size and
// the number of packages it would have added.
type JSONOption struct {
	Name          string `json:"name"`
	Version       string `json:"version,omitempty"`
	Pruned        bool   `json:"pruned,omitempty"`
	Priority      int    `json:"priority,omitempty"` // 1 most wanted; 0 none
	AddedSize     int64  `json:"added_installed_size"`
	AddedPackages int    `json:"added_packages"`
	Rejected      string `json:"rejected,omitempty"`
}

// jsonChoice is the JSON form of a resolver choice.
func jsonChoice(c *resolver.Choice, levels []resolver.Level) JSONChoice {
	j := JSONChoice{Dep: c.Dep, RequiredBy: c.From, Chosen: c.Chosen, Why: c.Why, Options: []JSONOption{}}
	if j.RequiredBy == nil {
		j.RequiredBy = []string{}
	}
	if c.Level >= 0 && c.Level < len(levels) {
		j.Layer = levels[c.Level].Name
	}
	for _, o := range c.Options {
		j.Options = append(j.Options, JSONOption{Name: o.Name, Version: o.Version, Pruned: o.Pruned, Priority: o.Priority,
			AddedSize: o.Added, AddedPackages: o.Packages, Rejected: o.Rejected})
	}
	return j
}

// JSON returns the JSON form of a resolution.
func (r *Resolution) JSON() *JSONResolution {
	dl, inst := r.Totals()
	out := &JSONResolution{Profile: r.Plan.Name, Requested: r.Plan.Requested, Distro: r.Distro.Name, Arch: r.Arch,
		Size: dl, InstalledSize: inst, Packages: []JSONPackage{}, Pruned: []JSONPruned{}, Choices: []JSONChoice{}}
	for _, l := range r.Result.Levels {
		out.Layers = append(out.Layers, l.Name)
	}
	for _, s := range r.Result.Packages {
		p := s.Pkg
		out.Packages = append(out.Packages, JSONPackage{Name: p.Name, Version: p.Version, Arch: p.Arch, Size: p.Size,
			InstalledSize: p.InstalledSize, Layer: r.Result.Levels[s.Level].Name, FilesOnly: s.NoDeps, Why: s.Chain,
			SHA256: p.SHA256, Origin: p.Origin})
	}
	for _, p := range r.Result.Pruned {
		out.Pruned = append(out.Pruned, JSONPruned{Name: p.Name, Virtual: p.Virtual, Reason: p.Reason, NeededBy: p.NeededBy})
	}
	for _, c := range r.Result.Choices {
		out.Choices = append(out.Choices, jsonChoice(c, r.Result.Levels))
	}
	return out
}
