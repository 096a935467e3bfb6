package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/pipeline"
	"github.com/distroless-dev/distroless/profiles"
)

// newVersion is `distroless version`, which prints what --version does.
func newVersion(root *cobra.Command) *cobra.Command {
	return &cobra.Command{Use: "version", Short: "Print the version", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "distroless %s\n", root.Version)
			return err
		}}
}

// registerCompletions adds shell completion (cobra's completion command)
// of profile names, distro names and platforms.
func registerCompletions(root *cobra.Command) {
	must := func(err error) {
		if err != nil {
			panic(err) // a flag name mistyped here: a programming error
		}
	}
	must(root.RegisterFlagCompletionFunc("distro", completeDistros))
	must(root.RegisterFlagCompletionFunc("platform", completeArchs(pipeline.PlatformName)))
	must(root.RegisterFlagCompletionFunc("arch", completeArchs(func(a string) string { return a })))
	for _, c := range root.Commands() {
		switch c.Name() {
		case "gen", "resolve", "why":
			c.ValidArgsFunction = completeProfileArg
			must(c.MarkFlagFilename("file", "yaml", "yml"))
		case "lock":
			for _, u := range c.Commands() {
				if u.Name() == "update" {
					u.ValidArgsFunction = func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
						return profileNames(toComplete), cobra.ShellCompDirectiveNoFileComp
					}
				}
			}
		}
	}
}

// completeProfileArg completes the PROFILE argument (none with -f; why's
// PACKAGE after it is not completed).
func completeProfileArg(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 || cmd.Flags().Changed("file") {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return profileNames(toComplete), cobra.ShellCompDirectiveNoFileComp
}

// profileNames are the built-in profiles' names starting with prefix, each
// with its description.
func profileNames(prefix string) []cobra.Completion {
	var out []cobra.Completion
	var seen []string
	for _, p := range profiles.Builtins() {
		if p.Template != nil || p.Variant != "" || slices.Contains(seen, p.Name) || !strings.HasPrefix(p.Name, prefix) {
			continue
		}
		seen = append(seen, p.Name)
		out = append(out, cobra.CompletionWithDesc(p.Name, p.Description))
	}
	return out
}

// completeDistros completes --distro with the built-in distros; a value
// that looks like a path completes as a file (a distro file).
func completeDistros(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if strings.ContainsAny(toComplete, "/.") {
		return []cobra.Completion{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
	}
	var out []cobra.Completion
	for _, d := range distro.Builtins() {
		if strings.HasPrefix(d.Name, toComplete) {
			out = append(out, d.Name)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeArchs completes a comma-separated list of architectures, each
// named by name (its platform or its OCI name): the last item.
func completeArchs(name func(string) string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		prefix, last := "", toComplete
		if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
			prefix, last = toComplete[:i+1], toComplete[i+1:]
		}
		var out []cobra.Completion
		for _, a := range pipeline.Architectures {
			if n := name(a); strings.HasPrefix(n, last) && !slices.Contains(strings.Split(prefix, ","), n) {
				out = append(out, prefix+n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}
