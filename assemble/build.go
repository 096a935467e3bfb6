package assemble

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/distroless-dev/distroless/internal/units"
	"github.com/distroless-dev/distroless/packages"
)

// maxListed bounds the problems one error lists.
const maxListed = 25

// Build assembles the image Spec describes. File contents and the
// compressed layers are kept in an unnamed spool file in Spec.SpoolDir
// (spool.go), from which the image's layers are read, so memory does not
// grow with the image; nothing else is written to disk.
//
// It runs a fixed sequence of stages, each with one job: validate the
// spec, unpack the packages, place each layer (packages, package
// database, files, generators, Python bytecode), place the os-release
// layer, check the finished tree, write the layers (tar and compression,
// started in the background as each layer is placed, with the ELF check
// running alongside), judge the ELF check, and make the image config and
// manifest.
func Build(ctx context.Context, spec Spec) (v1.Image, *Report, error) {
	b, err := validateSpec(ctx, &spec)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.ctx = ctx
	for _, stage := range []func() error{
		b.unpack,
		b.placeLayers,
		b.bytecodeShared,
		b.placeRelease,
		b.checkTree,
		b.writeLayers,
		b.checkLibraries,
		b.makeImage,
	} {
		err := stage()
		if err == nil {
			err = b.spool.err()
		}
		if err != nil {
			cancel()
			b.bg.Wait() // layers being written read the spool
			b.puts.Wait()
			b.spool.close()
			return nil, nil, err
		}
	}
	b.puts.Wait()
	// The image reads its layers from the spool file, which stays open
	// as long as the image is reachable.
	return b.img, b.rep, nil
}

// build is the state Build's stages pass on: each stage reads what the
// earlier ones left and adds its own part.
type build struct {
	ctx      context.Context
	spec     *Spec
	progress func(string)
	arch     archInfo
	env      []string
	created  time.Time
	pr       *pruner
	npkgs    int
	spool    *spool // file contents and compressed layers
	limits   *payloadLimits
	comp     Compression

	pkgs  [][]*unpacked // unpacked packages, per layer of spec.Layers
	t     *tree
	rep   *Report
	jobs  []*layerJob // each layer's tar and compression, started when it is placed
	bg    sync.WaitGroup
	puts  sync.WaitGroup // derived-cache entries being written
	names []string       // each layer's name
	ran   []string       // the generators run so far, in order

	problems []elfProblem
	layers   []*memLayer
	img      v1.Image
}

// validateSpec checks the spec and settles its defaults.
func validateSpec(ctx context.Context, spec *Spec) (*build, error) {
	b := &build{ctx: ctx, spec: spec, progress: spec.Progress, rep: &Report{}}
	var err error
	if b.progress == nil {
		b.progress = func(string) {}
	}
	arch, ok := arches[spec.Arch]
	if !ok {
		return nil, fmt.Errorf("unsupported architecture %q", spec.Arch)
	}
	b.arch = arch
	if b.comp, err = ParseCompression(string(spec.Compression)); err != nil {
		return nil, err
	}
	if len(spec.Layers) == 0 {
		return nil, errors.New("no layers")
	}
	for _, l := range spec.Layers {
		for _, u := range l.Packages {
			if u.Pkg == nil {
				return nil, fmt.Errorf("layer %s: a package without index entry (%s)", l.Name, u.File)
			}
			b.npkgs++
		}
	}
	if b.npkgs > 0 && spec.Payload == nil {
		return nil, errors.New("no payload reader for the packages")
	}
	created := spec.Created
	if created.IsZero() {
		created = defaultCreated
	}
	b.created = created.UTC().Truncate(1e9)
	pr, err := newPruner(spec.PruneFiles)
	if err != nil {
		return nil, err
	}
	b.pr = pr
	b.env = mergeEnv(defaultEnv, spec.Env)
	b.limits = &payloadLimits{file: spec.MaxFileSize, image: spec.MaxImageSize}
	if b.limits.file <= 0 {
		b.limits.file = DefaultMaxFileSize
	}
	if b.limits.image <= 0 {
		b.limits.image = DefaultMaxImageSize
	}
	b.spool = newSpool(spec.SpoolDir)
	return b, nil
}

// unpack reads every package's payload.
func (b *build) unpack() error {
	b.progress(fmt.Sprintf("unpacking %d packages", b.npkgs))
	pkgs, err := readAll(b.ctx, b.spec, b.pr, b.spool, b.limits)
	if err != nil {
		return err
	}
	b.pkgs = pkgs
	return nil
}

