package assemble

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/distroless-dev/distroless/internal/parallel"
)

// Python bytecode (Layer.PythonBytecode)
//
// Debian compiles every module to __pycache__/NAME.cpython-3X.pyc when a
// package is installed (py3compile). An image has no installation step,
// and its nonroot user cannot write __pycache__, so without this every
// process would compile what it imports, every time. The build does what
// py3compile does, with the image's own interpreter: the root filesystem
// as it stands is written to a temporary directory, the interpreter runs
// in the sandbox with that directory as its root (internal/sandbox: no
// privilege on the host, no network, bounded in time, memory and output)
// and
// compiles the layer's .py files in path order (in one process per core,
// bytecodepar.go), writing each .pyc to its standard output; they go into the same layer as their
// sources, so lower layers do not change.
//
// The .pyc files are hash-based (PEP 552, "checked-hash"): their header
// holds a hash of the source, not its mtime, and the import system checks
// that hash, so they stay valid whatever the files' dates and are the
// same bytes on every build. CPython's marshal output depends only on
// the code being written (object references are decided by reference
// counts, which one fixed compile order makes the same every time; set
// constants are ordered by hash, fixed by PYTHONHASHSEED=0).
//
// An image of another architecture is compiled when the host can run its
// programs (386 on amd64, or a binfmt_misc qemu-user entry with the F
// flag, which works inside the sandbox); otherwise, or where the sandbox
// cannot be set up, the layer gets no bytecode and the build a warning.

// pycDriver reads source paths, one a line, and writes for each one
// "P <path length> <pyc length>\n<cache path><pyc>" or, when it does not
// compile, "E <path length>\n<path>"; then "D\n".
const pycDriver = `
import sys, importlib.util
from importlib._bootstrap_external import _code_to_hash_pyc
out = sys.stdout.buffer
enc = lambda s: s.encode("utf-8", "surrogateescape")
for line in sys.stdin.buffer.read().split(b"\n"):
    if not line:
        continue
    src = line.decode("utf-8", "surrogateescape")
    with open(src, "rb") as f:
        data = f.read()
    try:
        code = compile(data, src, "exec", dont_inherit=True)
    except Exception:
        out.write(b"E %d\n" % len(line) + line)
        continue
    pyc = _code_to_hash_pyc(code, importlib.util.source_hash(data), checked=True)
    cf = enc(importlib.util.cache_from_source(src))
    out.write(b"P %d %d\n" % (len(cf), len(pyc)) + cf + pyc)
out.write(b"D\n")
out.flush()
`

// pycEnv is the compiler's environment.
var pycEnv = []string{"PATH=/usr/bin:/bin", "PYTHONHASHSEED=0", "PYTHONDONTWRITEBYTECODE=1", "PYTHONUTF8=1"}

// pyLibDir matches the directories whose modules are compiled: a
// version's own (usr/lib/python3.13, usr/lib64/python3.12 on RPM distros)
// and Debian's version-independent usr/lib/python3; the same under
// usr/local (an application layer's site directory).
var pyLibDir = regexp.MustCompile(`^usr/(?:local/)?lib(?:64)?/python3(?:\.(\d+))?/`)

// pyInterp matches the interpreters: usr/bin/python3.13…
var pyInterp = regexp.MustCompile(`^usr/bin/python3\.(\d+)$`)

// pythonSources maps each interpreter (a path in the image) to the
// current layer's sources it compiles, sorted.
func (t *tree) pythonSources() map[string][]string {
	var interps []string
	for p, n := range t.view {
		if pyInterp.MatchString(p) && (n.typ == tar.TypeReg || n.typ == tar.TypeSymlink) {
			if rp, err := t.realpath(p, true); err == nil && t.view[rp] != nil && t.view[rp].typ == tar.TypeReg {
				interps = append(interps, p)
			}
		}
	}
	slices.Sort(interps)
	out := map[string][]string{}
	for p, n := range t.layers[t.cur] {
		// Generated files are not compiled, but for those under
		// /usr/local: an application layer's installed modules.
		if n.owner == generatedOwner && !strings.HasPrefix(p, "usr/local/") || !strings.HasSuffix(p, ".py") {
			continue
		}
		if n.typ == tar.TypeSymlink {
			// sitecustomize.py -> /etc/python3.X/sitecustomize.py: the
			// module is imported under the link's name, its cache is next
			// to the link.
			rp, err := t.realpath(p, true)
			if err != nil || t.view[rp] == nil || t.view[rp].typ != tar.TypeReg {
				continue
			}
		} else if n.typ != tar.TypeReg {
			continue
		}
		m := pyLibDir.FindStringSubmatch(p)
		if m == nil {
			continue
		}
		for _, in := range interps {
			if m[1] == "" || in == "usr/bin/python3."+m[1] {
				out[in] = append(out[in], p)
			}
		}
	}
	for _, srcs := range out {
		slices.Sort(srcs)
	}
	return out
}

