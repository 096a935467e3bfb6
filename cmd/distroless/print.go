package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/distroless-dev/distroless/internal/units"
	"github.com/distroless-dev/distroless/pipeline"
)

// isTerminal reports whether f is a terminal (for progress display); a
// character device that is not a terminal, such as /dev/null, is not.
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

// formatSize formats a byte count for people, in the units every
// message uses (internal/units).
func formatSize(n int64) string { return units.Size(n) }

func whyChain(chain []string, noDeps bool) string {
	s := strings.Join(chain, " → ")
	if noDeps {
		s += " (files only)"
	}
	return s
}

// writeTable prints the closure, one row per package, and the pruned
// packages (with reasons when explain is set), and with choices set the
// choices the resolver made.
func writeTable(w io.Writer, r *pipeline.Resolution, explain, choices bool) error {
	dl, inst := r.Totals()
	fmt.Fprintf(w, "# %s on %s (%s): %d packages, %s to download, %s installed\n",
		r.Plan.Name, r.Distro.Name, r.Arch, len(r.Result.Packages), formatSize(dl), formatSize(inst))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tARCH\tDOWNLOAD\tINSTALLED\tLAYER\tWHY")
	for _, s := range r.Result.Packages {
		p := s.Pkg
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Version, p.Arch, formatSize(p.Size), formatSize(p.InstalledSize),
			r.Result.Levels[s.Level].Name, whyChain(s.Chain, s.NoDeps))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if choices {
		cs := r.JSON().Choices
		fmt.Fprintf(w, "\n# choices: %d (candidates in the order tried: smallest added closure first)\n", len(cs))
		for _, c := range cs {
			writeChoice(w, c)
		}
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

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeProfiles prints the profile list as a table.
func writeProfiles(w io.Writer, infos []pipeline.ProfileInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tEXTENDS\tDEFAULT DISTRO\tDESCRIPTION")
	var notes []string
	for _, in := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", in.Name, in.Extends, in.Distro, in.Description)
		if len(in.Variants) > 0 {
			fmt.Fprintf(tw, "\t\t\t  %s\n", strings.Join(in.Variants, ", "))
		}
		notes = in.Notes
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintf(w, "# %s\n", n)
	}
	return nil
}

// writeWhy prints a WhyResult for people.
func writeWhy(w io.Writer, res *pipeline.WhyResult) error {
	if p := res.Pruned; p != nil {
		_, err := fmt.Fprintf(w, "%s is pruned from %s on %s: %s\nrequired by: %s\n", res.Package, res.Profile, res.Distro,
			p.Reason, strings.Join(p.NeededBy, ", "))
		return err
	}
	if res.Layer == "" {
		fmt.Fprintf(w, "%s is not in %s on %s; it was a candidate of:\n", res.Package, res.Profile, res.Distro)
	} else {
		fmt.Fprintf(w, "%s is in %s on %s (layer %s):\n", res.Package, res.Profile, res.Distro, res.Layer)
		for _, c := range res.Chains {
			fmt.Fprintf(w, "  %s\n", strings.Join(c, " → "))
		}
		if len(res.Choices) > 0 {
			fmt.Fprintf(w, "chosen among candidates:\n")
		}
	}
	for _, c := range res.Choices {
		writeChoice(w, c)
	}
	return nil
}

// writeChoice prints one choice: the requirement, who required it, and
// every candidate with the closure it would have added.
func writeChoice(w io.Writer, c pipeline.JSONChoice) {
	by := "(root)"
	if len(c.RequiredBy) > 0 {
		by = strings.Join(c.RequiredBy, " → ")
	}
	why := ""
	if c.Why != "" {
		why = ": " + c.Why
	}
	fmt.Fprintf(w, "  %s, required by %s (layer %s): took %s%s\n", c.Dep, by, c.Layer, c.Chosen, why)
	for _, o := range c.Options {
		mark := " "
		if o.Name == c.Chosen {
			mark = "*"
		}
		switch {
		case o.Rejected != "":
			fmt.Fprintf(w, "    %s %s: %s\n", mark, o.Name, o.Rejected)
		case o.Pruned:
			fmt.Fprintf(w, "    %s %s: pruned, adds nothing\n", mark, o.Name)
		default:
			fmt.Fprintf(w, "    %s %s %s: adds %s installed in %d packages\n", mark, o.Name, o.Version, formatSize(o.AddedSize), o.AddedPackages)
		}
	}
}
