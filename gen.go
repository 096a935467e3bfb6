package distroless

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/resolver"
)

// Version is the tool's version, set at link time
// (-ldflags "-X github.com/distroless-dev/distroless.Version=v1.2.3").
var Version = "dev"

// GenOptions are the settings of gen beyond those of resolve.
type GenOptions struct {
	Options
	Output           string // oci:DIR[:TAG], docker-archive:FILE[:REF] or REGISTRY/REPO:TAG; "" = oci:./<profile>
	Lock             string // rebuild from this lockfile; written first when it does not exist
	User             string // nonroot (default), root, or a numeric UID
	KeepDocs         bool
	AllowMissingLibs bool
	Parallel         int // downloads at once; 0 = 8
	Progress         func(string)
}

// GenResult is what gen made.
type GenResult struct {
	Digest    string           `json:"digest"`
	Output    string           `json:"output"`
	Profile   string           `json:"profile"`
	Distro    string           `json:"distro"`
	Arch      string           `json:"arch"`
	Packages  []string         `json:"packages"`
	Size      int64            `json:"size"`       // uncompressed rootfs bytes
	Download  int64            `json:"download"`   // bytes of package files
	ImageSize int64            `json:"image_size"` // compressed layer bytes
	Layers    []GenLayerResult `json:"layers"`
	Warnings  []string         `json:"warnings,omitempty"`
}

// GenLayerResult describes one layer of the image.
type GenLayerResult struct {
	Name           string `json:"name"`
	Digest         string `json:"digest"`
	Packages       int    `json:"packages"`
	Size           int64  `json:"size"`
	CompressedSize int64  `json:"compressed_size"`
}

// genInput is a profile plan with the packages of each of its levels.
type genInput struct {
	distro *distro.Distro
	arch   string
	plan   *profiles.Plan
	levels [][]*packages.Package
	cache  *fetch.Cache
}

// Gen builds the image of a profile and writes it to the output.
func Gen(ctx context.Context, profile string, o GenOptions) (*GenResult, error) {
	if o.Profile != nil {
		profile = o.Profile.Name
	}
	// Settings that cannot work fail before anything is fetched.
	output := o.Output
	if output == "" {
		output = "oci:./" + profile
	}
	writeOpts := assemble.WriteOptions{DefaultRef: "distroless/" + profile + ":latest"}
	if err := assemble.CheckOutput(output, writeOpts); err != nil {
		return nil, err
	}
	if _, _, err := userOf(o.User); err != nil {
		return nil, err
	}
	in, err := genPlan(ctx, profile, o)
	if err != nil {
		return nil, err
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}

	// Fetch every package file, verified against the signed index (or the
	// lockfile's pins) before use.
	var reqs []fetch.Request
	var all []*packages.Package
	for _, lv := range in.levels {
		for _, p := range lv {
			reqs = append(reqs, fetch.Request{URL: p.URL, Size: p.Size, SHA256: p.SHA256})
			all = append(all, p)
		}
	}
	// Largest first: their decoding, the slowest step, starts earliest.
	sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].Size > reqs[j].Size })
	par := o.Parallel
	if par <= 0 {
		par = 8
	}
	// Each package is decoded into the unpack cache as soon as it is
	// downloaded, while the others still download. Errors are left to
	// Build, which walks every package again and reports them.
	payload := in.distro.Payload(filepath.Join(in.cache.Dir, "unpacked"))
	var prepared sync.WaitGroup
	cpus := make(chan struct{}, runtime.NumCPU())
	_, err = in.cache.FetchAll(ctx, reqs, par, func(done, total int, r fetch.Request) {
		progress(fmt.Sprintf("fetched %d/%d %s", done, total, r.URL[strings.LastIndex(r.URL, "/")+1:]))
		prepared.Add(1)
		go func() {
			defer prepared.Done()
			cpus <- struct{}{}
			defer func() { <-cpus }()
			if p, ok := payload.(packages.Preparer); ok {
				_ = p.Prepare(in.cache.BlobPath(r.SHA256))
			}
		}()
	})
	prepared.Wait()
	if err != nil {
		if o.Lock != "" {
			return nil, fmt.Errorf("a package pinned by %s can no longer be fetched with its sha256: %w", o.Lock, err)
		}
		return nil, err
	}

	spec, err := in.spec(o, payload)
	if err != nil {
		return nil, err
	}
	spec.Progress = progress
	img, rep, err := assemble.Build(ctx, spec)
	if err != nil {
		return nil, err
	}
	progress("writing " + output)
	writeOpts.DefaultRef = "distroless/" + in.plan.Name + ":latest"
	digest, err := assemble.Write(ctx, img, output, writeOpts)
	if err != nil {
		return nil, err
	}
	res := &GenResult{Digest: digest, Output: output, Profile: in.plan.Name, Distro: in.distro.Name, Arch: in.arch,
		Size: rep.Size, Warnings: rep.Warnings}
	for _, p := range all {
		res.Packages = append(res.Packages, p.Name+"="+p.Version)
		res.Download += p.Size
	}
	sort.Strings(res.Packages)
	for _, l := range rep.Layers {
		res.Layers = append(res.Layers, GenLayerResult{Name: l.Name, Digest: l.Digest, Packages: l.Packages, Size: l.Size, CompressedSize: l.CompressedSize})
		res.ImageSize += l.CompressedSize
	}
	return res, nil
}

