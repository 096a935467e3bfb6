package main

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/distroless-dev/distroless"
	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/pipeline"
)

// ExitLockChanged is lock update's exit status when a package changed
// (the lockfile was written): a pipeline rebuilds then.
const ExitLockChanged = 3

// exitStatus ends the command with a status other than 0, 1 and 2, and
// no message.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newRelease(opts *pipeline.Options) *cobra.Command {
	r := &distroless.ReleaseOptions{}
	var asJSON, quiet bool
	var bf buildFlags
	var sf shardFlags
	c := &cobra.Command{
		Use:   "release FILE.yaml [--dry-run] [--json]",
		Short: "Build every image of a release file, push each to all its tags, and print every reference and digest",
		Long: `Build the matrix of a release file (images × distros × platforms × users ×
debug variants) in one process, push each image to all its tags, and print a
table of every reference and digest. The release's lockfile pins every image's
packages (images it lacks are resolved and added); "distroless lock update
--release FILE.yaml" moves it on. An image whose digest every tag already holds
is not pushed again; --dry-run says what would be pushed. Each platform image
gets its SBOM and SLSA provenance as referrers, and with --sign-key cosign
signatures and attestations, as gen gives them.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &usageError{fmt.Errorf("release takes one release file, got %d arguments; usage: %s", len(args), cmd.UseLine())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Distro != "" || len(opts.Platforms) > 0 {
				return &usageError{fmt.Errorf("release takes its distros and platforms from the release file, not --distro or --arch")}
			}
			r.Options = *opts
			if r.Sandbox.Wall <= 0 {
				return &usageError{fmt.Errorf("--sandbox-timeout %v: want a positive duration such as 30m", r.Sandbox.Wall)}
			}
			if err := bf.apply(&r.GenOptions); err != nil {
				return err
			}
			if done, err := sf.apply(cmd, args[0], r); done || err != nil {
				return err
			}
			// Recorded in each image's provenance: the invocation without
			// the flags that change only what is printed or whether
			// anything is pushed, so that a run of the same release gives
			// the same attachments.
			r.Argv = releaseArgv(os.Args[1:])
			endProgress := func() {}
			if !quiet && (!asJSON || isTerminal(os.Stderr)) {
				r.Progress, endProgress = progressPrinter(os.Stderr)
			}
			res, err := distroless.Release(cmd.Context(), args[0], *r)
			endProgress()
			if err != nil {
				return err
			}
			for _, im := range res.Images {
				for _, w := range im.Warnings {
					fmt.Fprintf(os.Stderr, "warning: %s (%s, %s): %s\n", im.Name, im.Distro, im.Variant, fieldsAsFlags(w))
				}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			return writeRelease(cmd.OutOrStdout(), res)
		},
	}
	c.Flags().BoolVar(&r.DryRun, "dry-run", false, "build and compare, but push nothing and write no lockfile; the table says what would be pushed")
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object (every image with its digest, tags and status)")
	c.Flags().StringVar(&r.Date, "date", "", "{date} in tag templates (default: today, UTC, as YYYYMMDD)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress lines (the table, warnings and errors are still printed)")
	bf.register(c, "sign every image and its attestations in cosign's format with this key: ECDSA P-256 PEM, or a cosign key file (password in $COSIGN_PASSWORD)",
		"format of the SBOM attached to each platform image: spdx (SPDX 2.3 JSON) or cyclonedx (CycloneDX 1.6 JSON)",
		"refuse an image whose packages' files come to more than this in all (default 2GiB)")
	c.Flags().StringVar(&r.BuilderID, "builder-id", "", "the SLSA builder id the provenance names (default "+attest.DefaultBuilderID+")")
	registryFlags(c, &r.Registry)
	c.Flags().DurationVar(&r.Sandbox.Wall, "sandbox-timeout", assemble.DefaultSandboxLimits.Wall, "longest a program of an image (the Python compiler) may run in the build's sandbox before it is killed and the release fails")
	sf.register(c)
	return c
}

// writeRelease prints one row per reference: the reference, the digest
// it holds, and whether this run pushed it.
func writeRelease(w io.Writer, res *distroless.ReleaseResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REFERENCE\tDIGEST\tSTATUS")
	pushed, unchanged, would := 0, 0, 0
	for _, im := range res.Images {
		set := map[string]bool{}
		for _, t := range im.Pushed {
			set[t] = true
		}
		if len(im.Tags) == 0 && len(im.Platforms) == 1 {
			// A shard's platform image: pushed by digest, no tag yet.
			fmt.Fprintf(tw, "%s:%s %s\t%s\t%s\n", im.Name, im.Variant, pipeline.PlatformName(im.Platforms[0]), im.Digest, im.Status)
		}
		for _, t := range im.Tags {
			st := "unchanged"
			if set[t] {
				st = im.Status // pushed or would push
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t, im.Digest, st)
		}
		switch im.Status {
		case "pushed":
			pushed++
		case "would push":
			would++
		default:
			unchanged++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	msg := fmt.Sprintf("# %d images: %d pushed, %d unchanged", len(res.Images), pushed, unchanged)
	if would > 0 {
		msg = fmt.Sprintf("# %d images: %d would be pushed, %d unchanged (dry run)", len(res.Images), would, unchanged)
	}
	if len(res.Locked) > 0 {
		msg += fmt.Sprintf("; %d locked in %s", len(res.Locked), res.Lock)
	}
	_, err := fmt.Fprintln(w, msg)
	return err
}

func newLock(opts *pipeline.Options) *cobra.Command {
	c := &cobra.Command{Use: "lock", Short: "Update lockfiles", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return &usageError{fmt.Errorf("lock takes a subcommand: update")}
		}}
	var release, lock string
	var asJSON, dryRun bool
	var pf profileFlags
	u := &cobra.Command{
		Use:   "update (--release FILE.yaml | PROFILE... --lock FILE)",
		Short: "Re-resolve locked images and print which packages changed; exit 3 when something did",
		Long: `Re-resolve every image of a release file (--release) or the PROFILEs named
(with --distro and --arch) against the distros' current indexes, print per
image which packages changed from which version to which (those from the
Debian security suite marked [security]), and write the updated lockfile
(temporary file and rename).

Exit status: 0 when nothing changed, 3 when something did (the lockfile was
written), 1 on an error, 2 on a usage error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := pf.sortFiles(false); err != nil {
				return err
			}
			o := *opts
			var targets []distroless.LockTarget
			path := lock
			prune := false
			switch {
			case release != "" && (len(args) > 0 || pf.file != ""):
				return &usageError{fmt.Errorf("give --release FILE or PROFILEs, not both")}
			case release != "":
				if opts.Distro != "" || len(opts.Platforms) > 0 {
					return &usageError{fmt.Errorf("--release takes its distros and platforms from the release file, not --distro or --arch")}
				}
				if lock != "" {
					return &usageError{fmt.Errorf("--release updates the lockfile the release file names; drop --lock")}
				}
				var err error
				if path, targets, err = distroless.ReleaseLockTargets(release); err != nil {
					return err
				}
				prune = true
			default:
				if lock == "" {
					return &usageError{fmt.Errorf("lock update PROFILE... needs --lock FILE (the lockfile to update), or --release FILE.yaml; usage: %s", cmd.UseLine())}
				}
				if len(args) == 0 && pf.file == "" {
					return &usageError{fmt.Errorf("name at least one PROFILE (or -f FILE); usage: %s", cmd.UseLine())}
				}
				if len(pf.add) > 0 || len(pf.exclude) > 0 {
					return &usageError{fmt.Errorf("lock update takes no --add or --exclude")}
				}
				if pf.file != "" {
					p, err := pipeline.LoadProfileFile(pf.file)
					if err != nil {
						return err
					}
					targets = append(targets, distroless.LockTarget{ProfileFile: p, Distro: o.Distro, Platforms: o.Platforms})
				}
				for _, a := range args {
					if pf.debug {
						a += "-debug"
					}
					targets = append(targets, distroless.LockTarget{Profile: a, Distro: o.Distro, Platforms: o.Platforms})
				}
			}
			res, err := distroless.UpdateLock(cmd.Context(), path, targets, prune, dryRun, o)
			if err != nil {
				return err
			}
			if asJSON {
				err = writeJSON(cmd.OutOrStdout(), res)
			} else {
				_, err = io.WriteString(cmd.OutOrStdout(), res.Text())
			}
			if err != nil {
				return err
			}
			if res.Changed {
				switch {
				case dryRun:
					fmt.Fprintf(os.Stderr, "%s would change (dry run: not written)\n", path)
				default:
					fmt.Fprintf(os.Stderr, "wrote %s\n", path)
				}
				return &exitStatus{ExitLockChanged}
			}
			return nil
		},
	}
	f := u.Flags()
	f.StringVar(&release, "release", "", "update the lockfile of this release file (every image of its matrix)")
	f.StringVar(&lock, "lock", "", "the lockfile to update (with PROFILEs); written when it does not exist")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.BoolVar(&dryRun, "dry-run", false, "print the changes, write nothing (the exit status still says whether something changed)")
	pf.register(u)
	c.AddCommand(u)
	return c
}
