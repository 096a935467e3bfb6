// Command distroless generates distroless container images from real
// Debian package indexes and RPM repositories. It maps flags onto the
// distroless library.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/pipeline"
	"github.com/distroless-dev/distroless/publish"
)

// softMemoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT
// sets one: the garbage collector then keeps the heap near what is live
// (the distro index while resolving, a few decoded xz blocks while
// unpacking) instead of letting it double, which bounds peak RSS without
// slowing a build (cold java25 on 2 cores: 9.3 s and 179 MB peak RSS with it,
// 9.2 s and 270 to 295 MB without).
const softMemoryLimit = 120 << 20

func main() {
	// A sandbox child (an image's program about to run) goes no further.
	assemble.SandboxMain()
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile := startProfile()
	err := newRoot().ExecuteContext(ctx)
	stopProfile()
	if err != nil {
		var es *exitStatus
		if errors.As(err, &es) {
			os.Exit(es.code)
		}
		fmt.Fprintln(os.Stderr, "distroless:", withFlags(err))
		var ue *usageError
		var lue *pipeline.UsageError
		if errors.As(err, &ue) || errors.As(err, &lue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

func newRoot() *cobra.Command {
	opts := &pipeline.Options{Log: os.Stderr}
	root := &cobra.Command{
		Use:           "distroless",
		Short:         "Generate minimal, shell-less, reproducible container images from Debian or RPM packages",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err} })
	root.Version = versionString()
	root.SetVersionTemplate("distroless {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&opts.Distro, "distro", "", "distro to build from: a built-in one (debian:trixie, debian:bookworm, debian:sid, rocky:9, almalinux:9, ubi:9, fedora:44) or a distro file (FILE.yaml); default: the first built-in one that packages the profile, preferring Debian stable; one that cannot be read or verified before it is an error, never skipped")
	pf.StringVar(&opts.Keyring, "keyring", "", "file of the distro's signing keys (OpenPGP, armored or binary), instead of the built-in or downloaded ones; a built-in distro's pinned fingerprints still apply")
	arch := pf.String("arch", "", "target architecture (default amd64): amd64, arm64, arm (armhf), ppc64le, s390x, riscv64 or 386, also by Debian or RPM name; for gen a comma-separated list builds an image index")
	platform := pf.String("platform", "", "target platforms, as --arch: linux/amd64,linux/arm64,linux/arm/v7,… (gen builds one image index of them; the others take one)")
	pf.StringVar(&opts.CacheDir, "cache-dir", os.Getenv("DISTROLESS_CACHE_DIR"), "download cache (default: $DISTROLESS_CACHE_DIR, else the XDG cache dir)")
	pf.BoolVar(&opts.Offline, "offline", false, "use only the cache; fail if something is missing")
	pf.StringVar(&opts.Mirrors.Archive, "mirror", "", "Debian archive mirror URL (default: $DISTROLESS_DEBIAN_MIRROR, else the host's apt sources)")
	pf.StringVar(&opts.Mirrors.Security, "security-mirror", "", "Debian security archive URL (default: $DISTROLESS_DEBIAN_SECURITY_MIRROR, else the host's apt sources)")
	timeout := pf.String("timeout", os.Getenv("DISTROLESS_TIMEOUT"), "longest wait on the network, downloads and registry pushes alike: connect, TLS handshake, response headers, a pause in a download or an upload (default: $DISTROLESS_TIMEOUT, else 30s)")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if *platform != "" {
			if *arch != "" && *arch != *platform {
				return &usageError{fmt.Errorf("--platform %q and --arch %q: give one of the two", *platform, *arch)}
			}
			*arch = *platform
		}
		ps, err := pipeline.ParseArchList(*arch)
		if err != nil {
			return &usageError{fmt.Errorf("--platform/--arch: %w", err)}
		}
		opts.Platforms = ps
		if *timeout == "" {
			return nil
		}
		d, err := time.ParseDuration(*timeout)
		if err != nil || d <= 0 {
			return &usageError{fmt.Errorf("--timeout %q: want a duration such as 30s or 2m", *timeout)}
		}
		opts.Timeout = d
		return nil
	}
	root.AddCommand(newVerify(opts), newProfiles(opts), newResolve(opts), newGen(opts), newWhy(opts), newCache(opts),
		newRelease(opts), newLock(opts), newVersion(root))
	registerCompletions(root)
	return root
}

func newCache(opts *pipeline.Options) *cobra.Command {
	c := &cobra.Command{Use: "cache", Short: "Show or prune the download cache", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return &usageError{fmt.Errorf("cache takes a subcommand: dir, prune")}
		}}
	c.AddCommand(&cobra.Command{Use: "dir", Short: "Print the cache directory", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := pipeline.CacheDir(*opts)
			if err == nil {
				_, err = fmt.Fprintln(cmd.OutOrStdout(), dir)
			}
			return err
		}})
	var olderThan, maxSize string
	prune := &cobra.Command{Use: "prune [--older-than AGE] [--max-size SIZE]", Args: noArgs,
		Short: "Remove cache entries unused for AGE (default 30d), then the least recently used above SIZE; safe while gens run",
		RunE: func(cmd *cobra.Command, _ []string) error {
			po := fetch.PruneOptions{MaxSize: -1}
			if olderThan == "" && maxSize == "" {
				olderThan = "30d"
			}
			var err error
			if olderThan != "" {
				if po.OlderThan, err = fetch.ParseAge(olderThan); err != nil {
					return &usageError{fmt.Errorf("--older-than: %w", err)}
				}
			}
			if maxSize != "" {
				if po.MaxSize, err = fetch.ParseSize(maxSize); err != nil {
					return &usageError{fmt.Errorf("--max-size: %w", err)}
				}
			}
			res, err := pipeline.PruneCache(*opts, po)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "removed %d files (%s), kept %d (%s)\n", res.Removed, formatSize(res.RemovedBytes), res.Kept, formatSize(res.KeptBytes))
			if res.InUse > 0 {
				fmt.Fprintf(os.Stderr, "%d files used in the last 10 minutes were kept over --max-size\n", res.InUse)
			}
			return err
		}}
	prune.Flags().StringVar(&olderThan, "older-than", "", "remove entries unused for longer than this (e.g. 30d, 12h)")
	prune.Flags().StringVar(&maxSize, "max-size", "", "then remove the least recently used entries until the cache holds at most this (e.g. 5GB, 500MiB)")
	c.AddCommand(prune)
	return c
}

