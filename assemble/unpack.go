package assemble

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/distroless-dev/distroless/packages"
)

// entry is one payload entry, cleaned and mapped to merged-/usr.
type entry struct {
	path     string // relative to the root, clean, no leading slash
	typ      byte   // tar.TypeReg, TypeDir, TypeSymlink, TypeLink
	mode     int64  // permission bits (and sticky for directories)
	uid, gid int
	c        content
	link     string // symlink target; hard link: the target entry's path
	hl       int    // TypeLink: index of the target entry
	mtime    int64  // seconds since 1970, as the package has it
}

// unpacked is one package read into memory.
type unpacked struct {
	u        Unpack
	label    string // "name version" for messages
	entries  []entry
	usrDirs  []string // merged-/usr directories its paths went through
	warnings []string
}

// mergedDirs are the top-level directories that are symlinks into /usr.
var mergedDirs = map[string]bool{
	"bin": true, "sbin": true, "lib": true, "lib32": true, "lib64": true,
	"libx32": true, "libo32": true,
}

// cleanName turns a payload entry name into a clean path relative to the
// root; ok is false when it escapes the root. The root itself is "".
func cleanName(name string) (string, bool) {
	name = strings.TrimLeft(name, "/")
	if name == "" {
		return "", true
	}
	c := path.Clean(name)
	if c == "." {
		return "", true
	}
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", false
	}
	return c, true
}

// mergeUsr maps a clean path under /bin, /lib… to /usr. top is the
// merged directory the path went through ("" if none); whole is true when
// the path is that directory itself.
func mergeUsr(p string) (mapped, top string, whole bool) {
	first, _, _ := strings.Cut(p, "/")
	if !mergedDirs[first] {
		return p, "", false
	}
	return "usr/" + p, first, p == first
}

// cleanLink makes a symlink target safe: a relative target that climbs
// above the root (seen from the link's directory) is rewritten to the
// target it has inside the image. It returns the new target and whether
// it was changed.
func cleanLink(linkPath, target string) (string, bool) {
	if strings.HasPrefix(target, "/") {
		c := path.Clean(target)
		return c, c != target && strings.Contains(target, "..")
	}
	depth := strings.Count(path.Dir("/"+linkPath), "/")
	if path.Dir("/"+linkPath) == "/" {
		depth = 0
	}
	d := depth
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "..":
			d--
			if d < 0 {
				abs := path.Join("/"+path.Dir(linkPath), target)
				rel := relPath(path.Dir(linkPath), strings.TrimPrefix(abs, "/"))
				return rel, true
			}
		case "", ".":
		default:
			d++
		}
	}
	return target, false
}

// relPath returns the relative path from directory from to to, both
// clean and relative to the root ("." for the root).
func relPath(from, to string) string {
	split := func(s string) []string {
		if s == "" || s == "." {
			return nil
		}
		return strings.Split(s, "/")
	}
	f, t := split(from), split(to)
	i := 0
	for i < len(f) && i < len(t) && f[i] == t[i] {
		i++
	}
	var parts []string
	for range f[i:] {
		parts = append(parts, "..")
	}
	parts = append(parts, t[i:]...)
	if len(parts) == 0 {
		return "."
	}
	return strings.Join(parts, "/")
}

// payloadLimits are the size limits of a build's payloads.
type payloadLimits struct {
	file, image int64
	total       atomic.Int64 // bytes of regular files read so far, all packages
}