// errCannotRun says the host cannot run the image's programs.
var errCannotRun = errors.New("cannot run the image's programs")

// qemuNames are binfmt_misc's qemu-user names of the OCI architectures.
var qemuNames = map[string]string{
	"amd64": "x86_64", "arm64": "aarch64", "386": "i386", "arm": "arm",
	"ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
}

// hostRuns says whether the host runs arch's programs in the sandbox:
// natively, or through a qemu-user binfmt_misc entry that is enabled and
// has the F flag (its interpreter opened when registered, so the
// sandbox's root need not hold it).
func hostRuns(arch string) (bool, string) {
	if arch == runtime.GOARCH || (arch == "386" && runtime.GOARCH == "amd64") {
		return true, "natively"
	}
	q, ok := qemuNames[arch]
	if !ok {
		return false, ""
	}
	b, err := os.ReadFile("/proc/sys/fs/binfmt_misc/qemu-" + q)
	if err != nil {
		return false, ""
	}
	enabled, fixed := false, false
	for _, line := range strings.Split(string(b), "\n") {
		if line == "enabled" {
			enabled = true
		}
		if f, ok := strings.CutPrefix(line, "flags: "); ok && strings.Contains(f, "F") {
			fixed = true
		}
	}
	return enabled && fixed, "through qemu-" + q
}

