package assemble

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/distroless-dev/distroless/internal/ldcache"
)

// elfProblem is one thing the library check found.
type elfProblem struct {
	path string
	msg  string
	warn bool // not a missing library: never fails the build
}

// libChecker resolves libraries the way the dynamic loader would.
type libChecker struct {
	t        *tree
	arch     archInfo
	confDirs []string // from /etc/ld.so.conf{,.d}
	envDirs  []string // LD_LIBRARY_PATH of the image's environment
	defDirs  []string
}

func newLibChecker(t *tree, arch archInfo, env []string) *libChecker {
	c := &libChecker{t: t, arch: arch}
	c.defDirs = []string{"lib/" + arch.triplet, "usr/lib/" + arch.triplet, "lib", "usr/lib"}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "LD_LIBRARY_PATH="); ok {
			c.envDirs = splitDirs(v)
		}
	}
	c.confDirs = c.readLdSoConf("etc/ld.so.conf", 0)
	if len(c.confDirs) == 0 {
		// No ld.so.conf: the Debian one includes /etc/ld.so.conf.d/*.conf.
		c.confDirs = c.readLdSoConfGlob("etc/ld.so.conf.d/*.conf", 0)
	}
	return c
}

func splitDirs(s string) []string {
	var out []string
	for _, d := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ';' }) {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

// file returns a regular file's content through symlinks.
func (c *libChecker) file(p string) (content, bool) {
	rp, err := c.t.realpath(p, true)
	if err != nil {
		return content{}, false
	}
	n := c.t.view[rp]
	if n == nil || n.typ != tar.TypeReg {
		return content{}, false
	}
	return n.c, true
}

// readFile returns a regular file's content through symlinks.
func (c *libChecker) readFile(p string) ([]byte, bool) {
	f, ok := c.file(p)
	if !ok {
		return nil, false
	}
	b, err := f.bytes()
	if err != nil {
		f.sp.fail(err)
		return nil, false
	}
	return b, true
}

// readHead returns the first n bytes of a regular file through symlinks.
func (c *libChecker) readHead(p string, n int) ([]byte, bool) {
	f, ok := c.file(p)
	if !ok {
		return nil, false
	}
	return f.head(n), true
}

func (c *libChecker) readLdSoConf(p string, depth int) []string {
	b, ok := c.readFile(p)
	if !ok || depth > 8 {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "include"); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "\t")) {
			pat := strings.TrimSpace(rest)
			if !strings.HasPrefix(pat, "/") {
				pat = path.Join(path.Dir("/"+p), pat)
			}
			dirs = append(dirs, c.readLdSoConfGlob(strings.TrimPrefix(pat, "/"), depth+1)...)
			continue
		}
		dirs = append(dirs, strings.Fields(line)...)
	}
	return dirs
}

