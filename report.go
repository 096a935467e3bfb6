package distroless

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Size formats a byte count for people (decimal units).
func Size(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// Totals returns the download and installed sizes of the closure.
func (r *Resolution) Totals() (download, installed int64) {
	for _, s := range r.Result.Packages {
		download += s.Pkg.Size
		installed += s.Pkg.InstalledSize
	}
	return
}

func (r *Resolution) why(chain []string, noDeps bool) string {
	s := strings.Join(chain, " → ")
	if noDeps {
		s += " (files only)"
	}
	return s
}

// WriteTable prints the closure, one row per package, and the pruned
// packages (with reasons when explain is set).
func (r *Resolution) WriteTable(w io.Writer, explain bool) error {
	dl, inst := r.Totals()
	fmt.Fprintf(w, "# %s on %s (%s): %d packages, %s to download, %s installed\n",
		r.Plan.Name, r.Distro.Name, r.Arch, len(r.Result.Packages), Size(dl), Size(inst))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tARCH\tDOWNLOAD\tINSTALLED\tLAYER\tWHY")
	for _, s := range r.Result.Packages {
		p := s.Pkg
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Version, p.Arch, Size(p.Size), Size(p.InstalledSize),
			r.Result.Levels[s.Level].Name, r.why(s.Chain, s.NoDeps))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Result.Pruned) == 0 {
		return nil
	}
	if !explain {
		var names []string
		for _, p := range r.Result.Pruned {
			names = append(names, p.Name)
		}
		_, err := fmt.Fprintf(w, "# pruned %d: %s (--explain-pruned says why)\n", len(names), strings.Join(names, ", "))
		return err
	}
	fmt.Fprintf(w, "\n# pruned: %d\n", len(r.Result.Pruned))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PRUNED\tNEEDED BY\tREASON")
	for _, p := range r.Result.Pruned {
		name := p.Name
		if p.Virtual {
			name += " (virtual)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, strings.Join(p.NeededBy, ", "), p.Reason)
	}
	return tw.Flush()
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
}

// JSON returns the JSON form of a resolution.
func (r *Resolution) JSON() *JSONResolution {
	dl, inst := r.Totals()
	out := &JSONResolution{Profile: r.Plan.Name, Requested: r.Plan.Requested, Distro: r.Distro.Name, Arch: r.Arch,
		Size: dl, InstalledSize: inst, Packages: []JSONPackage{}, Pruned: []JSONPruned{}}
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
	return out
}

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