// pythonBytecode compiles the current layer's Python sources and returns
// the .pyc files; warnings say what could not be done. With a cache, the
// compiler's output is kept under a key that digests everything it
// depends on (the driver, the architecture, the interpreter, every file
// of the root filesystem and the sources asked for), so a build of the
// same inputs reads it back, checked again by parsePyc, instead of
// running the interpreter.
//
// With a share (the builds of one image index), the donor publishes what
// it compiled, and every other build takes from it what it can before
// running its own interpreter on the rest.
func (t *tree) pythonBytecode(ctx context.Context, arch string, cache DerivedCache, puts *sync.WaitGroup, share *BytecodeShare, donor bool, limits SandboxLimits, progress func(string)) ([]File, []string, error) {
	bySrc := t.pythonSources()
	if len(bySrc) == 0 {
		return nil, nil, nil
	}
	var viewSum []byte
	if cache != nil {
		viewSum = t.viewDigest()
	}
	root := ""
	defer func() {
		if root == "" {
			return
		}
		// A donor's root stays for the other builds' compiles.
		if share != nil && donor {
			var ids []string
			for in := range bySrc {
				ids = append(ids, t.interpID(in))
			}
			if share.keepRoot(root, ids) {
				return
			}
		}
		os.RemoveAll(filepath.Dir(root))
	}()
	var files []File
	var warns []string
	for _, in := range slices.Sorted(maps.Keys(bySrc)) {
		srcs := bySrc[in]
		id := t.interpID(in)
		if share != nil && !donor {
			got, failed, rest, err := share.get(ctx, id, t, srcs)
			if err != nil {
				return nil, nil, err
			}
			if len(got)+failed > 0 {
				progress(fmt.Sprintf("took %d modules' bytecode from the native build's /%s (%d do not compile, as in Debian)", len(got), in, failed))
				files = append(files, got...)
				if len(rest) == 0 {
					continue
				}
				srcs = rest
			}
		}
		var list bytes.Buffer
		listed := make([]string, 0, len(srcs))
		for _, s := range srcs {
			if strings.ContainsAny(s, "\n\x00") {
				continue
			}
			list.WriteString("/" + s + "\n")
			listed = append(listed, s)
		}
		key := ""
		if cache != nil {
			h := sha256.New()
			fmt.Fprintf(h, "python-bytecode 1\x00%s\x00%s\x00%s\x00", pycDriver, arch, in)
			h.Write(viewSum)
			h.Write(list.Bytes())
			key = "python-bytecode/" + hex.EncodeToString(h.Sum(nil))
			if b, err := cache.Get(key); err == nil {
				if got, failed, err := parsePyc(b, srcs); err == nil {
					progress(fmt.Sprintf("compiled %d modules with /%s earlier (%d do not compile, as in Debian)", len(got), in, failed))
					files = append(files, got...)
					if share != nil && donor {
						share.put(id, t, srcs, got)
					}
					continue
				}
			}
		}
		if share != nil && !donor {
			// The donor's interpreter, natively, in its own tree.
			stdout, ok, err := share.compile(ctx, id, in, t, srcs, list.Bytes(), limits)
			if err != nil {
				return nil, nil, fmt.Errorf("/%s of the native build: %w", in, err)
			}
			if ok {
				got, failed, err := parsePyc(stdout, srcs)
				if err != nil {
					return nil, nil, fmt.Errorf("/%s of the native build: %w", in, err)
				}
				keepPyc(cache, puts, key, [][]byte{stdout})
				progress(fmt.Sprintf("compiled %d modules with the native build's /%s (%d do not compile, as in Debian)", len(got), in, failed))
				files = append(files, got...)
				continue
			}
		}
		ok, how := hostRuns(arch)
		if !ok {
			if len(files) > 0 {
				// What the native build shared is kept.
				warns = append(warns, fmt.Sprintf("no Python bytecode for %d modules of /%s: this %s host cannot run %s programs (no enabled binfmt_misc qemu-%s entry with the F flag)",
					len(srcs), in, runtime.GOARCH, arch, qemuNames[arch]))
				continue
			}
			return nil, []string{fmt.Sprintf("no Python bytecode: this %s host cannot run %s programs (no enabled binfmt_misc qemu-%s entry with the F flag)",
				runtime.GOARCH, arch, qemuNames[arch])}, nil
		}
		if root == "" {
			dir, err := os.MkdirTemp(scratchDir(t.viewSize()), "distroless-pyc-")
			if err != nil {
				return nil, nil, err
			}
			// The sandbox's user (65534 under root) must reach it.
			if err := os.Chmod(dir, 0o755); err != nil {
				os.RemoveAll(dir)
				return nil, nil, err
			}
			root = filepath.Join(dir, "root")
			if err := t.writeRoot(root); err != nil {
				return nil, nil, fmt.Errorf("writing the root filesystem to run the interpreter in: %w", err)
			}
		}
		progress(fmt.Sprintf("compiling %d Python modules with /%s (%s)", len(srcs), in, how))
		stdout, err := t.compilePyc(ctx, root, in, listed, limits)
		if errors.Is(err, errCannotRun) {
			return nil, []string{fmt.Sprintf("no Python bytecode: %v", err)}, nil
		}
		if err != nil {
			return nil, nil, err // it names the program
		}
		got, failed, err := parsePycParts(stdout, srcs)
		if err != nil {
			return nil, nil, fmt.Errorf("/%s: %w", in, err)
		}
		keepPyc(cache, puts, key, stdout)
		progress(fmt.Sprintf("compiled %d modules (%d do not compile, as in Debian)", len(got), failed))
		files = append(files, got...)
		if share != nil && donor {
			share.put(id, t, srcs, got)
		}
	}
	return files, warns, nil
}

// viewDigest digests the root filesystem as it stands: every path with
// its type, mode, link target and content.
func (t *tree) viewDigest() []byte {
	h := sha256.New()
	for _, p := range slices.Sorted(maps.Keys(t.view)) {
		n := t.view[p]
		sum, err := n.c.sha256()
		if err != nil {
			n.c.sp.fail(err)
		}
		fmt.Fprintf(h, "%s\x00%c\x00%o\x00%s\x00%x\n", p, n.typ, n.mode, n.link, sum)
	}
	return h.Sum(nil)
}