func newProfiles(opts *pipeline.Options) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "profiles",
		Short: "List the built-in profiles and which distro packages each",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			infos, err := pipeline.ListProfiles(cmd.Context(), *opts)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), infos)
			}
			return writeProfiles(cmd.OutOrStdout(), infos)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func newResolve(opts *pipeline.Options) *cobra.Command {
	var asJSON, explain, explainAll bool
	var lock string
	var pf profileFlags
	c := &cobra.Command{
		Use:   "resolve PROFILE | -f FILE",
		Short: "Print the minimal run-time closure of a profile",
		Args:  pf.args(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, name, err := pf.apply(*opts, args)
			if err != nil {
				return err
			}
			r, err := pipeline.Resolve(cmd.Context(), name, o)
			if err != nil {
				return err
			}
			if lock != "" {
				if err := lockfile.Write(lock, r.Lock()); err != nil {
					return err
				}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), r.JSON())
			}
			return writeTable(cmd.OutOrStdout(), r, explain || explainAll, explainAll)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&explain, "explain-pruned", false, "list pruned packages with the reason and who asked for them")
	c.Flags().BoolVar(&explainAll, "explain", false, "as --explain-pruned, and list every choice among alternatives or providers with each candidate's added closure")
	c.Flags().BoolVar(&opts.NoPrune, "no-prune", false, "resolve Debian's full Depends closure (no pruning), for comparison")
	c.Flags().StringVar(&lock, "lock", "", "write a lockfile pinning every package and index digest")
	pf.register(c)
	return c
}

// noArgs is cobra.NoArgs as a usage error (exit 2), with the usage.
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return &usageError{fmt.Errorf("%w; usage: %s", err, cmd.UseLine())}
	}
	return nil
}

