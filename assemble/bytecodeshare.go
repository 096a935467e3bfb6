package assemble

import (
	"context"
	"crypto/sha256"
	"path"
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
// version) are the same, running their own interpreter (through qemu,
// slowly) only for the rest.
type BytecodeShare struct {
	once sync.Once
	done chan struct{}
	mu   sync.Mutex
	pyc  map[[32]byte]sharedPyc
}

// sharedPyc is the donor's result for one source: its .pyc, or that it
// does not compile.
type sharedPyc struct {
	file   File
	failed bool
}

// NewBytecodeShare returns an empty share.
func NewBytecodeShare() *BytecodeShare {
	return &BytecodeShare{done: make(chan struct{}), pyc: map[[32]byte]sharedPyc{}}
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
	return t.view[rp].data
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
