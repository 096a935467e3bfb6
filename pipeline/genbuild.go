package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/publish"
)

// genImages resolves (or reads from the lockfile) the profile for every
// platform, fetches every package file once, and builds each platform's
// image.
func genImages(ctx context.Context, profile string, o GenOptions) ([]*PlatformImage, error) {
	user := o.User
	if user.user == "" {
		user, _ = ParseUser("")
	}
	if err := o.CheckSizes(); err != nil {
		return nil, err
	}
	if err := o.CheckCustom(); err != nil { // before anything is fetched
		return nil, err
	}
	if o.Profile == nil && o.Lock == "" {
		if _, _, err := profiles.Find(profile); err != nil {
			return nil, &UsageError{err}
		}
	}
	// The mistakes of the command line first, then the registries: one
	// that refuses the push fails now, before anything is fetched, not
	// after the build.
	outputs, err := o.outputsOf(profile)
	if err != nil {
		return nil, &UsageError{err}
	}
	if err := publish.CheckPush(ctx, outputs, o.writeOptions(profile)); err != nil {
		return nil, err
	}
	ins, err := genPlans(ctx, profile, o)
	if err != nil {
		return nil, err
	}
	return BuildImages(ctx, ins, o, user)
}

// CheckSizes refuses a negative size limit.
func (o GenOptions) CheckSizes() error {
	if o.MaxImageSize < 0 || o.MaxFileSize < 0 {
		return &UsageError{fmt.Errorf("size limits %d and %d: a limit is more than 0 bytes (0: the default)", o.MaxImageSize, o.MaxFileSize)}
	}
	return nil
}