// placeLayers places every layer of the spec, in order, and lists what
// each writes.
func (b *build) placeLayers() error {
	b.t = newTree(b.pr)
	if b.spec.ClampMTimes {
		b.t.times = mtimes{clamp: true, max: b.created.Unix(), gen: max(b.created.Unix(), minMTime)}
	}
	// A format with a package database (packages.PackageDB: dpkg's
	// status.d, rpmdb) gets it written into each layer that adds packages.
	pkgDB, _ := b.spec.Payload.(packages.PackageDB)
	seen := map[string]bool{} // package IDs placed so far
	var installed []packages.Installed
	for li, l := range b.spec.Layers {
		b.t.startLayer()
		if li == 0 {
			b.placeUsrLinks()
		}
		here := b.placePackages(b.pkgs[li], seen)
		for _, pk := range here {
			installed = append(installed, packages.Installed{Pkg: pk.u.Pkg, File: pk.u.File})
		}
		if pkgDB != nil && len(here) > 0 {
			if err := b.placePackageDB(pkgDB, installed); err != nil {
				return fmt.Errorf("layer %s: %w", l.Name, err)
			}
		}
		if li == 0 {
			for _, f := range baseFiles() {
				b.t.placeFile(f)
			}
		}
		for _, f := range l.Files {
			if f.Source != "" && f.Mode.IsRegular() {
				c, err := b.readSource(f)
				if err != nil {
					return err
				}
				sum, err := c.sha256()
				if err != nil {
					return err
				}
				f.src = &c
				b.rep.HostFiles = append(b.rep.HostFiles, HostFile{Path: f.Path, Source: f.Source, Layer: l.Name,
					SHA256: hex.EncodeToString(sum[:]), Size: c.size()})
			} else if f.From != "" && f.Mode.IsRegular() {
				sum := sha256.Sum256(f.Data)
				b.rep.HostFiles = append(b.rep.HostFiles, HostFile{Path: f.Path, Source: f.From, Layer: l.Name,
					SHA256: hex.EncodeToString(sum[:]), Size: int64(len(f.Data))})
			}
			b.t.placeFile(f)
		}
		if err := b.placeAccounts(l.Accounts); err != nil {
			return fmt.Errorf("layer %s: %w", l.Name, err)
		}
		if err := b.runGenerators(l.Generate); err != nil {
			return fmt.Errorf("layer %s: %w", l.Name, err)
		}
		if err := b.rerunGenerators(l.Generate); err != nil {
			return fmt.Errorf("layer %s: %w", l.Name, err)
		}
		if l.PythonBytecode {
			if err := b.placeBytecode(); err != nil {
				return fmt.Errorf("layer %s: Python bytecode: %w", l.Name, err)
			}
		}
		b.t.dropPrunedLinks()
		b.endLayer(l.Name, len(here))
	}
	return nil
}

// placeUsrLinks makes the bottom layer's merged-/usr links.
func (b *build) placeUsrLinks() {
	for _, d := range []string{"bin", "sbin", "lib"} {
		b.t.ensureUsrLink(d)
	}
	if b.arch.lib64 {
		b.t.ensureUsrLink("lib64")
	}
}

// placePackages places a layer's packages not already in this or a lower
// layer, in name, architecture and version order, and returns them.
func (b *build) placePackages(pkgs []*unpacked, seen map[string]bool) []*unpacked {
	var here []*unpacked
	for _, pk := range pkgs {
		id := pk.u.Pkg.ID()
		if seen[id] {
			continue // already in this or a lower layer
		}
		seen[id] = true
		here = append(here, pk)
	}
	sort.SliceStable(here, func(i, j int) bool {
		a, b := here[i].u.Pkg, here[j].u.Pkg
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Arch != b.Arch {
			return a.Arch < b.Arch
		}
		return a.Version < b.Version
	})
	for _, pk := range here {
		for _, d := range pk.usrDirs {
			b.t.ensureUsrLink(d)
		}
		b.rep.Warnings = append(b.rep.Warnings, pk.warnings...)
	}
	b.t.placePackages(here)
	return here
}

// placePackageDB writes one database for every package so far, so each
// layer that adds packages has it whole; a file a lower layer already
// has, unchanged, is not written again.
func (b *build) placePackageDB(pkgDB packages.PackageDB, installed []packages.Installed) error {
	files, err := pkgDB.PackageDB(installed, b.created)
	if err != nil {
		return err
	}
	for _, f := range files {
		if !b.t.has(f.Path, f.Data) {
			b.t.placeFile(File{Path: f.Path, Mode: 0o644, Data: f.Data})
		}
	}
	return nil
}