// genPlan resolves the profile, or takes the packages a lockfile pins.
func genPlan(ctx context.Context, profile string, o GenOptions) (*genInput, error) {
	if o.Lock != "" {
		l, err := ReadLock(o.Lock)
		switch {
		case err == nil:
			return lockPlan(profile, l, o)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	r, err := Resolve(ctx, profile, o.Options)
	if err != nil {
		return nil, err
	}
	if o.Lock != "" {
		if err := WriteLock(o.Lock, r.Lock()); err != nil {
			return nil, err
		}
		o.log("wrote lockfile %s", o.Lock)
	}
	in := &genInput{distro: r.Distro, arch: r.Arch, plan: r.Plan, cache: r.Cache, levels: make([][]*packages.Package, len(r.Result.Levels))}
	for _, s := range r.Result.Packages {
		in.levels[s.Level] = append(in.levels[s.Level], s.Pkg)
	}
	return in, nil
}

// lockPlan rebuilds a plan from a lockfile alone: no index is read, and
// every package comes from the pinned URL with the pinned sha256.
func lockPlan(profile string, l *Lock, o GenOptions) (*genInput, error) {
	if o.Profile != nil {
		profile = o.Profile.Name
	}
	if profile != l.Profile && profile != l.Requested {
		return nil, fmt.Errorf("lockfile %s pins profile %s, not %s", o.Lock, l.Profile, profile)
	}
	var d *distro.Distro
	var err error
	if o.Distro != "" && distro.IsFile(o.Distro) {
		// A distro file's distro: the file must define the pinned one.
		if d, err = o.distro(o.Distro); err != nil {
			return nil, err
		}
		if d.Name != l.Distro {
			return nil, fmt.Errorf("lockfile %s pins distro %s, not %s (from %s)", o.Lock, l.Distro, d.Name, o.Distro)
		}
	} else {
		if d, err = distro.Get(l.Distro); err != nil {
			return nil, fmt.Errorf("lockfile %s: %w (for a distro file's distro, give the file with --distro)", o.Lock, err)
		}
		if o.Distro != "" && o.Distro != l.Distro {
			return nil, fmt.Errorf("lockfile %s pins distro %s, not %s", o.Lock, l.Distro, o.Distro)
		}
	}
	if o.Arch != "" && o.Arch != l.Arch {
		return nil, fmt.Errorf("lockfile %s pins architecture %s, not %s", o.Lock, l.Arch, o.Arch)
	}
	ix := &lockIndex{}
	for _, p := range l.Packages {
		ix.pkgs = append(ix.pkgs, &packages.Package{Name: p.Name, Version: p.Version, Arch: p.Arch, SHA256: p.SHA256,
			Size: p.Size, URL: p.URL, Location: p.Path})
	}
	if len(o.Add) > 0 || len(o.Exclude) > 0 {
		return nil, fmt.Errorf("--add and --exclude change the closure, which lockfile %s pins; remove the lockfile to resolve again", o.Lock)
	}
	plan, err := o.expand(l.Profile, ix, d)
	if err != nil {
		return nil, fmt.Errorf("lockfile %s: %w", o.Lock, err)
	}
	c, err := o.cache()
	if err != nil {
		return nil, err
	}
	in := &genInput{distro: d, arch: l.Arch, plan: plan, cache: c, levels: make([][]*packages.Package, len(plan.Levels))}
	for i, lp := range l.Packages {
		at := slices.IndexFunc(plan.Levels, func(lv resolver.Level) bool { return lv.Name == lp.Layer })
		if at < 0 {
			return nil, fmt.Errorf("lockfile %s: package %s is in layer %q, which profile %s does not have", o.Lock, lp.Name, lp.Layer, plan.Name)
		}
		in.levels[at] = append(in.levels[at], ix.pkgs[i])
	}
	return in, nil
}

// lockIndex answers the profile loader from a lockfile's packages.
type lockIndex struct{ pkgs []*packages.Package }

func (ix *lockIndex) Satisfiers(a packages.Atom) []*packages.Package {
	var out []*packages.Package
	for _, p := range ix.pkgs {
		if p.Name == a.Name {
			out = append(out, p)
		}
	}
	return out
}

func (ix *lockIndex) Names() []string {
	var n []string
	for _, p := range ix.pkgs {
		n = append(n, p.Name)
	}
	sort.Strings(n)
	return n
}

// spec turns the plan into what the assembler builds.
func (in *genInput) spec(o GenOptions, payload packages.Payload) (assemble.Spec, error) {
	created, err := assemble.CreatedFromEnv()
	if err != nil {
		return assemble.Spec{}, err
	}
	user, workdir, err := userOf(o.User)
	if err != nil {
		return assemble.Spec{}, err
	}
	cfg := in.plan.Config
	if cfg.User != "" && o.User == "" {
		user = cfg.User
	}
	if cfg.Workdir != "" && o.User == "" {
		workdir = cfg.Workdir
	}
	spec := assemble.Spec{
		Payload:          payload,
		Arch:             in.arch,
		Created:          created,
		User:             user,
		WorkDir:          workdir,
		Entrypoint:       cfg.Entrypoint,
		Cmd:              cfg.Cmd,
		OSRelease:        in.distro.OSRelease,
		AllowMissingLibs: o.AllowMissingLibs,
		LibraryPath:      in.distro.LibraryDirs(),
		Labels:           map[string]string{},
	}
	// SOURCE_DATE_EPOCH clamps the packages' mtimes and dates what the
	// build generates.
	spec.ClampMTimes = strings.TrimSpace(os.Getenv("SOURCE_DATE_EPOCH")) != ""
	if !o.KeepDocs {
		spec.PruneFiles = slices.Clone(assemble.DefaultPruneFiles)
	}
	spec.PruneFiles = append(spec.PruneFiles, in.plan.PruneFiles...)
	for _, k := range slices.Sorted(maps.Keys(cfg.Env)) {
		spec.Env = append(spec.Env, k+"="+cfg.Env[k])
	}
	maps.Copy(spec.Labels, map[string]string{
		"org.opencontainers.image.title":     in.plan.Name,
		"org.opencontainers.image.created":   created.Format(time.RFC3339),
		"org.opencontainers.image.base.name": "scratch",
		"org.opencontainers.image.version":   Version,
		"org.opencontainers.image.revision":  revision(),
		"org.opencontainers.image.description": fmt.Sprintf("distroless %s image from %s (%s), made by distroless %s",
			in.plan.Name, in.distro.Name, in.arch, Version),
	})
	maps.Copy(spec.Labels, cfg.Labels)
	spec.Annotations = maps.Clone(spec.Labels)

	for li, lv := range in.plan.Levels {
		layer := assemble.Layer{Name: lv.Name, Generate: in.plan.Chain[li].Generate}
		layer.PythonBytecode = in.plan.Chain[li].PythonBytecode
		for _, p := range in.levels[li] {
			// The scanner record (status.d) comes from the .deb's own
			// control file, not the index stanza, so that a build from a
			// lockfile, which has no index, writes the same bytes.
			q := *p
			q.Record = nil
			layer.Packages = append(layer.Packages, assemble.Unpack{Pkg: &q, File: in.cache.BlobPath(p.SHA256)})
		}
		for _, f := range in.plan.Chain[li].Files {
			af, err := fileOf(f)
			if err != nil {
				return assemble.Spec{}, fmt.Errorf("profile %s: %w", in.plan.Chain[li].Name, err)
			}
			layer.Files = append(layer.Files, af)
		}
		spec.Layers = append(spec.Layers, layer)
	}
	return spec, nil
}

func fileOf(f profiles.File) (assemble.File, error) {
	af := assemble.File{Path: f.Path, UID: f.UID, GID: f.GID}
	if f.Link != "" {
		af.Mode = fs.ModeSymlink | 0o777
		af.Link = f.Link
		return af, nil
	}
	mode := uint64(0o644)
	if f.Mode != "" {
		var err error
		if mode, err = strconv.ParseUint(f.Mode, 8, 32); err != nil {
			return af, fmt.Errorf("file %s: mode %q is not octal", f.Path, f.Mode)
		}
	}
	af.Mode = fs.FileMode(mode) & fs.ModePerm
	af.Data = []byte(f.Content)
	return af, nil
}

// userOf maps --user to the config's user and working directory.
func userOf(u string) (string, string, error) {
	switch u {
	case "", "nonroot":
		return "65532:65532", "/home/nonroot", nil
	case "root":
		return "0:0", "/", nil
	}
	n, err := strconv.ParseUint(u, 10, 31)
	if err != nil {
		return "", "", fmt.Errorf("--user %q: want nonroot, root or a numeric UID", u)
	}
	return fmt.Sprintf("%d:%d", n, n), "/", nil
}

// revision is the VCS revision the binary was built from, when known.
func revision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// IsTerminal reports whether f is a terminal (for progress display).
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&fs.ModeCharDevice != 0
}