// parsePyc reads the driver's output. Every cache path must be the
// __pycache__ entry of a source that was asked for.
func parsePyc(b []byte, srcs []string) ([]File, int, error) {
	return parsePycParts([][]byte{b}, srcs)
}

// parsePycParts is parsePyc of the output held in parts, one after the
// other: a .pyc within one part is a slice of it, one across parts a copy.
func parsePycParts(parts [][]byte, srcs []string) ([]File, int, error) {
	asked := make(map[string]bool, len(srcs))
	for _, s := range srcs {
		asked[s] = true
	}
	// The reader moves along its own copy of the parts' headers.
	r := &partsReader{parts: slices.Clone(parts)}
	var out []File
	failed := 0
	for {
		line, ok := r.line()
		if !ok {
			return nil, 0, errors.New("the compiler's output ends early")
		}
		f := strings.Fields(line)
		num := func(i int) int {
			if i >= len(f) {
				return -1
			}
			n, err := strconv.Atoi(f[i])
			if err != nil || n < 0 || n > r.left() {
				return -1
			}
			return n
		}
		switch {
		case len(f) == 1 && f[0] == "D":
			if r.left() != 0 {
				return nil, 0, errors.New("the compiler wrote more after its end")
			}
			return out, failed, nil
		case len(f) == 2 && f[0] == "E" && num(1) >= 0:
			failed++
			r.take(num(1))
		case len(f) == 3 && f[0] == "P" && num(1) >= 0 && num(2) >= 0 && num(1)+num(2) <= r.left():
			n1, n2 := num(1), num(2)
			cf := string(r.take(n1))
			data := r.take(n2)
			rel := strings.TrimPrefix(cf, "/")
			d, base := path.Split(rel)
			src := pycSource(cf)
			if !strings.HasSuffix(d, "/__pycache__/") || !strings.HasSuffix(base, ".pyc") || !asked[src] || path.Clean(rel) != rel {
				return nil, 0, fmt.Errorf("the compiler wrote %q, not the cache of a source it was given", cf)
			}
			if len(data) < 16 || !bytes.Equal(data[4:8], []byte{3, 0, 0, 0}) {
				return nil, 0, fmt.Errorf("%s: not a checked-hash .pyc", cf)
			}
			out = append(out, File{Path: "/" + rel, Mode: 0o644, Data: data})
		default:
			return nil, 0, fmt.Errorf("the compiler's output is garbled at %q", f)
		}
	}
}

// viewSize is the bytes of the root filesystem's file contents.
func (t *tree) viewSize() int64 {
	var n int64
	for _, v := range t.view {
		if v.typ == tar.TypeReg {
			n += v.c.size()
		}
	}
	return n
}

// writeRoot writes the image as it stands (every layer so far) under dir:
// directories, regular files (hard links as copies) and symlinks, owned
// by the caller and readable by everyone.
func (t *tree) writeRoot(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	paths := make([]string, 0, len(t.view))
	for p := range t.view {
		paths = append(paths, p)
	}
	slices.SortFunc(paths, func(a, b string) int {
		if pathLess(a, b) {
			return -1
		}
		if a == b {
			return 0
		}
		return 1
	})
	// The directories first, in order; then the files and links on every
	// core (a file system's metadata work is most of the cost).
	var rest []string
	for _, p := range paths {
		n := t.view[p]
		if n.typ != tar.TypeDir {
			rest = append(rest, p)
			continue
		}
		if err := os.Mkdir(filepath.Join(dir, filepath.FromSlash(p)), 0o755); err != nil {
			return err
		}
	}
	var first atomic.Pointer[error]
	parallel.All(rest, func(p string) bool {
		n := t.view[p]
		dst := filepath.Join(dir, filepath.FromSlash(p))
		var err error
		switch n.typ {
		case tar.TypeSymlink:
			err = os.Symlink(n.link, dst)
		case tar.TypeReg:
			err = writeContent(dst, n.c, os.FileMode(n.mode&0o755|0o644))
		}
		if err != nil {
			first.CompareAndSwap(nil, &err)
			return false
		}
		return true
	})
	if err := first.Load(); err != nil {
		return *err
	}
	return nil
}