// readPackage reads one package's payload: its regular files' contents
// go to the spool (small ones stay in memory).
func readPackage(spec *Spec, pr *pruner, sp *spool, lim *payloadLimits, u Unpack) (*unpacked, error) {
	pk := &unpacked{u: u, label: u.Pkg.Name + " " + u.Pkg.Version}
	if id, ok := spec.Payload.(packages.Identifier); ok {
		// The package file must be the package the index or lockfile
		// named: checked before anything of it is read or cached.
		got, err := id.Identity(u.File)
		if err != nil {
			return nil, fmt.Errorf("package %s (%s): %w", pk.label, u.File, err)
		}
		if err := got.Matches(u.Pkg); err != nil {
			return nil, fmt.Errorf("%w (%s)", err, u.File)
		}
	}
	byPath := map[string]int{} // cleaned, mapped path -> entry index (for hard links)
	usr := map[string]bool{}
	err := spec.Payload.Walk(u.File, func(h *tar.Header, r io.Reader) error {
		name, ok := cleanName(h.Name)
		if !ok {
			return fmt.Errorf("entry %q escapes the root", h.Name)
		}
		if name == "" {
			return nil
		}
		p, top, whole := mergeUsr(name)
		if top != "" {
			usr[top] = true
		}
		if whole {
			// /bin, /lib… themselves are the image's symlinks into /usr.
			return nil
		}
		mode := h.Mode & 0o7777 &^ (0o4000 | 0o2000)
		e := entry{path: p, mode: mode, uid: max(h.Uid, 0), gid: max(h.Gid, 0), hl: -1, mtime: h.ModTime.Unix()}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			e.typ = tar.TypeReg
			e.mode &^= 0o1000
		case tar.TypeDir:
			e.typ = tar.TypeDir
		case tar.TypeSymlink:
			e.typ = tar.TypeSymlink
			e.mode = 0o777
			if h.Linkname == "" {
				pk.warnings = append(pk.warnings, fmt.Sprintf("%s: /%s: symlink with an empty target dropped", pk.label, p))
				return nil
			}
			t, changed := cleanLink(p, h.Linkname)
			if changed {
				pk.warnings = append(pk.warnings, fmt.Sprintf("%s: /%s: symlink target %q leaves the root; rewritten as %q", pk.label, p, h.Linkname, t))
			}
			e.link = t
		case tar.TypeLink:
			e.typ = tar.TypeLink
			t, ok := cleanName(h.Linkname)
			if !ok || t == "" {
				return fmt.Errorf("hard link %q -> %q escapes the root", h.Name, h.Linkname)
			}
			t, _, _ = mergeUsr(t)
			i, ok := byPath[t]
			if !ok || pk.entries[i].typ != tar.TypeReg {
				return fmt.Errorf("hard link %q -> %q: no earlier regular file of that name", h.Name, h.Linkname)
			}
			e.hl, e.link = i, t
			e.mode = pk.entries[i].mode
			e.uid, e.gid = pk.entries[i].uid, pk.entries[i].gid
			e.mtime = pk.entries[i].mtime
		default:
			pk.warnings = append(pk.warnings, fmt.Sprintf("%s: /%s: %s dropped", pk.label, p, typeName(h.Typeflag)))
			return nil
		}
		if e.typ == tar.TypeReg {
			if h.Size < 0 {
				return fmt.Errorf("entry %q: size %d out of range", h.Name, h.Size)
			}
			// The limits hold before anything of the file is read.
			if h.Size > lim.file {
				return &LimitError{Package: pk.label, File: u.File, Path: p, Size: h.Size, Limit: lim.file}
			}
			if total := lim.total.Add(h.Size); total > lim.image {
				return &LimitError{Package: pk.label, File: u.File, Path: p, Size: h.Size, Total: total, Limit: lim.image, Image: true}
			}
			// Pruned files are read all the same: a kept hard link may
			// name one. Placement leaves them out.
			if h.Size > 0 {
				c, err := sp.read(r, h.Size)
				if err != nil {
					return fmt.Errorf("entry %q: %w", h.Name, err)
				}
				e.c = c
			}
		} else if e.typ != tar.TypeLink && pr.prunes(p, e.typ) {
			return nil
		}
		byPath[p] = len(pk.entries)
		pk.entries = append(pk.entries, e)
		return nil
	})
	if err != nil {
		if le := (*LimitError)(nil); errors.As(err, &le) {
			return nil, err
		}
		return nil, fmt.Errorf("unpacking %s (%s): %w", pk.label, u.File, err)
	}
	for d := range usr {
		pk.usrDirs = append(pk.usrDirs, d)
	}
	sort.Strings(pk.usrDirs)

	return pk, nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "FIFO"
	}
	return fmt.Sprintf("entry of tar type %q", t)
}

// readAll reads every package of every layer, in parallel: largest file
// first, or, with Spec.Arrived, each as its file arrives. The result is
// indexed like the layers and their packages.
func readAll(ctx context.Context, spec *Spec, pr *pruner, sp *spool, lim *payloadLimits) ([][]*unpacked, error) {
	type job struct {
		li, pi int
		size   int64
	}
	out := make([][]*unpacked, len(spec.Layers))
	var jobs []job
	for li, l := range spec.Layers {
		out[li] = make([]*unpacked, len(l.Packages))
		for pi, u := range l.Packages {
			size := u.Pkg.Size
			if st, err := os.Stat(u.File); err == nil {
				size = st.Size()
			}
			jobs = append(jobs, job{li, pi, size})
		}
	}
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].size > jobs[j].size })
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan job, len(jobs))
	waiting := map[string][]job{} // files not arrived yet
	if spec.Arrived == nil {
		for _, j := range jobs {
			queue <- j
		}
		close(queue)
	} else {
		for _, j := range jobs {
			f := spec.Layers[j.li].Packages[j.pi].File
			waiting[f] = append(waiting[f], j)
		}
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	if spec.Arrived != nil {
		// Each package is queued as its file arrives; what never arrives
		// is an error once the channel is closed.
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(queue)
			for len(waiting) > 0 {
				select {
				case <-ctx.Done():
					return
				case f, ok := <-spec.Arrived:
					if !ok {
						mu.Lock()
						for _, f := range slices.Sorted(maps.Keys(waiting)) {
							u := spec.Layers[waiting[f][0].li].Packages[waiting[f][0].pi]
							errs = append(errs, fmt.Errorf("package %s %s (%s) was not fetched", u.Pkg.Name, u.Pkg.Version, f))
						}
						mu.Unlock()
						return
					}
					for _, j := range waiting[f] {
						queue <- j
					}
					delete(waiting, f)
				}
			}
		}()
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), len(jobs)))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				if ctx.Err() != nil {
					return
				}
				pk, err := readPackage(spec, pr, sp, lim, spec.Layers[j.li].Packages[j.pi])
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
					cancel()
				}
				out[j.li][j.pi] = pk
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
