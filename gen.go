package distroless

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
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

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/lockfile"
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

	layerMemo *assemble.LayerMemo // layers compressed by earlier builds of this process (release)
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
	keys   distro.Keys // those the index was verified with; nil from a lockfile
	arch   string
	plan   *profiles.Plan
	levels [][]*packages.Package
	cache  *fetch.Cache
}

// Gen builds the image of a profile and writes it to the output.
func Gen(ctx context.Context, profile string, o GenOptions) (_ *GenResult, err error) {
	defer func() { err = diskFirst(err) }()
	profile = o.profileName(profile)
	// Settings that cannot work fail before anything is fetched.
	output, err := outputOf(o.Output, profile)
	if err != nil {
		return nil, &UsageError{err}
	}
	user, err := userOf(o.User)
	if err != nil {
		return nil, &UsageError{err}
	}
	if err := checkArch(o.Arch); err != nil {
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
	img, rep, all, err := in.build(ctx, o, user, progress)
	if err != nil {
		return nil, err
	}
	progress("writing " + output)
	// The image is named for the profile it resolved to (python3 → python3.X).
	writeOpts := writeOptions(in.plan.Name)
	for _, p := range assemble.CleanStale(output, writeOpts) {
		o.log("removed %s, left by an interrupted gen", p)
	}
	digest, err := assemble.WriteArtifact(ctx, assemble.Artifact{Image: img}, []string{output}, writeOpts)
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

// build fetches the plan's packages (verified against the signed index or
// the lockfile's pins, each decoded as soon as it is there) and assembles
// the image; it returns the image, the assembler's report and the
// packages.
func (in *genInput) build(ctx context.Context, o GenOptions, user imageUser, progress func(string)) (v1.Image, *assemble.Report, []*packages.Package, error) {
	// Fetch every package file, verified against the signed index (or the
	// lockfile's pins) before use.
	var reqs []fetch.Request
	var all []*packages.Package
	bySHA := map[string]*packages.Package{}
	for _, lv := range in.levels {
		for _, p := range lv {
			reqs = append(reqs, fetch.Request{URL: p.URL, Size: p.Size, SHA256: p.SHA256})
			all = append(all, p)
			bySHA[p.SHA256] = p
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
	payload := in.distro.Payload(filepath.Join(in.cache.Dir, "unpacked"), in.keys)
	if w, ok := payload.(interface {
		WithWarn(func(string)) packages.Payload
	}); ok {
		payload = w.WithWarn(in.cache.Warn) // damaged cache entries are rebuilt, and said
	}
	var prepared sync.WaitGroup
	cpus := make(chan struct{}, runtime.NumCPU())
	_, err := in.cache.FetchAll(ctx, reqs, par, func(done, total int, r fetch.Request) {
		progress(fmt.Sprintf("fetched %d/%d %s", done, total, r.URL[strings.LastIndex(r.URL, "/")+1:]))
		prepared.Add(1)
		go func() {
			defer prepared.Done()
			cpus <- struct{}{}
			defer func() { <-cpus }()
			p, ok := payload.(packages.Preparer)
			if !ok {
				return
			}
			file := in.cache.BlobPath(r.SHA256)
			if idf, ok := payload.(packages.Identifier); ok {
				// Nothing of a package that is not the one named is
				// cached; Build reports the mismatch.
				want := bySHA[r.SHA256]
				if id, err := idf.Identity(file); err != nil || want == nil || id.Matches(want) != nil {
					return
				}
			}
			_ = p.Prepare(file)
		}()
	})
	prepared.Wait()
	if err != nil {
		if o.Lock != "" {
			return nil, nil, nil, fmt.Errorf("a package pinned by %s can no longer be fetched with its sha256: %w", o.Lock, err)
		}
		return nil, nil, nil, err
	}

	spec, err := in.spec(o, user, payload)
	if err != nil {
		return nil, nil, nil, err
	}
	spec.Progress = progress
	spec.LayerMemo = o.layerMemo
	img, rep, err := assemble.Build(ctx, spec)
	if err != nil {
		return nil, nil, nil, err
	}
	return img, rep, all, nil
}

// writeOptions are the output settings of an image of the named profile.
func writeOptions(profile string) assemble.WriteOptions {
	return assemble.WriteOptions{DefaultRef: "distroless/" + profile + ":latest"}
}

// outputOf is the output gen writes (-o, else oci:./PROFILE), checked
// before anything is fetched.
func outputOf(flag, profile string) (string, error) {
	output := flag
	if output == "" {
		output = "oci:./" + profile
	}
	if err := checkOutput(output); err != nil {
		return "", err
	}
	if err := assemble.CheckOutput(output, writeOptions(profile)); err != nil {
		return "", err
	}
	return output, nil
}

// outputForms lists the outputs gen accepts, for error messages.
const outputForms = "oci:DIR[:TAG] (an OCI layout), docker-archive:FILE[:REF] (a tarball) or REGISTRY/REPO:TAG (a push)"

// checkOutput refuses an output without a transport that is not a
// registry reference: a path such as ./out, /tmp/out, ../out, out/ or
// ~/out must not be taken for a registry host.
func checkOutput(output string) error {
	if strings.HasPrefix(output, "oci:") || strings.HasPrefix(output, "docker-archive:") {
		return nil
	}
	host, rest, hasSlash := strings.Cut(output, "/")
	switch {
	case output == "":
		return fmt.Errorf("output is empty; want %s", outputForms)
	case host == "" || host == "." || host == ".." || host == "~" || strings.HasPrefix(host, "~") ||
		strings.ContainsRune(output, '\\') || (hasSlash && (rest == "" || strings.HasSuffix(rest, "/"))):
		return fmt.Errorf("output %q is a path, not a registry reference: for an OCI layout say oci:%s, for a tarball docker-archive:%s; outputs are %s",
			output, strings.TrimSuffix(output, "/"), strings.TrimSuffix(output, "/"), outputForms)
	case !hasSlash:
		return fmt.Errorf("output %q has no transport and is not a registry reference: want %s (a registry is named by its host, e.g. docker.io/…)", output, outputForms)
	}
	if !registryHost(host) {
		return fmt.Errorf("output %q: %q is not a registry host (a domain with a dot, localhost, or an address, each with an optional :PORT); want %s", output, host, outputForms)
	}
	// The tag defaults to latest, as for podman and crane.
	if _, err := name.ParseReference(output); err != nil {
		return fmt.Errorf("output %q is not a registry reference (%v); want %s", output, err, outputForms)
	}
	return nil
}

// registryHost reports whether host (with an optional :PORT) names a
// registry: localhost, an IP address, or a DNS name with a dot.
func registryHost(host string) bool {
	h, port := host, ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		h, port = host[:i], host[i+1:]
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return false
		}
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		return net.ParseIP(h[1:len(h)-1]) != nil
	}
	if h == "localhost" || net.ParseIP(h) != nil {
		return true
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 && port == "" {
		return false // a bare word is a registry only with a port (registry:5000)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
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
	r, err := resolve(ctx, profile, o.Options)
	if err != nil {
		return nil, err
	}
	if o.Lock != "" {
		if err := lockfile.Write(o.Lock, r.Lock()); err != nil {
			return nil, err
		}
		o.log("wrote lockfile %s", o.Lock)
	}
	in := &genInput{distro: r.Distro, keys: r.Keys, arch: r.Arch, plan: r.Plan, cache: r.Cache, levels: make([][]*packages.Package, len(r.Result.Levels))}
	for _, s := range r.Result.Packages {
		in.levels[s.Level] = append(in.levels[s.Level], s.Pkg)
	}
	return in, nil
}

// lockPlan rebuilds a plan from a lockfile alone: no index is read, and
// every package comes from the pinned URL with the pinned sha256.
func lockPlan(profile string, l *lockfile.Lock, o GenOptions) (*genInput, error) {
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
	if err := l.CheckPackages(o.Lock, d.Format); err != nil {
		return nil, err
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
func (in *genInput) spec(o GenOptions, u imageUser, payload packages.Payload) (assemble.Spec, error) {
	created, err := assemble.CreatedFromEnv()
	if err != nil {
		return assemble.Spec{}, err
	}
	cfg := in.plan.Config
	user, workdir := u.with(cfg)
	spec := assemble.Spec{
		Payload:          payload,
		Arch:             in.arch,
		Created:          created,
		User:             user,
		WorkDir:          workdir,
		Entrypoint:       cfg.Entrypoint,
		Cmd:              cfg.Cmd,
		OSRelease:        in.distro.OSRelease,
		ReleaseFiles:     in.distro.ReleaseFiles,
		AllowMissingLibs: o.AllowMissingLibs,
		LibraryPath:      in.distro.LibraryDirs(),
		Labels:           map[string]string{},
	}
	spec.Cache = in.cache
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
			layer.Packages = append(layer.Packages, assemble.Unpack{Pkg: p, File: in.cache.BlobPath(p.SHA256)})
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

// imageUser is the image's user and working directory as --user says.
type imageUser struct {
	user, workdir string
	flag          bool // --user was given: it wins over the profile's
}

// userOf maps --user to the config's user and working directory.
func userOf(u string) (imageUser, error) {
	switch u {
	case "", "nonroot":
		return imageUser{"65532:65532", "/home/nonroot", u != ""}, nil
	case "root":
		return imageUser{"0:0", "/", true}, nil
	}
	n, err := strconv.ParseUint(u, 10, 31)
	if err != nil {
		return imageUser{}, fmt.Errorf("--user %q: want nonroot, root or a numeric UID", u)
	}
	return imageUser{fmt.Sprintf("%d:%d", n, n), "/", true}, nil
}

// with returns the user and working directory of an image of a profile
// with config cfg: the profile's own, each when it sets it and --user was
// not given.
func (u imageUser) with(cfg profiles.Config) (user, workdir string) {
	user, workdir = u.user, u.workdir
	if cfg.User != "" && !u.flag {
		user = cfg.User
	}
	if cfg.Workdir != "" && !u.flag {
		workdir = cfg.Workdir
	}
	return user, workdir
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