func (c *libChecker) readLdSoConfGlob(pat string, depth int) []string {
	dir, base := path.Split(pat)
	rd, err := c.t.realpath(strings.TrimSuffix(dir, "/"), true)
	if err != nil {
		return nil
	}
	var names []string
	for p := range c.t.view {
		if path.Dir(p) != rd && !(rd == "" && !strings.Contains(p, "/")) {
			continue
		}
		if ok, _ := path.Match(base, path.Base(p)); ok {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	var dirs []string
	for _, n := range names {
		dirs = append(dirs, c.readLdSoConf(n, depth)...)
	}
	return dirs
}

// findLib looks for a library in dirs; it must be an ELF file of the
// image's class and machine (the loader skips others).
func (c *libChecker) findLib(name string, dirs []string) bool {
	for _, d := range dirs {
		b, ok := c.readHead(path.Join(strings.TrimPrefix(d, "/"), name), 64)
		if !ok {
			continue
		}
		if c64, m, _, ok := ldcache.ELFHeader(b); ok && c64 == c.arch.class64 && m == c.arch.machine {
			return true
		}
	}
	return false
}

// expand substitutes $ORIGIN, $LIB and $PLATFORM in an rpath entry.
func (c *libChecker) expand(d, origin string) string {
	lib := "lib"
	if c.arch.lib64 {
		lib = "lib64"
	}
	platform := strings.SplitN(c.arch.triplet, "-", 2)[0]
	r := strings.NewReplacer("${ORIGIN}", "/"+origin, "$ORIGIN", "/"+origin,
		"${LIB}", lib, "$LIB", lib, "${PLATFORM}", platform, "$PLATFORM", platform)
	return r.Replace(d)
}

// check checks one file; it returns nothing for files that are not ELF
// executables or shared objects of the image's architecture.
func (c *libChecker) check(p string, data content) (problems []elfProblem, checked bool) {
	c64, machine, etype, ok := ldcache.ELFHeader(data.head(64))
	if !ok || c64 != c.arch.class64 || machine != c.arch.machine {
		return nil, false
	}
	if et := elf.Type(etype); et != elf.ET_EXEC && et != elf.ET_DYN {
		return nil, false
	}
	f, err := elf.NewFile(data.section())
	if err != nil {
		return []elfProblem{{p, fmt.Sprintf("unreadable ELF file (%v); not checked", err), true}}, false
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type != elf.PT_INTERP {
			continue
		}
		if prog.Off > uint64(data.size()) || prog.Filesz > uint64(data.size())-prog.Off || prog.Filesz > 4096 {
			return []elfProblem{{p, "PT_INTERP out of bounds; not checked", true}}, false
		}
		ib := make([]byte, prog.Filesz)
		if _, err := data.section().ReadAt(ib, int64(prog.Off)); err != nil {
			return []elfProblem{{p, fmt.Sprintf("unreadable PT_INTERP (%v); not checked", data.readErr(err)), true}}, false
		}
		interp := strings.TrimRight(string(ib), "\x00")
		if b, ok := c.readHead(strings.TrimPrefix(interp, "/"), len(elf.ELFMAG)); !ok || !bytes.HasPrefix(b, []byte(elf.ELFMAG)) {
			problems = append(problems, elfProblem{path: p, msg: fmt.Sprintf("program interpreter %s not found", interp)})
		}
	}
	if f.Section(".dynamic") == nil {
		return problems, true
	}
	needed, err := f.DynString(elf.DT_NEEDED)
	if err != nil {
		return append(problems, elfProblem{p, fmt.Sprintf("unreadable dynamic section (%v); not checked", err), true}), true
	}
	if len(needed) == 0 {
		return problems, true
	}
	runpath, _ := f.DynString(elf.DT_RUNPATH)
	var dirs []string
	origin := path.Dir(p)
	if len(runpath) == 0 {
		rpath, _ := f.DynString(elf.DT_RPATH)
		for _, r := range rpath {
			for _, d := range splitDirs(r) {
				dirs = append(dirs, c.expand(d, origin))
			}
		}
	}
	dirs = append(dirs, c.envDirs...)
	for _, r := range runpath {
		for _, d := range splitDirs(r) {
			dirs = append(dirs, c.expand(d, origin))
		}
	}
	dirs = append(dirs, c.confDirs...)
	dirs = append(dirs, c.defDirs...)
	for _, lib := range needed {
		if strings.Contains(lib, "/") {
			if !c.findLib(path.Base(lib), []string{path.Dir(lib)}) {
				problems = append(problems, elfProblem{path: p, msg: fmt.Sprintf("needs %s, which is not in the image", lib)})
			}
			continue
		}
		if !c.findLib(lib, dirs) {
			problems = append(problems, elfProblem{path: p, msg: fmt.Sprintf("needs %s, which is not in the image", lib)})
		}
	}
	return problems, true
}

// checkELF checks every ELF file of the final tree, in parallel.
func checkELF(t *tree, arch archInfo, env []string, libDirs []string) (problems []elfProblem, checked int) {
	c := newLibChecker(t, arch, env)
	if len(libDirs) > 0 {
		// The distro's loader has other built-in directories (the RPM
		// family's /lib64 and /usr/lib64).
		c.defDirs = nil
		for _, d := range libDirs {
			c.defDirs = append(c.defDirs, strings.Trim(d, "/"))
		}
	}
	var paths []string
	for p, n := range t.view {
		if n.typ == tar.TypeReg && n.c.size() >= 64 && bytes.HasPrefix(n.c.head(len(elf.ELFMAG)), []byte(elf.ELFMAG)) {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	results := make([][]elfProblem, len(paths))
	ok := make([]bool, len(paths))
	for range min(runtime.GOMAXPROCS(0), len(paths)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(paths) {
					return
				}
				results[i], ok[i] = c.check(paths[i], t.view[paths[i]].c)
			}
		}()
	}
	wg.Wait()
	for i := range paths {
		problems = append(problems, results[i]...)
		if ok[i] {
			checked++
		}
	}
	return problems, checked
}
