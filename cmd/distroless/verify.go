package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/distroless-dev/distroless"
	"github.com/distroless-dev/distroless/pipeline"
)

func newVerify(opts *pipeline.Options) *cobra.Command {
	v := &distroless.VerifyOptions{}
	var asJSON, quiet bool
	c := &cobra.Command{
		Use:   "verify REF [--key cosign.pub]",
		Short: "Rebuild an image from its provenance and compare digests; print what differs",
		Long: `Read an image (REGISTRY/REPOSITORY:TAG, …@sha256:…, or oci:DIR:TAG) and the
SLSA provenance of each of its platform images, rebuild each from what the
provenance records (the pinned packages and index files, the profile, the
distro, the user) and compare digests. With --key the image's signatures and
attestations must verify with the public key first, and the provenance is the
signed one. On a mismatch it prints what differs, layer by layer, then file by
file, then the config's fields, and exits 1. --mirror (a snapshot mirror)
replaces the mirror of every package the provenance pins.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &usageError{fmt.Errorf("verify takes one image reference, got %d arguments; usage: %s", len(args), cmd.UseLine())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Distro != "" || len(opts.Platforms) > 0 {
				return &usageError{fmt.Errorf("verify takes the distro and platform from the provenance, not --distro or --arch")}
			}
			v.Options = *opts
			v.Mirror = opts.Mirrors.Archive
			endProgress := func() {}
			if !quiet && !asJSON {
				v.Progress, endProgress = progressPrinter(os.Stderr)
			}
			res, err := distroless.Verify(cmd.Context(), args[0], *v)
			endProgress()
			if err != nil {
				return err
			}
			if asJSON {
				err = writeJSON(cmd.OutOrStdout(), res)
			} else {
				err = writeVerify(cmd.OutOrStdout(), res)
			}
			if err != nil {
				return err
			}
			if !res.OK {
				bad := 0
				for _, p := range res.Platforms {
					if !p.Match {
						bad++
					}
				}
				return fmt.Errorf("%s: %d of %d platform images differ from their rebuild", res.Ref, bad, len(res.Platforms))
			}
			return nil
		},
	}
	c.Flags().StringVar(&v.Key, "key", "", "public key (cosign.pub, PEM) the signature and attestations must verify with")
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object (each platform image, its rebuild's digest, the differences)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress lines")
	registryFlags(c, &v.Registry)
	return c
}

func writeVerify(w io.Writer, res *distroless.VerifyResult) error {
	signed := ""
	if res.Signed {
		signed = " (signature and attestations verified)"
	}
	fmt.Fprintf(w, "%s %s%s\n", res.Ref, res.Digest, signed)
	for _, p := range res.Platforms {
		if p.Match {
			fmt.Fprintf(w, "%s %s: rebuilt to the same digest\n", p.Platform, p.Digest)
			continue
		}
		fmt.Fprintf(w, "%s %s: rebuilt to %s\n", p.Platform, p.Digest, p.Rebuilt)
		for _, d := range p.Differences {
			fmt.Fprintf(w, "  %s\n", d)
		}
	}
	_, err := fmt.Fprintln(w, map[bool]string{true: "OK", false: "DIFFERS"}[res.OK])
	return err
}
