package assemble

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/distroless-dev/distroless/internal/ldcache"
)

// imageFS is a read-only view of the image's root filesystem as it stands
// while a layer is built: everything the layers so far placed. Paths are
// absolute ("/usr/lib").
type imageFS interface {
	// ReadFile returns a regular file's content, following symlinks
	// inside the image.
	ReadFile(path string) ([]byte, error)
	// Realpath resolves symlinks inside the image.
	Realpath(path string) (string, error)
	// Walk calls fn for every path, sorted, with its type and (for a
	// symlink) its target.
	Walk(fn func(path string, mode fs.FileMode, link string) error) error
	// Warn adds a warning to the build's report.
	Warn(msg string)
}

// generator makes files from the image as it stands after its layer's
// packages and files were placed: work a maintainer script would have
// done, done in Go. The files go into that layer.
type generator func(imageFS) ([]File, error)

var (
	generatorsMu sync.RWMutex
	generators   = map[string]generator{}
	// reruns are the generators that run again in a later layer that
	// places something they read (watch), and how (rerun).
	reruns = map[string]rerun{}
)

// rerun says when a generator that ran in a lower layer runs again: when
// a layer places a path that is one of watch, or under one ending in
// "/"; g is what runs then.
type rerun struct {
	watch []string
	g     generator
}

// registerRerun makes the generator name run again (as g) in each later
// layer that places a path it watches: what a package's trigger would
// have done when another package, or a profile's file, changed its
// input (a CA added under /usr/local/share/ca-certificates, and then the
// bundle the Java trust store is made from).
func registerRerun(name string, g generator, watch ...string) {
	generatorsMu.Lock()
	defer generatorsMu.Unlock()
	reruns[name] = rerun{watch: watch, g: g}
}

// registerGenerator makes a generator available to Layer.Generate under a
// name; profiles name it in their generate: list.
func registerGenerator(name string, g generator) {
	generatorsMu.Lock()
	defer generatorsMu.Unlock()
	generators[name] = g
}

func lookupGenerator(name string) (generator, error) {
	generatorsMu.RLock()
	defer generatorsMu.RUnlock()
	if g, ok := generators[name]; ok {
		return g, nil
	}
	var known []string
	for n := range generators {
		known = append(known, n)
	}
	sort.Strings(known)
	return nil, fmt.Errorf("unknown generator %q (known: %s)", name, strings.Join(known, ", "))
}

// treeFS is the imageFS of a tree.
type treeFS struct{ t *tree }

func (f treeFS) Warn(msg string) { f.t.warnings = append(f.t.warnings, msg) }

func (f treeFS) Realpath(p string) (string, error) {
	rp, err := f.t.realpath(strings.TrimPrefix(p, "/"), true)
	return "/" + rp, err
}

func (f treeFS) ReadFile(p string) ([]byte, error) {
	rp, err := f.t.realpath(strings.TrimPrefix(p, "/"), true)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: p, Err: err}
	}
	n := f.t.view[rp]
	if n == nil {
		return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
	}
	if n.typ != tar.TypeReg {
		return nil, &fs.PathError{Op: "read", Path: p, Err: fmt.Errorf("not a regular file")}
	}
	b, err := n.c.bytes()
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: p, Err: err}
	}
	return b, nil
}

func (f treeFS) Walk(fn func(path string, mode fs.FileMode, link string) error) error {
	paths := make([]string, 0, len(f.t.view))
	for p := range f.t.view {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		n := f.t.view[p]
		mode := fs.FileMode(n.mode) & fs.ModePerm
		switch n.typ {
		case tar.TypeDir:
			mode |= fs.ModeDir
		case tar.TypeSymlink:
			mode |= fs.ModeSymlink
		}
		if err := fn("/"+p, mode, n.link); err != nil {
			return err
		}
	}
	return nil
}

func init() { registerGenerator("ld.so.cache", generateLdSoCache) }

// generateLdSoCache is the "ld.so.cache" generator: /etc/ld.so.cache and
// the soname links ldconfig would make (package ldcache).
func generateLdSoCache(f imageFS) ([]File, error) {
	links, cache, err := ldcache.Generate(f)
	if err != nil {
		return nil, err
	}
	files := make([]File, 0, len(links)+1)
	for _, l := range links {
		files = append(files, File{Path: l.Path, Mode: fs.ModeSymlink | 0o777, Link: l.Target})
	}
	return append(files, File{Path: ldcache.Path, Mode: 0o644, Data: cache}), nil
}
