package assemble

import (
	"context"
	"crypto/sha256"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// BytecodeShare lets the builds of one image index share Python
// bytecode. A .pyc is the same bytes whatever the architecture of the
// interpreter that wrote it: it depends on the interpreter's version,
// the source and the source's path (checked on python3.13's whole
// standard library, compiled natively on amd64 and through qemu-user on
// arm64: every one of the 596 files the two have in common was
// identical). So the build the host runs natively (the donor) publishes
// what it compiled, and the builds of other architectures take from it
// every .pyc whose source, path and interpreter package (name and
// version) are the same. The rest (the few modules of their own
// architecture, such as _sysconfigdata__linux_aarch64-linux-gnu.py) the
// donor's interpreter compiles too, in the donor's root filesystem with
// those sources added, when the donor compiled there; otherwise their
// own interpreter does (through qemu, slowly).
type BytecodeShare struct {
	once sync.Once
	done chan struct{}
	mu   sync.Mutex
	pyc  map[[32]byte]sharedPyc
	// root is the donor's root filesystem, written for its compile
	// (empty when it compiled nothing: its bytecode came from the
	// cache); interps are the interpreters (interpID) it has; run
	// serializes the compiles in it. Release removes it.
	root    string
	interps map[string]bool
	run     sync.Mutex
}

// sharedPyc is the donor's result for one source: its .pyc, or that it
// does not compile.
type sharedPyc struct {
	file   File
	failed bool
}

// NewBytecodeShare returns an empty share.
func NewBytecodeShare() *BytecodeShare {
	return &BytecodeShare{done: make(chan struct{}), pyc: map[[32]byte]sharedPyc{}, interps: map[string]bool{}}
}

// Release removes what the share keeps on disk (the donor's root
// filesystem); call it once every build that uses the share returned.
func (s *BytecodeShare) Release() {
	s.mu.Lock()
	root := s.root
	s.root = ""
	s.mu.Unlock()
	if root != "" {
		s.run.Lock()
		defer s.run.Unlock()
		os.RemoveAll(filepath.Dir(root))
	}
}

// keepRoot takes over the donor's root filesystem (so that it outlives
// the donor's compile); it reports whether it did.
func (s *BytecodeShare) keepRoot(root string, interps []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root != "" {
		return false
	}
	s.root = root
	for _, in := range interps {
		s.interps[in] = true
	}
	return true
}

// compile compiles sources of another build's tree t with the donor's
// interpreter in (whose interpID is id), in the donor's root filesystem:
// each source is written there under its path for the run and removed
// after. It returns the driver's output, or ok false when it cannot (no
// root kept, another interpreter, a source's path taken in the donor's
// tree).
func (s *BytecodeShare) compile(ctx context.Context, id, in string, t *tree, srcs []string, list []byte, limits SandboxLimits) (out []byte, ok bool, err error) {
	s.mu.Lock()
	root, has := s.root, s.interps[id]
	s.mu.Unlock()
	if root == "" || !has {
		return nil, false, nil
	}
	s.run.Lock()
	defer s.run.Unlock()
	var made []string
	defer func() {
		for i := len(made) - 1; i >= 0; i-- {
			os.Remove(made[i])
		}
	}()
	for _, src := range srcs {
		dst := filepath.Join(root, filepath.FromSlash(src))
		if _, err := os.Lstat(dst); err == nil {
			return nil, false, nil // the donor has a file there
		}
		// Parents the donor's tree lacks are made, and removed after.
		var parents []string
		for d := filepath.Dir(dst); len(d) > len(root); d = filepath.Dir(d) {
			if _, err := os.Lstat(d); err == nil {
				break
			}
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			if err := os.Mkdir(parents[i], 0o755); err != nil {
				return nil, false, err
			}
			made = append(made, parents[i])
		}
		if err := os.WriteFile(dst, t.sourceData(src), 0o644); err != nil {
			return nil, false, err
		}
		made = append(made, dst)
	}
	out, err = runSandboxed(ctx, root, []string{"/" + in, "-s", "-S", "-B", "-c", pycDriver}, pycEnv, list, t.pycOutputBound(srcs), limits)
	return out, err == nil, err
}

// Close says the donor has published all it will (call it once its
// build returned, failed or not); the other builds wait for it.
func (s *BytecodeShare) Close() { s.once.Do(func() { close(s.done) }) }

// shareKey names one .pyc: the interpreter's package, the source's path
// and content.
func shareKey(interp, src string, data []byte) [32]byte {
	h := sha256.New()
	sum := sha256.Sum256(data)
	h.Write([]byte(pycDriver + "\x00" + interp + "\x00" + src + "\x00"))
	h.Write(sum[:])
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// put publishes what the donor compiled of srcs: files, the .pyc of
// each source that compiled.
func (s *BytecodeShare) put(interp string, t *tree, srcs []string, files []File) {
	bySrc := map[string]File{}
	for _, f := range files {
		bySrc[pycSource(f.Path)] = f
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, src := range srcs {
		f, ok := bySrc[src]
		s.pyc[shareKey(interp, src, t.sourceData(src))] = sharedPyc{file: f, failed: !ok}
	}
}

// get waits for the donor and returns what it has of srcs: the .pyc
// files, the sources that do not compile, and the sources it has
// nothing of.
func (s *BytecodeShare) get(ctx context.Context, interp string, t *tree, srcs []string) (files []File, failed int, rest []string, err error) {
	select {
	case <-s.done:
	case <-ctx.Done():
		return nil, 0, nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, src := range srcs {
		sp, ok := s.pyc[shareKey(interp, src, t.sourceData(src))]
		switch {
		case !ok:
			rest = append(rest, src)
		case sp.failed:
			failed++
		default:
			files = append(files, sp.file)
		}
	}
	return files, failed, rest, nil
}

// sourceData is the content of a source (through a symlink).
func (t *tree) sourceData(src string) []byte {
	rp, err := t.realpath(src, true)
	if err != nil || t.view[rp] == nil {
		return nil
	}
	b, err := t.view[rp].c.bytes()
	if err != nil {
		return nil
	}
	return b
}

// interpID names an interpreter by its path and the package (name and
// version) its file comes from.
func (t *tree) interpID(in string) string {
	rp, err := t.realpath(in, true)
	if err != nil || t.view[rp] == nil {
		return in
	}
	return in + "\x00" + t.view[rp].owner
}

// pycSource is the source of a .pyc's cache path:
// /usr/lib/python3.13/__pycache__/os.cpython-313.pyc → usr/lib/python3.13/os.py.
func pycSource(cachePath string) string {
	rel := strings.TrimPrefix(cachePath, "/")
	d, base := path.Split(rel)
	stem := strings.TrimSuffix(base, ".pyc")
	if i := strings.LastIndexByte(stem, '.'); i > 0 {
		stem = stem[:i] // the cache tag: cpython-313
	}
	return path.Dir(strings.TrimSuffix(d, "/")) + "/" + stem + ".py"
}