func newGen(opts *pipeline.Options) *cobra.Command {
	g := &pipeline.GenOptions{}
	var asJSON, quiet bool
	var bf buildFlags
	var user, compression string
	var outputs []string
	var pf profileFlags
	var sf settingsFlags
	c := &cobra.Command{
		Use:   "gen PROFILE | -f FILE",
		Short: "Build a distroless image of a profile and print its digest",
		Long: `Build a shell-less OCI image of PROFILE's closure on an empty base and print
its digest: sha256:... for files and layouts, REGISTRY/REPO@sha256:... for
each repository pushed to. With several platforms (--platform
linux/amd64,linux/arm64), an OCI image index of one image per platform, and
the index's digest.

Outputs (-o, repeatable: every one is written):
  oci:DIR[:TAG]                an OCI image layout (default oci:./PROFILE, tag latest)
  oci-archive:FILE[:REF]       a tar of an OCI image layout (podman, skopeo)
  docker-archive:FILE[:REF]    a tarball for docker load / podman load
  REGISTRY/REPO:TAG            a push, with podman's or docker's credentials

A layout or oci-archive holds the image alone, which podman, skopeo, syft
and umoci read untagged; --attach adds the SBOM and provenance referrers
(and --sign-key's signatures). Pushes carry them in any case.`,
		Args: pf.args(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, name, err := pf.apply(*opts, args)
			if err != nil {
				return err
			}
			for _, s := range outputs {
				out, err := publish.ParseOutput(s)
				if err != nil {
					return &usageError{err}
				}
				g.Outputs = append(g.Outputs, out)
			}
			if g.Sandbox.Wall <= 0 {
				return &usageError{fmt.Errorf("--sandbox-timeout %v: want a positive duration such as 30m", g.Sandbox.Wall)}
			}
			g.Options = o
			g.AddFiles = append(slices.Clone(pf.hostFiles), g.AddFiles...) // -f SRC:DEST, then --add-file
			if g.Settings, err = sf.settings(cmd); err != nil {
				return err
			}
			if g.User, err = userFlag(user); err != nil {
				return err
			}
			if g.Compression, err = compressionFlag(compression); err != nil {
				return err
			}
			if err := bf.apply(g); err != nil {
				return err
			}
			g.Argv = os.Args[1:] // recorded in the provenance
			endProgress := func() {}
			// Progress is for people: not with -q, nor with --json when
			// stderr is not a terminal (a pipeline reading the JSON).
			if !quiet && (!asJSON || isTerminal(os.Stderr)) {
				g.Progress, endProgress = progressPrinter(os.Stderr)
			}
			res, err := pipeline.Gen(cmd.Context(), name, *g)
			endProgress()
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(os.Stderr, "warning:", fieldsAsFlags(w))
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			if !quiet {
				if len(res.Platforms) > 0 {
					for _, p := range res.Platforms {
						fmt.Fprintf(os.Stderr, "%s: %s, %d packages, %s rootfs, %s compressed\n",
							p.Platform, p.Digest, len(p.Packages), formatSize(p.Size), formatSize(p.ImageSize))
					}
					fmt.Fprintf(os.Stderr, "%s on %s: an image index of %d platforms, %s compressed (shared layers once), written to %s\n",
						res.Profile, res.Distro, len(res.Platforms), formatSize(res.ImageSize), strings.Join(res.Outputs, ", "))
				} else {
					fmt.Fprintf(os.Stderr, "%s on %s (%s): %d packages, %s rootfs, %s compressed, written to %s\n",
						res.Profile, res.Distro, res.Arch, len(res.Packages), formatSize(res.Size), formatSize(res.ImageSize), strings.Join(res.Outputs, ", "))
				}
			}
			return writeGenRefs(cmd.OutOrStdout(), res)
		},
	}
	f := c.Flags()
	f.StringArrayVarP(&outputs, "output", "o", nil, "where to write the image (repeatable): oci:DIR[:TAG], oci-archive:FILE[:REF], docker-archive:FILE[:REF] or REGISTRY/REPO:TAG (default oci:./PROFILE)")
	f.StringVar(&g.Lock, "lock", "", "rebuild exactly the packages this lockfile pins (written by this run when it does not exist)")
	f.StringVar(&user, "user", "", "image user: nonroot (65532, the default), root, a numeric UID, or NAME:UID[:GID] (a new UID gets an /etc/passwd entry and a home)")
	f.BoolVar(&g.KeepDocs, "keep-docs", false, "keep documentation, man pages and locales")
	f.BoolVar(&g.AllowMissingLibs, "allow-missing-libs", false, "warn instead of failing when an ELF file needs a library the image lacks")
	f.BoolVar(&asJSON, "json", false, "print one JSON object (digest, outputs, pushed references, packages, sizes)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress and no summary line: stdout has only the digest or references (notes, warnings and errors still go to stderr)")
	f.StringVar(&g.BuilderID, "builder-id", "", "the SLSA builder id the provenance names (default "+attest.DefaultBuilderID+")")
	registryFlags(c, &g.Registry)
	bf.register(c, "sign the image and its attestations in cosign's format with this key: ECDSA P-256 PEM, or a cosign key file (password in $COSIGN_PASSWORD)",
		"SBOM format: spdx (SPDX 2.3 JSON) or cyclonedx (CycloneDX 1.6 JSON)",
		"refuse packages whose files come to more than this in all (default 2GiB)")
	f.StringVar(&g.SBOM, "sbom", "", "also write the image's SBOM to this file, in --sbom-format (it is attached to pushes, and with --attach to layouts, as a referrer in any case)")
	f.BoolVar(&g.Attach, "attach", false, "put the attachments (SBOM and provenance referrers, --sign-key's signatures) into OCI layouts and oci-archives too; without it they hold only the image, one manifest per tag (pushes carry the attachments in any case)")
	sf.register(c)
	f.StringVar(&compression, "compression", "gzip", "layer compression: gzip, or zstd (OCI media type tar+zstd, for runtimes that read it)")
	f.DurationVar(&g.Sandbox.Wall, "sandbox-timeout", assemble.DefaultSandboxLimits.Wall, "longest a program of the image (the Python compiler) may run in the build's sandbox before it is killed and gen fails")
	// Customisations of the top layer.
	f.StringArrayVar(&g.CACerts, "ca-cert", nil, "trust this PEM CA certificate everywhere the image trusts its distro's CAs (repeatable)")
	f.StringArrayVar(&g.AddFiles, "add-file", nil, "copy a host file or directory SRC to DEST in the image, SRC:DEST (repeatable)")
	pf.register(c)
	return c
}