// BuildImages fetches every package file of the inputs (one per
// platform) once and builds each platform's image as user, the builds
// running alongside the downloads; the images are in the inputs' order.
func BuildImages(ctx context.Context, ins []*Input, o GenOptions, user User) ([]*PlatformImage, error) {
	comp, err := assemble.ParseCompression(string(o.Compression))
	if err != nil {
		return nil, &UsageError{err}
	}
	if err := o.CheckSizes(); err != nil {
		return nil, err
	}
	maxImage, maxFile := o.MaxImageSize, o.MaxFileSize
	progress := o.progress()

	// Fetch every package file of every platform, each once (arch: all
	// packages are shared), verified against the signed index (or the
	// lockfile's pins) before use.
	var reqs []fetch.Request
	bySHA := map[string]*packages.Package{}
	for _, in := range ins {
		for _, lv := range in.levels {
			for _, p := range lv {
				if _, ok := bySHA[p.SHA256]; ok {
					continue
				}
				reqs = append(reqs, fetch.Request{URL: p.URL, Size: p.Size, SHA256: p.SHA256})
				bySHA[p.SHA256] = p
			}
		}
	}
	// Largest first: their decoding, the slowest step, starts earliest.
	sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].Size > reqs[j].Size })
	par := o.Parallel
	if par <= 0 {
		par = 8
	}
	cache := ins[0].cache
	payloadOf := func(in *Input) packages.Payload {
		payload := in.distro.Payload(filepath.Join(in.cache.Dir, "unpacked"), in.keys)
		if w, ok := payload.(interface {
			WithWarn(func(string)) packages.Payload
		}); ok {
			payload = w.WithWarn(in.cache.Warn) // damaged cache entries are rebuilt, and said
		}
		return payload
	}

	// Each platform's build runs while the packages download: it reads
	// each of its packages (decoded, its files spooled, and kept in the
	// unpack cache) as soon as the download completes and is verified.
	// Several builds at once, as many as there are CPUs. The platform the
	// host runs natively, if one is asked for, shares its Python bytecode
	// with the others (assemble.BytecodeShare); it starts first and never
	// waits for a slot, since the others wait for it.
	imgs := make([]*PlatformImage, len(ins))
	errs := make([]error, len(ins))
	arrived := make([]chan string, len(ins))
	wants := make([]map[string]bool, len(ins))
	for i, in := range ins {
		wants[i] = map[string]bool{}
		for _, lv := range in.levels {
			for _, p := range lv {
				wants[i][p.SHA256] = true
			}
		}
		arrived[i] = make(chan string, len(wants[i])) // never blocks: a failed build stops reading it
	}
	donor := -1
	if len(ins) > 1 {
		donor = slices.IndexFunc(ins, func(in *Input) bool { return in.arch == runtime.GOARCH })
	}
	setting := func(i int) buildSetting {
		return buildSetting{maxImage, maxFile, comp, arrived[i], len(ins) > 1, nil, i == donor, donor >= 0 && i != donor}
	}

	// Images whose inputs are those of earlier builds are taken from the
	// cache (memo.go), with nothing fetched, when every platform's is
	// there; otherwise every platform is built (the builds of an index
	// share their Python bytecode, so one is not built without the
	// others).
	// The platforms are looked up side by side.
	memo := make([]*PlatformImage, len(ins))
	memoErrs := make([]error, len(ins))
	var looked sync.WaitGroup
	for i, in := range ins {
		looked.Add(1)
		go func() {
			defer looked.Done()
			memo[i], memoErrs[i] = in.fromMemo(o, user, payloadOf(in), setting(i))
		}()
	}
	looked.Wait()
	if err := errors.Join(memoErrs...); err != nil {
		return nil, err
	}
	if !slices.Contains(memo, nil) {
		if len(ins) > 1 {
			progress("the images of these inputs are in the cache")
		} else {
			progress("the image of these inputs is in the cache")
		}
		return memo, nil
	}
	var share *assemble.BytecodeShare
	if donor >= 0 {
		share = assemble.NewBytecodeShare()
	}
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(2, runtime.NumCPU()))
	for i, in := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == donor {
				defer share.Close()
			} else {
				sem <- struct{}{}
				defer func() { <-sem }()
			}
			set := setting(i)
			set.share = share
			imgs[i], errs[i] = in.build(bctx, o, user, payloadOf(in), set)
			if errs[i] != nil {
				cancel() // the index fails: no use downloading more, nor finishing the other builds
			}
		}()
	}
	_, fetchErr := cache.FetchAll(bctx, reqs, par, func(done, total int, r fetch.Request) {
		progress(fmt.Sprintf("fetched %d/%d %s", done, total, r.URL[strings.LastIndex(r.URL, "/")+1:]))
		for i := range ins {
			if wants[i][r.SHA256] {
				arrived[i] <- cache.BlobPath(r.SHA256)
			}
		}
	})
	if fetchErr != nil {
		cancel()
	}
	for _, c := range arrived {
		close(c)
	}
	wg.Wait()
	if share != nil {
		share.Release()
	}
	// The first build error, unless it is a cancellation another build's
	// failure or a failed download caused: then that failure.
	at := -1
	for i, err := range errs {
		if err != nil && (at < 0 || errors.Is(errs[at], context.Canceled) && !errors.Is(err, context.Canceled)) {
			at = i
		}
	}
	if at >= 0 && (fetchErr == nil || !errors.Is(errs[at], context.Canceled)) {
		err := errs[at]
		if len(ins) > 1 {
			return nil, fmt.Errorf("%s: %w", PlatformName(ins[at].arch), err)
		}
		return nil, err
	}
	if fetchErr != nil {
		if o.Lock != "" {
			return nil, fmt.Errorf("a package pinned by %s can no longer be fetched with its sha256: %w", o.Lock, fetchErr)
		}
		return nil, fetchErr
	}
	return imgs, nil
}

// buildSetting is what a build takes from gen's flags and downloads
// beyond the input: the size limits, the layer compression, the channel
// naming each package file as it arrives, whether it is one of several
// platforms (its progress lines then name the platform), and the Python
// bytecode it shares with the other builds of an index (as the donor, or
// taking the donor's).
type buildSetting struct {
	maxImage, maxFile int64
	comp              assemble.Compression
	arrived           <-chan string
	several           bool
	share             *assemble.BytecodeShare
	donor             bool
	takesBytecode     bool
}

// buildSpec is the spec of the input's image.
func (in *Input) buildSpec(o GenOptions, user User, payload packages.Payload, set buildSetting) (assemble.Spec, error) {
	spec, err := in.spec(o, user, payload)
	if err != nil {
		return spec, err
	}
	spec.MaxImageSize, spec.MaxFileSize = set.maxImage, set.maxFile
	spec.Compression = set.comp
	spec.Arrived = set.arrived
	// File contents wait on disk, in the cache, rather than in memory.
	spec.SpoolDir = in.cache.Dir
	spec.Bytecode, spec.BytecodeDonor = set.share, set.donor
	spec.Sandbox = o.Sandbox
	spec.Progress = o.progress()
	if set.several {
		name := PlatformName(in.arch)
		spec.Progress = func(s string) { o.progress()(name + ": " + s) }
	}
	return spec, nil
}