// runGenerators runs the named generators on the tree as it stands and
// places their files.
func (b *build) runGenerators(names []string) error {
	for _, name := range names {
		g, err := lookupGenerator(name)
		if err != nil {
			return err
		}
		files, err := g(treeFS{b.t})
		if err != nil {
			return fmt.Errorf("generator %s: %w", name, err)
		}
		for _, f := range files {
			b.t.placeFile(f)
		}
		if !slices.Contains(b.ran, name) {
			b.ran = append(b.ran, name)
		}
	}
	return nil
}

// rerunGenerators runs again, in the order they first ran, the
// generators of lower layers that watch a path this layer placed (see
// registerRerun); own names those this layer ran itself.
func (b *build) rerunGenerators(own []string) error {
	for _, name := range b.ran {
		generatorsMu.RLock()
		r, ok := reruns[name]
		generatorsMu.RUnlock()
		if !ok || slices.Contains(own, name) || !b.t.placedUnder(r.watch) {
			continue
		}
		files, err := r.g(treeFS{b.t})
		if err != nil {
			return fmt.Errorf("generator %s: %w", name, err)
		}
		for _, f := range files {
			b.t.placeFile(f)
		}
	}
	return nil
}

// placeBytecode compiles the tree's Python sources and places the .pyc
// files.
func (b *build) placeBytecode() error {
	files, warns, err := b.t.pythonBytecode(b.ctx, b.spec.Arch, b.spec.Cache, &b.puts, b.spec.Bytecode, b.spec.BytecodeDonor, b.spec.Sandbox, b.progress)
	if err != nil {
		return err
	}
	b.rep.Warnings = append(b.rep.Warnings, warns...)
	for _, f := range files {
		b.t.placeFile(f)
	}
	return nil
}

// bytecodeShared tells the other builds of an image index, once every
// layer is placed, that a donor has published all its Python bytecode.
func (b *build) bytecodeShared() error {
	if b.spec.Bytecode != nil && b.spec.BytecodeDonor {
		b.spec.Bytecode.Close()
	}
	return nil
}

// endLayer takes the layer just placed as the next layer of the image.
func (b *build) endLayer(name string, npkgs int) {
	b.jobs = append(b.jobs, b.writeLayer(name, b.t.snapshot()))
	b.names = append(b.names, name)
	b.rep.Layers = append(b.rep.Layers, LayerReport{Name: name, Packages: npkgs})
}

// placeRelease places the os-release layer, when the spec has one.
func (b *build) placeRelease() error {
	spec := b.spec
	if len(spec.OSRelease) == 0 && len(spec.ReleaseFiles) == 0 {
		return nil
	}
	b.t.startLayer()
	if len(spec.OSRelease) > 0 {
		data := osRelease(spec.OSRelease)
		b.t.placeFile(File{Path: "/usr/lib/os-release", Mode: 0o644, Data: data})
		b.t.placeFile(File{Path: "/etc/os-release", Mode: 0o644, Data: data})
	}
	for p, content := range spec.ReleaseFiles {
		b.t.placeFile(File{Path: p, Mode: 0o644, Data: []byte(content)})
	}
	b.endLayer("os-release", 0)
	return nil
}

// checkTree fails on the problems placing found and counts the files.
func (b *build) checkTree() error {
	b.rep.Warnings = append(b.rep.Warnings, b.t.warnings...)
	if len(b.t.errs) > 0 {
		return listError("cannot assemble the root filesystem", b.t.errs)
	}
	for _, n := range b.t.view {
		b.rep.Files++
		if n.typ == tar.TypeReg {
			b.rep.Size += n.c.size()
		}
	}
	return nil
}

// layerJob is one layer's tar and compression, done in the background
// from the moment the layer is placed, while the layers above it are
// placed (and their Python bytecode compiled).
type layerJob struct {
	done          chan struct{}
	files         int
	content, size int64 // file content and tar stream bytes
	layer         *memLayer
	err           error
}

// writeLayer starts writing a placed layer's tar and compressing it. The
// entries are a snapshot: placing later layers does not change them.
func (b *build) writeLayer(name string, entries []tarEntry) *layerJob {
	j := &layerJob{done: make(chan struct{}), files: len(entries)}
	b.bg.Add(1)
	go func() {
		defer b.bg.Done()
		defer close(j.done)
		t, content, err := writeTar(entries)
		if err != nil {
			j.err = fmt.Errorf("layer %s: %w", name, err)
			return
		}
		j.content, j.size = content, t.size
		ls, err := compressLayersWith(b.ctx, b.spool, []*stream{t}, b.comp, b.spec.Cache)
		if err != nil {
			j.err = err
			return
		}
		j.layer = ls[0]
	}()
	return j
}

