package assemble

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/distroless-dev/distroless/packages"
)

// maxListed bounds the problems one error lists.
const maxListed = 25

// Build assembles the image Spec describes. The image's layers are held in
// memory; nothing is written to disk.
func Build(ctx context.Context, spec Spec) (v1.Image, *Report, error) {
	progress := spec.Progress
	if progress == nil {
		progress = func(string) {}
	}
	arch, ok := arches[spec.Arch]
	if !ok {
		return nil, nil, fmt.Errorf("unsupported architecture %q", spec.Arch)
	}
	if len(spec.Layers) == 0 {
		return nil, nil, errors.New("no layers")
	}
	npkgs := 0
	for _, l := range spec.Layers {
		for _, u := range l.Packages {
			if u.Pkg == nil {
				return nil, nil, fmt.Errorf("layer %s: a package without index entry (%s)", l.Name, u.File)
			}
			npkgs++
		}
	}
	if npkgs > 0 && spec.Payload == nil {
		return nil, nil, errors.New("no payload reader for the packages")
	}
	created := spec.Created
	if created.IsZero() {
		created = DefaultCreated
	}
	created = created.UTC().Truncate(1e9)
	pr, err := newPruner(spec.PruneFiles)
	if err != nil {
		return nil, nil, err
	}
	env := mergeEnv(DefaultEnv, spec.Env)

	progress(fmt.Sprintf("unpacking %d packages", npkgs))
	pkgs, err := readAll(ctx, &spec, pr)
	if err != nil {
		return nil, nil, err
	}

	// Place everything, layer by layer, and list what each layer writes.
	t := newTree(pr)
	if spec.ClampMTimes {
		t.times = mtimes{clamp: true, max: created.Unix(), gen: max(created.Unix(), MinMTime)}
	}
	rep := &Report{}
	seen := map[string]bool{} // package IDs placed so far
	// A format with a package database (packages.PackageDB: dpkg's
	// status.d, rpmdb) gets it written into each layer that adds packages.
	pkgDB, _ := spec.Payload.(packages.PackageDB)
	var installed []packages.Installed
	var snaps [][]tarEntry
	names := []string{}
	for li, l := range spec.Layers {
		t.startLayer()
		if li == 0 {
			for _, d := range []string{"bin", "sbin", "lib"} {
				t.ensureUsrLink(d)
			}
			if arch.lib64 {
				t.ensureUsrLink("lib64")
			}
		}
		var here []*unpacked
		for _, pk := range pkgs[li] {
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
				t.ensureUsrLink(d)
			}
			rep.Warnings = append(rep.Warnings, pk.warnings...)
		}
		t.placePackages(here)
		for _, pk := range here {
			installed = append(installed, packages.Installed{Pkg: pk.u.Pkg, File: pk.u.File})
		}
		if pkgDB != nil && len(here) > 0 {
			// One database for every package so far, so each layer that
			// adds packages has it whole; a file a lower layer already
			// has, unchanged, is not written again.
			files, err := pkgDB.PackageDB(installed, created)
			if err != nil {
				return nil, nil, fmt.Errorf("layer %s: %w", l.Name, err)
			}
			for _, f := range files {
				if !t.has(f.Path, f.Data) {
					t.placeFile(File{Path: f.Path, Mode: 0o644, Data: f.Data})
				}
			}
		}
		if li == 0 {
			for _, f := range baseFiles() {
				t.placeFile(f)
			}
		}
		for _, f := range l.Files {
			t.placeFile(f)
		}
		for _, name := range l.Generate {
			g, err := lookupGenerator(name)
			if err != nil {
				return nil, nil, fmt.Errorf("layer %s: %w", l.Name, err)
			}
			files, err := g(treeFS{t})
			if err != nil {
				return nil, nil, fmt.Errorf("layer %s: generator %s: %w", l.Name, name, err)
			}
			for _, f := range files {
				t.placeFile(f)
			}
		}
		if l.PythonBytecode {
			files, warns, err := t.pythonBytecode(ctx, spec.Arch, progress)
			if err != nil {
				return nil, nil, fmt.Errorf("layer %s: Python bytecode: %w", l.Name, err)
			}
			rep.Warnings = append(rep.Warnings, warns...)
			for _, f := range files {
				t.placeFile(f)
			}
		}
		t.dropPrunedLinks()
		snaps = append(snaps, t.snapshot())
		names = append(names, l.Name)
		rep.Layers = append(rep.Layers, LayerReport{Name: l.Name, Packages: len(here)})
	}
	if len(spec.OSRelease) > 0 || len(spec.ReleaseFiles) > 0 {
		t.startLayer()
		if len(spec.OSRelease) > 0 {
			data := osRelease(spec.OSRelease)
			t.placeFile(File{Path: "/usr/lib/os-release", Mode: 0o644, Data: data})
			t.placeFile(File{Path: "/etc/os-release", Mode: 0o644, Data: data})
		}
		for p, content := range spec.ReleaseFiles {
			t.placeFile(File{Path: p, Mode: 0o644, Data: []byte(content)})
		}
		snaps = append(snaps, t.snapshot())
		names = append(names, "os-release")
		rep.Layers = append(rep.Layers, LayerReport{Name: "os-release"})
	}
	rep.Warnings = append(rep.Warnings, t.warnings...)
	if len(t.errs) > 0 {
		return nil, nil, listError("cannot assemble the root filesystem", t.errs)
	}
	for _, n := range t.view {
		rep.Files++
		if n.typ == tar.TypeReg {
			rep.Size += int64(len(n.data))
		}
	}

	// Check libraries while the layers are written and compressed.
	progress(fmt.Sprintf("writing %d layers (%d files, %s uncompressed)", len(snaps), rep.Files, humanSize(rep.Size)))
	var (
		problems []elfProblem
		wg       sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		problems, rep.ELFFiles = checkELF(t, arch, env, spec.LibraryPath)
	}()
	tars := make([]*stream, len(snaps))
	var tarErr error
	for i, s := range snaps {
		b, content, err := writeTar(s)
		if err != nil {
			tarErr = fmt.Errorf("layer %s: %w", names[i], err)
			break
		}
		tars[i] = b
		rep.Layers[i].Files = len(s)
		rep.Layers[i].Size = content
		rep.Layers[i].TarSize = b.size
	}
	var layers []*memLayer
	if tarErr == nil {
		layers, tarErr = compressLayers(ctx, tars)
	}
	wg.Wait()
	if tarErr != nil {
		return nil, nil, tarErr
	}
	var missing []string
	for _, p := range problems {
		msg := "/" + p.path + ": " + p.msg
		if p.warn || spec.AllowMissingLibs {
			rep.Warnings = append(rep.Warnings, msg)
		} else {
			missing = append(missing, msg)
		}
	}
	if len(missing) > 0 {
		return nil, nil, listError("missing libraries (AllowMissingLibs to allow)", missing)
	}

	img, err := makeImage(&spec, arch, env, created, names, layers)
	if err != nil {
		return nil, nil, err
	}
	for i, l := range layers {
		rep.Layers[i].CompressedSize = l.size
		rep.Layers[i].Digest = l.digest.String()
		rep.Layers[i].DiffID = l.diffID.String()
	}
	return img, rep, nil
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
		n.uid == 0 && n.gid == 0 && bytes.Equal(n.data, data)
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
			MediaType: types.OCILayer,
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

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