// platformImage is the PlatformImage of the input's image.
func (in *Input) platformImage(spec assemble.Spec, img v1.Image, rep *assemble.Report, payload packages.Payload) (*PlatformImage, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	rep.Warnings = append(rep.Warnings, appWarnings(in.app)...)
	return &PlatformImage{Arch: in.arch, Platform: PlatformOf(in.arch), Image: img, Digest: d.String(), Created: spec.Created, Distro: in.distro,
		Plan: in.plan, Levels: in.levels, Indexes: in.indexes, Resolution: in.res, Report: rep, payload: payload, App: in.app}, nil
}

// fromMemo is the input's image from the image memo, or nil when the memo
// has none for these inputs (or one of the package files is not in the
// cache, or fails its check).
func (in *Input) fromMemo(o GenOptions, user User, payload packages.Payload, set buildSetting) (*PlatformImage, error) {
	spec, err := in.buildSpec(o, user, payload, set)
	if err != nil {
		return nil, err
	}
	key := in.memoKey(spec, set.takesBytecode)
	if key == "" || !in.packagesCached() {
		return nil, nil
	}
	img, rep, ok := assemble.LoadImage(in.cache, key, spec.SpoolDir)
	if !ok {
		return nil, nil
	}
	pi, err := in.platformImage(spec, img, rep, payload)
	if pi != nil {
		pi.memo = true
	}
	return pi, err
}

// build builds the input's image, and keeps it in the image memo.
func (in *Input) build(ctx context.Context, o GenOptions, user User, payload packages.Payload, set buildSetting) (*PlatformImage, error) {
	spec, err := in.buildSpec(o, user, payload, set)
	if err != nil {
		return nil, err
	}
	img, rep, err := assemble.Build(ctx, spec)
	if err != nil {
		return nil, err
	}
	if key := in.memoKey(spec, set.takesBytecode); key != "" && len(rep.Warnings) == 0 {
		_ = assemble.StoreImage(in.cache, key, img, rep)
	}
	return in.platformImage(spec, img, rep, payload)
}

// spec turns the plan into what the assembler builds.
func (in *Input) spec(o GenOptions, u User, payload packages.Payload) (assemble.Spec, error) {
	created := time.Unix(0, 0).UTC() // assemble's default, when undated
	if o.SourceDate != nil {
		created = o.SourceDate.UTC()
	}
	cfg := o.Settings.apply(in.plan.Config)
	user, workdir := u.WithSettings(in.plan.Config, o.Settings)
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
	spec.ClampMTimes = o.SourceDate != nil
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
	maps.Copy(spec.Annotations, o.Settings.Annotations)

	for li, lv := range in.plan.Levels {
		layer := assemble.Layer{Name: lv.Name, Generate: in.plan.Chain[li].Generate}
		layer.PythonBytecode = in.plan.Chain[li].PythonBytecode
		for _, p := range in.levels[li] {
			layer.Packages = append(layer.Packages, assemble.Unpack{Pkg: p, File: in.cache.BlobPath(p.SHA256)})
		}
		prof := in.plan.Chain[li]
		for _, f := range prof.Files {
			if f.Src != "" {
				hf, err := hostFilesOf(f, prof.Dir)
				if err != nil {
					return assemble.Spec{}, fmt.Errorf("profile %s: %w", prof.Name, err)
				}
				layer.Files = append(layer.Files, hf...)
				continue
			}
			af, err := fileOf(f)
			if err != nil {
				return assemble.Spec{}, fmt.Errorf("profile %s: %w", prof.Name, err)
			}
			layer.Files = append(layer.Files, af)
		}
		layer.Accounts = accountsOf(prof.Accounts)
		spec.Layers = append(spec.Layers, layer)
	}
	top := &spec.Layers[len(spec.Layers)-1]
	cas, err := caCertFiles(o.CACerts, in.distro)
	if err != nil {
		return assemble.Spec{}, err
	}
	top.Files = append(top.Files, cas...)
	for _, a := range o.AddFiles {
		src, dest, err := addFileOf(a)
		if err != nil {
			return assemble.Spec{}, err
		}
		hf, err := assemble.HostFiles(src, dest, assemble.HostOptions{})
		if err != nil {
			return assemble.Spec{}, &OptionError{Option: "AddFiles", Value: a, Err: err}
		}
		top.Files = append(top.Files, hf...)
	}
	if u.Account != nil {
		top.Accounts = append(top.Accounts, *u.Account)
	}
	if in.app != nil {
		spec.Layers = append(spec.Layers, in.app.layer())
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