// registryFlags registers the flags of registry access.
func registryFlags(c *cobra.Command, r *publish.RegistryOptions) {
	f := c.Flags()
	f.BoolVar(&r.Insecure, "insecure", false, "allow plain HTTP and unverified TLS for registries (registries.conf's insecure = true does so for one)")
	f.StringVar(&r.CertDir, "cert-dir", "", "directory of CA certificates (*.crt) and a client certificate (*.cert, *.key) for registries, instead of certs.d/HOST:PORT")
}

// writeGenRefs prints what gen wrote: the bare digest when it wrote a
// file or layout, then REGISTRY/REPO@DIGEST for each repository pushed.
func writeGenRefs(w io.Writer, res *pipeline.GenResult) error {
	local := len(res.Pushed) == 0
	for _, o := range res.Outputs {
		for _, t := range []string{"oci:", "oci-archive:", "docker-archive:"} {
			local = local || strings.HasPrefix(o, t)
		}
	}
	if local {
		if _, err := fmt.Fprintln(w, res.Digest); err != nil {
			return err
		}
	}
	for _, p := range res.Pushed {
		if _, err := fmt.Fprintln(w, p.Ref); err != nil {
			return err
		}
	}
	return nil
}

// versionString is the module version and VCS revision the binary was
// built from (Version when set at link time).
func versionString() string {
	v := pipeline.Version
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if v == "dev" && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	var rev, when string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return v + " (" + bi.GoVersion + ")"
	}
	if dirty {
		rev += ", modified"
	}
	if when != "" {
		rev += ", " + when
	}
	return v + " (revision " + rev + ", " + bi.GoVersion + ")"
}

// progressPrinter shows progress on one rewritten line on a terminal and as
// plain lines otherwise; the second function clears the terminal line.
func progressPrinter(w *os.File) (func(string), func()) {
	if !isTerminal(w) {
		return func(s string) { fmt.Fprintln(w, s) }, func() {}
	}
	var mu sync.Mutex
	show := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		if len(s) > 100 {
			s = s[:100]
		}
		fmt.Fprintf(w, "\r\033[K%s", s)
	}
	return show, func() { show("") }
}