// writeLayers waits for the layers' tars and compression, while the ELF
// check looks for missing libraries alongside.
func (b *build) writeLayers() error {
	rep := b.rep
	b.progress(fmt.Sprintf("writing %d layers (%d files, %s uncompressed)", len(b.jobs), rep.Files, units.Size(rep.Size)))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.problems, rep.ELFFiles = checkELF(b.t, b.arch, b.env, b.spec.LibraryPath)
	}()
	var err error
	for i, j := range b.jobs {
		<-j.done
		if j.err != nil {
			if err == nil {
				err = j.err
			}
			continue
		}
		rep.Layers[i].Files = j.files
		rep.Layers[i].Size = j.content
		rep.Layers[i].TarSize = j.size
		b.layers = append(b.layers, j.layer)
	}
	wg.Wait()
	return err
}

// checkLibraries fails on the libraries the ELF check found missing, or
// reports them as warnings (AllowMissingLibs, or a problem that is only
// a warning).
func (b *build) checkLibraries() error {
	var missing []string
	for _, p := range b.problems {
		msg := "/" + p.path + ": " + p.msg
		if p.warn || b.spec.AllowMissingLibs {
			b.rep.Warnings = append(b.rep.Warnings, msg)
		} else {
			missing = append(missing, msg)
		}
	}
	if len(missing) > 0 {
		return listError("missing libraries (AllowMissingLibs to allow)", missing)
	}
	return nil
}

// makeImage makes the image config and manifest over the written layers.
func (b *build) makeImage() error {
	img, err := makeImage(b.spec, b.arch, b.env, b.created, b.names, b.layers)
	if err != nil {
		return err
	}
	for i, l := range b.layers {
		b.rep.Layers[i].CompressedSize = l.size
		b.rep.Layers[i].Digest = l.digest.String()
		b.rep.Layers[i].DiffID = l.diffID.String()
	}
	b.img = img
	return nil
}

// has reports whether the image so far has, at absolute path p, a file
// generated with exactly that content (mode 0644, owned by root).
func (t *tree) has(p string, data []byte) bool {
	c, ok := cleanName(p)
	if !ok {
		return false
	}
	c, _, _ = mergeUsr(c)
	n := t.view[c]
	return n != nil && n.owner == generatedOwner && n.typ == tar.TypeReg && n.mode == 0o644 &&
		n.uid == 0 && n.gid == 0 && n.c.sp == nil && bytes.Equal(n.c.b, data)
}

func makeImage(spec *Spec, arch archInfo, env []string, created time.Time, names []string, layers []*memLayer) (v1.Image, error) {
	ct := v1.Time{Time: created}
	var base v1.Image = empty.Image
	base = mutate.MediaType(base, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	cfg := &v1.ConfigFile{
		Architecture: spec.Arch,
		Variant:      arch.variant,
		OS:           "linux",
		Created:      ct,
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint: spec.Entrypoint,
			Cmd:        spec.Cmd,
			Env:        env,
			User:       spec.User,
			WorkingDir: spec.WorkDir,
		},
	}
	if len(spec.Labels) > 0 {
		cfg.Config.Labels = spec.Labels
	}
	base, err := mutate.ConfigFile(base, cfg)
	if err != nil {
		return nil, err
	}
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		adds[i] = mutate.Addendum{
			Layer:     l,
			MediaType: l.mediaType,
			History:   v1.History{Created: ct, CreatedBy: "distroless: layer " + names[i]},
		}
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, err
	}
	if len(spec.Annotations) > 0 {
		ai, ok := mutate.Annotations(img, spec.Annotations).(v1.Image)
		if !ok {
			return nil, errors.New("annotating the image manifest failed")
		}
		img = ai
	}
	return img, nil
}

// mergeEnv adds KEY=VALUE pairs to base, replacing a key base has.
func mergeEnv(base, add []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range add {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, o := range out {
			if ok, _, _ := strings.Cut(o, "="); ok == k {
				out[i], replaced = kv, true
				break
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// listError joins problems into one error, listing at most maxListed.
func listError(what string, items []string) error {
	sort.Strings(items)
	var b strings.Builder
	fmt.Fprintf(&b, "%s:", what)
	for i, it := range items {
		if i == maxListed {
			fmt.Fprintf(&b, "\n  … and %d more", len(items)-maxListed)
			break
		}
		b.WriteString("\n  " + it)
	}
	return errors.New(b.String())
}