func newWhy(opts *pipeline.Options) *cobra.Command {
	var asJSON bool
	var pf profileFlags
	c := &cobra.Command{
		Use:   "why PROFILE PACKAGE | why -f FILE PACKAGE",
		Short: "Print the dependency chains that pull a package into a profile, or why it was pruned",
		Args:  pf.args(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, name, err := pf.apply(*opts, args[:len(args)-1])
			if err != nil {
				return err
			}
			res, err := pipeline.Why(cmd.Context(), name, args[len(args)-1], o)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			return writeWhy(cmd.OutOrStdout(), res)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	pf.register(c)
	return c
}

// profileFlags are the flags that choose and adjust the profile.
type profileFlags struct {
	fileArgs     []string // -f/--file as given: the profile file, and on gen SRC:DEST host files
	file         string   // the profile file (hostFiles sorts it out of fileArgs)
	hostFiles    []string // gen's -f/--file SRC:DEST values, as --add-file's
	debug        bool
	add, exclude []string
	// app are the application layer's inputs (gen, resolve and why).
	app pipeline.AppOptions
}

func (pf *profileFlags) register(c *cobra.Command) {
	f := c.Flags()
	f.StringArrayVarP(&pf.fileArgs, "file", "f", nil, "a profile file (same schema as the built-in profiles) instead of a PROFILE name; on gen also SRC:DEST, a host file or directory SRC copied to DEST in the image (as --add-file, repeatable)")
	f.BoolVar(&pf.debug, "debug", false, "the PROFILE-debug variant: busybox under /busybox, entrypoint unchanged")
	f.StringArrayVar(&pf.add, "add", nil, "add a package to the profile (repeatable)")
	f.StringArrayVar(&pf.exclude, "exclude", nil, "prune a package from the closure (repeatable; the ELF check still applies)")
	f.StringVar(&pf.app.PythonRequirements, "python-requirements", "", "install the wheels this requirements file pins (NAME==VERSION --hash=sha256:HEX) into the application layer")
	f.StringVar(&pf.app.PythonWheels, "python-wheels", "", "a directory of wheels: the source of --python-requirements, or without it, the wheels to install")
	f.StringVar(&pf.app.PythonIndex, "python-index", "", "a PEP 503/691 simple index URL: the source of --python-requirements")
	f.StringVar(&pf.app.NpmLock, "npm-lock", "", "install the packages of this package-lock.json (lockfileVersion 2 or 3) as npm ci --ignore-scripts --omit=dev would, into the application layer")
	f.StringVar(&pf.app.NpmRegistry, "npm-registry", "", "the base URL of an npm registry (a mirror) that replaces https://registry.npmjs.org/ in --npm-lock's URLs")
	f.StringVar(&pf.app.AppDir, "app-dir", "", "where --npm-lock's node_modules goes in the image (default /app)")
	f.BoolVar(&pf.app.NoLibs, "no-app-libs", false, "do not add the packages of the libraries the application layer's ELF files need (the ELF check still applies)")
}

// args accepts a PROFILE name, or none with -f, followed by extra arguments.
func (pf *profileFlags) args(extra int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := pf.sortFiles(cmd.Name() == "gen"); err != nil {
			return err
		}
		want := extra + 1
		if pf.file != "" {
			want = extra
		}
		if len(args) != want {
			return &usageError{fmt.Errorf("%s takes %d argument(s) here, got %d; usage: %s", cmd.Name(), want, len(args), cmd.UseLine())}
		}
		return nil
	}
}

// apply returns the options and profile name the flags and args say.
func (pf *profileFlags) apply(o pipeline.Options, args []string) (pipeline.Options, string, error) {
	o.Add, o.Exclude = pf.add, pf.exclude
	o.App = pf.app
	if pf.file == "" {
		if pf.debug {
			if strings.HasSuffix(args[0], "-debug") {
				return o, "", &usageError{fmt.Errorf("%s is a debug variant already; drop --debug", args[0])}
			}
			return o, args[0] + "-debug", nil
		}
		return o, args[0], nil
	}
	if pf.debug {
		return o, "", &usageError{fmt.Errorf("--debug takes a built-in PROFILE; for a profile file, add busybox-static and generate: [busybox-links] to it")}
	}
	p, err := pipeline.LoadProfileFile(pf.file)
	if err != nil {
		return o, "", err
	}
	o.Profile = p
	return o, p.Name, nil
}
