package assemble

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/internal/ldcache"
	"github.com/distroless-dev/distroless/internal/ldcache/ldcachetest"
)

// fakeELF makes a small 64-bit little-endian ELF file of the given
// machine and type, with a dynamic segment (and .dynamic/.dynstr
// sections) naming soname (none when "") and needed.
func fakeELF(machine elf.Machine, typ elf.Type, soname string, needed ...string) []byte {
	return fakeELFISA(machine, typ, 0, soname, needed...)
}

// fakeELFISA is fakeELF with, when isa is not 0, a PT_GNU_PROPERTY
// segment whose GNU_PROPERTY_X86_ISA_1_NEEDED is isa.
func fakeELFISA(machine elf.Machine, typ elf.Type, isa uint32, soname string, needed ...string) []byte {
	return fakeELFOrder(binary.LittleEndian, 0, machine, typ, isa, soname, needed...)
}

// fakeELFOrder is fakeELFISA in byte order le, with ELF header flags
// eflags.
func fakeELFOrder(le interface {
	binary.ByteOrder
	binary.AppendByteOrder
}, eflags uint32, machine elf.Machine, typ elf.Type, isa uint32, soname string, needed ...string) []byte {
	const ehdr, phdr, shdr = 64, 56, 64
	nph := 2
	if isa != 0 {
		nph = 3
	}
	var dynstr bytes.Buffer
	dynstr.WriteByte(0)
	strOff := func(s string) uint64 {
		o := uint64(dynstr.Len())
		dynstr.WriteString(s)
		dynstr.WriteByte(0)
		return o
	}
	type dyn struct{ tag, val uint64 }
	var dyns []dyn
	for _, n := range needed {
		dyns = append(dyns, dyn{uint64(elf.DT_NEEDED), strOff(n)})
	}
	if soname != "" {
		dyns = append(dyns, dyn{uint64(elf.DT_SONAME), strOff(soname)})
	}
	// The property note: Nhdr, "GNU\0", one 4-byte property padded to 8.
	noteOff := uint64(ehdr + nph*phdr)
	var note []byte
	if isa != 0 {
		note = le.AppendUint32(note, 4)
		note = le.AppendUint32(note, 16)
		note = le.AppendUint32(note, 5) // NT_GNU_PROPERTY_TYPE_0
		note = append(note, "GNU\x00"...)
		note = le.AppendUint32(note, 0xc0008002) // GNU_PROPERTY_X86_ISA_1_NEEDED
		note = le.AppendUint32(note, 4)
		note = le.AppendUint32(note, isa)
		note = le.AppendUint32(note, 0)
	}
	strtabOff := noteOff + uint64(len(note))
	dynOff := (strtabOff + uint64(dynstr.Len()) + 7) &^ 7
	dyns = append(dyns, dyn{uint64(elf.DT_STRTAB), strtabOff}, dyn{uint64(elf.DT_STRSZ), uint64(dynstr.Len())}, dyn{uint64(elf.DT_NULL), 0})
	dynSize := uint64(16 * len(dyns))
	shstr := []byte("\x00.dynstr\x00.dynamic\x00.shstrtab\x00")
	shstrOff := dynOff + dynSize
	shOff := (shstrOff + uint64(len(shstr)) + 7) &^ 7
	total := shOff + 4*shdr

	b := make([]byte, total)
	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS], b[elf.EI_DATA], b[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), 1
	if le == binary.BigEndian {
		b[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
	}
	le.PutUint32(b[48:], eflags)
	le.PutUint16(b[16:], uint16(typ))
	le.PutUint16(b[18:], uint16(machine))
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[32:], ehdr)  // e_phoff
	le.PutUint64(b[40:], shOff) // e_shoff
	le.PutUint16(b[52:], ehdr)
	le.PutUint16(b[54:], phdr)
	le.PutUint16(b[56:], uint16(nph))
	le.PutUint16(b[58:], shdr)
	le.PutUint16(b[60:], 4)
	le.PutUint16(b[62:], 3) // e_shstrndx
	ph := func(i int, typ elf.ProgType, flags elf.ProgFlag, off, size, align uint64) {
		p := b[ehdr+phdr*i:]
		le.PutUint32(p[0:], uint32(typ))
		le.PutUint32(p[4:], uint32(flags))
		le.PutUint64(p[8:], off)
		le.PutUint64(p[16:], off) // vaddr: loaded at 0
		le.PutUint64(p[24:], off)
		le.PutUint64(p[32:], size)
		le.PutUint64(p[40:], size)
		le.PutUint64(p[48:], align)
	}
	ph(0, elf.PT_LOAD, elf.PF_R, 0, total, 0x1000)
	ph(1, elf.PT_DYNAMIC, elf.PF_R|elf.PF_W, dynOff, dynSize, 8)
	if isa != 0 {
		ph(2, elf.PT_GNU_PROPERTY, elf.PF_R, noteOff, uint64(len(note)), 8)
		copy(b[noteOff:], note)
	}
	copy(b[strtabOff:], dynstr.Bytes())
	for i, d := range dyns {
		le.PutUint64(b[dynOff+uint64(16*i):], d.tag)
		le.PutUint64(b[dynOff+uint64(16*i)+8:], d.val)
	}
	copy(b[shstrOff:], shstr)
	sh := func(i int, name uint32, typ elf.SectionType, off, size uint64, link uint32, entsize uint64) {
		s := b[shOff+uint64(shdr*i):]
		le.PutUint32(s[0:], name)
		le.PutUint32(s[4:], uint32(typ))
		le.PutUint64(s[16:], off) // addr
		le.PutUint64(s[24:], off)
		le.PutUint64(s[32:], size)
		le.PutUint32(s[40:], link)
		le.PutUint64(s[48:], 1)
		le.PutUint64(s[56:], entsize)
	}
	sh(1, 1, elf.SHT_STRTAB, strtabOff, uint64(dynstr.Len()), 0, 0)
	sh(2, 9, elf.SHT_DYNAMIC, dynOff, dynSize, 1, 16)
	sh(3, 18, elf.SHT_STRTAB, shstrOff, uint64(len(shstr)), 0, 0)
	return b
}

func x86lib(soname string, needed ...string) string {
	return string(fakeELF(elf.EM_X86_64, elf.ET_DYN, soname, needed...))
}

func TestFakeELF(t *testing.T) {
	f, err := elf.NewFile(bytes.NewReader([]byte(x86lib("libx.so.1", "libc.so.6"))))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := f.DynString(elf.DT_SONAME); err != nil || !slices.Equal(s, []string{"libx.so.1"}) {
		t.Fatalf("soname %v %v", s, err)
	}
	if s, err := f.DynString(elf.DT_NEEDED); err != nil || !slices.Equal(s, []string{"libc.so.6"}) {
		t.Fatalf("needed %v %v", s, err)
	}
}

// ldFixture is a tree of libraries covering what ldconfig looks at.
func ldFixture(fx *fixture) (lower, upper Layer) {
	lower = layer("base", fx.pkg("libc6",
		regBytes("./usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 0o755, []byte(x86lib("ld-linux-x86-64.so.2"))),
		sym("./usr/lib64/ld-linux-x86-64.so.2", "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
		regBytes("./usr/lib/x86_64-linux-gnu/libc.so.6", 0o755, []byte(x86lib("libc.so.6"))),
		reg("./etc/ld.so.conf.d/x86_64-linux-gnu.conf", 0o644, "# Multiarch support\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n"),
	))
	upper = layer("libs", fx.pkg("libs",
		// A versioned file, its soname link and its development link.
		regBytes("./usr/lib/x86_64-linux-gnu/libfoo.so.1.2.3", 0o644, []byte(x86lib("libfoo.so.1", "libc.so.6"))),
		sym("./usr/lib/x86_64-linux-gnu/libfoo.so.1", "libfoo.so.1.2.3"),
		sym("./usr/lib/x86_64-linux-gnu/libfoo.so", "libfoo.so.1"),
		// No soname link: ldconfig makes it.
		regBytes("./usr/lib/x86_64-linux-gnu/libbar.so.2.0", 0o644, []byte(x86lib("libbar.so.2"))),
		// Two files of one soname: the later name wins.
		regBytes("./usr/lib/x86_64-linux-gnu/libdup.so.1.9", 0o644, []byte(x86lib("libdup.so.1"))),
		regBytes("./usr/lib/x86_64-linux-gnu/libdup.so.1.10", 0o644, []byte(x86lib("libdup.so.1"))),
		// No DT_SONAME: the file name is the soname.
		regBytes("./usr/lib/x86_64-linux-gnu/libnosoname.so.4", 0o644, []byte(x86lib(""))),
		// Skipped: a linker script, an executable, another machine, a
		// dangling link, a name that is no library's, a directory.
		reg("./usr/lib/x86_64-linux-gnu/libc.so", 0o644, "/* GNU ld script */\nGROUP ( libc.so.6 )\n"),
		regBytes("./usr/lib/x86_64-linux-gnu/libexec.so.1", 0o755, fakeELF(elf.EM_X86_64, elf.ET_EXEC, "libexec.so.1")),
		regBytes("./usr/lib/x86_64-linux-gnu/libarm.so.1", 0o644, fakeELF(elf.EM_AARCH64, elf.ET_DYN, "libarm.so.1")),
		sym("./usr/lib/x86_64-linux-gnu/libgone.so.1", "libgone.so.1.0"),
		regBytes("./usr/lib/x86_64-linux-gnu/python.so", 0o644, []byte(x86lib("python.so"))),
		dir("./usr/lib/x86_64-linux-gnu/libdir.so.1/", 0o755),
		// A symlink of another name is a library of its own.
		sym("./usr/lib/x86_64-linux-gnu/libalias.so.7", "libfoo.so.1.2.3"),
		// /usr/lib is scanned, /opt/lib is not.
		regBytes("./usr/lib/libplain.so.1", 0o644, []byte(x86lib("libplain.so.1"))),
		regBytes("./opt/lib/libopt.so.1", 0o644, []byte(x86lib("libopt.so.1"))),
		// ld.so.conf, its include, and a directory only it names.
		reg("./etc/ld.so.conf", 0o644, "include /etc/ld.so.conf.d/*.conf\n"),
		reg("./etc/ld.so.conf.d/libc.conf", 0o644, "# libc default configuration\n/usr/local/lib\n"),
		reg("./etc/ld.so.conf.d/.hidden.conf", 0o644, "/opt/lib\n"),
		reg("./etc/ld.so.conf.d/zz.conf", 0o644, "hwcap 0 nosegneg\n/usr/local/lib/extra/ \t\n/no/such/dir\n/usr/local/lib\n"),
		regBytes("./usr/local/lib/libloc.so.1", 0o644, []byte(x86lib("libloc.so.1"))),
		regBytes("./usr/local/lib/extra/libplain.so.1", 0o644, []byte(x86lib("libplain.so.1"))),
		// After the glibc-hwcaps libloc.so.1: sorts after it all the same.
		regBytes("./usr/local/lib/extra/libloc.so.1", 0o644, []byte(x86lib("libloc.so.1"))),
		// glibc-hwcaps subdirectories: libraries by file name (no links
		// made), with the ISA level of their GNU property note; an empty
		// one (its name still goes in the string table), and names
		// ldconfig skips (hidden, with a ':', a file).
		regBytes("./usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libfoo.so.1.2.3", 0o644, fakeELFISA(elf.EM_X86_64, elf.ET_DYN, 7, "libfoo.so.1", "libc.so.6")),
		sym("./usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libfoo.so.1", "libfoo.so.1.2.3"),
		regBytes("./usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v2/libbar.so.2.0", 0o644, fakeELFISA(elf.EM_X86_64, elf.ET_DYN, 3, "libbar.so.2")),
		// A symlink of a name no library has is looked at in a
		// glibc-hwcaps subdirectory, and wins over libbar.so.2.0 (a
		// later name).
		sym("./usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v2/weird", "libbar.so.2.0"),
		dir("./usr/lib/x86_64-linux-gnu/glibc-hwcaps/empty-v9/", 0o755),
		regBytes("./usr/lib/x86_64-linux-gnu/glibc-hwcaps/.hidden/libfoo.so.1", 0o644, []byte(x86lib("libfoo.so.1"))),
		regBytes("./usr/lib/x86_64-linux-gnu/glibc-hwcaps/a:b/libfoo.so.1", 0o644, []byte(x86lib("libfoo.so.1"))),
		reg("./usr/lib/x86_64-linux-gnu/glibc-hwcaps/notadir", 0o644, "x"),
		regBytes("./usr/local/lib/glibc-hwcaps/x86-64-v3/libloc.so.1", 0o644, fakeELFISA(elf.EM_X86_64, elf.ET_DYN, 4, "libloc.so.1")),
		// A program needing libraries from the default and the conf
		// directories: the ELF check finds them, the cache lists them.
		regBytes("./usr/bin/prog", 0o755, fakeELF(elf.EM_X86_64, elf.ET_DYN, "", "libfoo.so.1", "libloc.so.1", "libbar.so.2", "libplain.so.1", "libc.so.6")),
	))
	upper.Generate = []string{"ld.so.cache"}
	return lower, upper
}

func TestLdSoCacheGenerator(t *testing.T) {
	fx := newFixture()
	lower, upper := ldFixture(fx)
	img, _ := mustBuild(t, fx.spec(lower, upper))
	root := rootfs(t, img)
	f, ok := root["etc/ld.so.cache"]
	if !ok {
		t.Fatalf("no /etc/ld.so.cache: %v", names(root))
	}
	if f.h.Mode != 0o644 || f.h.Typeflag != tar.TypeReg {
		t.Errorf("ld.so.cache: mode %o type %c", f.h.Mode, f.h.Typeflag)
	}
	c, err := ldcachetest.Parse(f.data)
	if err != nil {
		t.Fatal(err)
	}
	const x = ldcache.LdFlagELFLibc6 | ldcache.LdFlagX8664Lib64
	const tl, ul = "/lib/x86_64-linux-gnu/", "/usr/local/lib"
	// ent is an entry, field by field in Entry's order.
	ent := func(flags int32, key, value string, osVersion uint32, hwcap uint64, hwcaps string) ldcache.Entry {
		return ldcache.Entry{Flags: flags, Key: key, Value: value, OSVersion: osVersion, HWCap: hwcap, HWCaps: hwcaps}
	}
	want := []ldcache.Entry{
		ent(x, "libplain.so.1", "/usr/local/lib/extra/libplain.so.1", 0, 0, ""), // the conf directory comes first
		ent(x, "libplain.so.1", "/lib/libplain.so.1", 0, 0, ""),
		ent(x, "libnosoname.so.4", tl+"libnosoname.so.4", 0, 0, ""),
		ent(x, "libloc.so.1", ul+"/glibc-hwcaps/x86-64-v3/libloc.so.1", 0, ldcache.HWCapExtension|2<<32|1, "x86-64-v3"),
		ent(x, "libloc.so.1", ul+"/libloc.so.1", 0, 0, ""),
		ent(x, "libloc.so.1", ul+"/extra/libloc.so.1", 0, 0, ""),
		ent(x, "libfoo.so.1", tl+"glibc-hwcaps/x86-64-v3/libfoo.so.1.2.3", 0, ldcache.HWCapExtension|2<<32|1, "x86-64-v3"),
		ent(x, "libfoo.so.1", tl+"libfoo.so.1", 0, 0, ""),
		ent(x, "libfoo.so", tl+"libfoo.so", 0, 0, ""),
		ent(x, "libdup.so.1", tl+"libdup.so.1", 0, 0, ""),
		ent(x, "libc.so.6", tl+"libc.so.6", 0, 0, ""),
		ent(x, "libbar.so.2", tl+"glibc-hwcaps/x86-64-v2/weird", 0, ldcache.HWCapExtension|1<<32|0, "x86-64-v2"),
		ent(x, "libbar.so.2", tl+"libbar.so.2", 0, 0, ""),
		ent(x, "libalias.so.7", tl+"libalias.so.7", 0, 0, ""),
		ent(x, "ld-linux-x86-64.so.2", tl+"ld-linux-x86-64.so.2", 0, 0, ""),
	}
	// libalias.so.7 (a symlink of another name) is a library of soname
	// libfoo.so.1, which libfoo.so.1.2.3 (a file) beats in its directory.
	want = slices.DeleteFunc(want, func(e ldcache.Entry) bool { return e.Key == "libalias.so.7" })
	if !reflect.DeepEqual(c.Entries, want) {
		t.Errorf("entries:\n%s\nwant:\n%s", fmtEntries(c.Entries), fmtEntries(want))
	}
	if c.Generator != ldcache.Generator || c.Flags != 2 {
		t.Errorf("generator %q, flags %d", c.Generator, c.Flags)
	}
	// The soname links ldconfig would have made.
	for p, target := range map[string]string{
		"usr/lib/x86_64-linux-gnu/libbar.so.2": "libbar.so.2.0",
		"usr/lib/x86_64-linux-gnu/libdup.so.1": "libdup.so.1.10",
	} {
		if e, ok := root[p]; !ok || e.h.Typeflag != tar.TypeSymlink || e.h.Linkname != target {
			t.Errorf("%s: %+v, want a symlink to %s", p, e.h, target)
		}
	}
	checkCacheAgrees(t, root, c, arches["amd64"])

	// Same input, same bytes.
	img2, _ := mustBuild(t, fx.spec(ldFixture(newFixture())))
	if a, b := f.data, rootfs(t, img2)["etc/ld.so.cache"].data; !bytes.Equal(a, b) {
		t.Error("two builds, two caches")
	}
	// The string table holds every glibc-hwcaps name ldconfig saw, even
	// one no library is in (ldconfig's table does).
	if !bytes.Contains(f.data, []byte("empty-v9\x00")) {
		t.Error("the cache's strings leave out the glibc-hwcaps name empty-v9")
	}
}

func fmtEntries(es []ldcache.Entry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "  %s (%#x) => %s\n", e.Key, e.Flags, e.Value)
	}
	return b.String()
}

// checkCacheAgrees checks that the cache and the ELF check agree: every
// library an ELF file of the image needs, and which the ELF check finds
// through /etc/ld.so.conf's directories, the cache lists, and every path
// the cache gives is a library of that soname for the image's machine.
func checkCacheAgrees(t *testing.T, root map[string]tarFile, c *ldcachetest.Cache, arch archInfo) {
	t.Helper()
	tr := newTree(nil)
	tr.startLayer()
	for p, f := range root {
		n := &node{typ: f.h.Typeflag, c: memContent(f.data), link: f.h.Linkname}
		if n.typ == tar.TypeLink {
			n.typ, n.c = tar.TypeReg, memContent(root[f.h.Linkname].data)
		}
		tr.add(p, n)
	}
	lc := newLibChecker(tr, arch, nil)
	keys := map[string]bool{}
	for _, e := range c.Entries {
		keys[e.Key] = true
		b, ok := lc.readFile(strings.TrimPrefix(e.Value, "/"))
		if !ok {
			t.Errorf("cache entry %s => %s: no such file", e.Key, e.Value)
			continue
		}
		soname, ok := sonameOf(b, elf.Machine(arch.machine))
		if !ok || (soname != e.Key && soname != "" && !strings.HasPrefix(soname, e.Key)) {
			t.Errorf("cache entry %s => %s: soname %q (library %v)", e.Key, e.Value, soname, ok)
		}
	}
	checked := 0
	for p, f := range tr.view {
		if f.typ != tar.TypeReg || !bytes.HasPrefix(f.c.b, []byte(elf.ELFMAG)) {
			continue
		}
		ef, err := elf.NewFile(bytes.NewReader(f.c.b))
		if err != nil {
			continue
		}
		needed, _ := ef.DynString(elf.DT_NEEDED)
		for _, lib := range needed {
			inConf := lc.findLib(lib, lc.confDirs)
			inDefault := lc.findLib(lib, lc.defDirs)
			switch {
			case inConf && !keys[lib]:
				t.Errorf("/%s needs %s: the ELF check finds it in an ld.so.conf directory, the cache does not list it", p, lib)
			case !inConf && !inDefault:
				t.Errorf("/%s needs %s: not found", p, lib)
			case keys[lib] && !inConf && !inDefault:
				t.Errorf("/%s needs %s: the cache lists it, the ELF check does not find it", p, lib)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Error("no DT_NEEDED checked")
	}
}

func TestLdSoCacheArm64AndErrors(t *testing.T) {
	fx := newFixture()
	arm := func(soname string) []byte { return fakeELF(elf.EM_AARCH64, elf.ET_DYN, soname) }
	l := layer("base", fx.pkg("libc6",
		regBytes("./usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1", 0o755, arm("ld-linux-aarch64.so.1")),
		sym("./usr/lib/ld-linux-aarch64.so.1", "aarch64-linux-gnu/ld-linux-aarch64.so.1"),
		regBytes("./usr/lib/aarch64-linux-gnu/libc.so.6", 0o755, arm("libc.so.6")),
		regBytes("./usr/lib/aarch64-linux-gnu/libx86.so.1", 0o755, []byte(x86lib("libx86.so.1"))),
	))
	l.Generate = []string{"ld.so.cache"}
	spec := fx.spec(l)
	spec.Arch = "arm64"
	img, _ := mustBuild(t, spec)
	c, err := ldcachetest.Parse(rootfs(t, img)["etc/ld.so.cache"].data)
	if err != nil {
		t.Fatal(err)
	}
	const a = ldcache.LdFlagELFLibc6 | ldcache.LdFlagAArch64Lib64
	want := []ldcache.Entry{
		{Flags: a, Key: "libc.so.6", Value: "/lib/aarch64-linux-gnu/libc.so.6"},
		{Flags: a, Key: "ld-linux-aarch64.so.1", Value: "/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1"},
		// The loader's link in /lib is a soname link of its own there.
		{Flags: a, Key: "ld-linux-aarch64.so.1", Value: "/lib/ld-linux-aarch64.so.1"},
	}
	if !reflect.DeepEqual(c.Entries, want) {
		t.Errorf("arm64 entries:\n%swant:\n%s", fmtEntries(c.Entries), fmtEntries(want))
	}

	// No loader: an error naming what was looked for.
	fx = newFixture()
	l = layer("base", fx.pkg("static", reg("./usr/bin/x", 0o755, "x")))
	l.Generate = []string{"ld.so.cache"}
	_, _, err = Build(context.Background(), fx.spec(l))
	if err == nil || !strings.Contains(err.Error(), "generator ld.so.cache: no glibc dynamic loader") || !strings.Contains(err.Error(), "/lib64/ld-linux-x86-64.so.2") {
		t.Fatalf("no loader: %v", err)
	}
}

// TestLdSoCacheOtherArches: the cache of a ppc64le, s390x and riscv64
// tree, each with its loader: the architecture's flags (riscv64's from
// each library's float ABI, a single-float one left out, as glibc's
// ldconfig does), in its byte order (big-endian on s390x, which Parse
// reads by the header's flag).
func TestLdSoCacheOtherArches(t *testing.T) {
	const double, single = 0x4, 0x2
	for _, c := range []struct {
		arch, loader, triplet string
		machine               elf.Machine
		order                 interface {
			binary.ByteOrder
			binary.AppendByteOrder
		}
		eflags uint32
		flag   int32
		endian byte
	}{
		{"ppc64le", "/lib64/ld64.so.2", "powerpc64le-linux-gnu", elf.EM_PPC64, binary.LittleEndian, 0, ldcache.LdFlagELFLibc6 | ldcache.LdFlagPowerPCLib64, 2},
		{"s390x", "/lib/ld64.so.1", "s390x-linux-gnu", elf.EM_S390, binary.BigEndian, 0, ldcache.LdFlagELFLibc6 | ldcache.LdFlagS390Lib64, 3},
		{"riscv64", "/lib/ld-linux-riscv64-lp64d.so.1", "riscv64-linux-gnu", elf.EM_RISCV, binary.LittleEndian, double, ldcache.LdFlagELFLibc6 | ldcache.LdFlagRISCVDouble, 2},
	} {
		t.Run(c.arch, func(t *testing.T) {
			lib := func(soname string, eflags uint32) []byte {
				return fakeELFOrder(c.order, eflags, c.machine, elf.ET_DYN, 0, soname)
			}
			loader := path.Base(c.loader)
			fx := newFixture()
			files := []fakeEntry{
				regBytes("./usr/lib/"+c.triplet+"/"+loader, 0o755, lib(loader, c.eflags)),
				sym("./usr"+c.loader, c.triplet+"/"+loader),
				regBytes("./usr/lib/"+c.triplet+"/libc.so.6", 0o755, lib("libc.so.6", c.eflags)),
			}
			if c.arch == "riscv64" {
				files = append(files, regBytes("./usr/lib/"+c.triplet+"/libsingle.so.1", 0o755, lib("libsingle.so.1", single)))
			}
			if strings.HasPrefix(c.loader, "/lib64/") {
				files[1] = sym("./usr/lib64/"+loader, "../lib/"+c.triplet+"/"+loader)
			}
			l := layer("base", fx.pkg("libc6", files...))
			l.Generate = []string{"ld.so.cache"}
			spec := fx.spec(l)
			spec.Arch = c.arch
			img, _ := mustBuild(t, spec)
			data := rootfs(t, img)["etc/ld.so.cache"].data
			if data[28] != c.endian {
				t.Errorf("cache flags byte %d, want %d", data[28], c.endian)
			}
			cache, err := ldcachetest.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			keys := map[string]bool{}
			for _, e := range cache.Entries {
				keys[e.Key] = true
				if e.Flags != c.flag {
					t.Errorf("%s: flags %#x, want %#x", e.Value, e.Flags, c.flag)
				}
			}
			if !keys["libc.so.6"] || !keys[loader] || keys["libsingle.so.1"] {
				t.Errorf("entries:\n%s", fmtEntries(cache.Entries))
			}
		})
	}
}

var ldFixtureOut = flag.String("ld-fixture-out", "", "write the tree of TestLdSoCacheGolden to this directory (see testdata/debug/README.md)")

// TestLdSoCacheGolden compares the cache of ldFixture's tree with the
// caches glibc's own ldconfig wrote for that tree (2.36 of bookworm, 2.41
// of trixie; testdata/debug/README.md says how): the same bytes up to
// the generator string, which names the generator.
func TestLdSoCacheGolden(t *testing.T) {
	fx := newFixture()
	img, _ := mustBuild(t, fx.spec(ldFixture(fx)))
	root := rootfs(t, img)
	ours := root["etc/ld.so.cache"].data
	oc, err := ldcachetest.Parse(ours)
	if err != nil {
		t.Fatal(err)
	}
	if *ldFixtureOut != "" {
		writeTree(t, *ldFixtureOut, root)
	}
	for _, v := range []string{"2.36", "2.41"} {
		golden, err := os.ReadFile(filepath.Join("..", "testdata", "debug", "ld.so.cache.glibc-"+v))
		if err != nil {
			t.Fatal(err)
		}
		gc, err := ldcachetest.Parse(golden)
		if err != nil {
			t.Fatalf("glibc %s cache: %v", v, err)
		}
		if !reflect.DeepEqual(gc.Entries, oc.Entries) {
			t.Errorf("glibc %s ldconfig's entries:\n%sours:\n%s", v, fmtEntries(gc.Entries), fmtEntries(oc.Entries))
		}
		if !strings.HasPrefix(gc.Generator, "ldconfig (Debian GLIBC "+v+"-") {
			t.Errorf("glibc %s cache generated by %q", v, gc.Generator)
		}
		if a, b := withoutGenerator(ours, ldcache.Generator), withoutGenerator(golden, gc.Generator); !bytes.Equal(a, b) {
			i := 0
			for i < min(len(a), len(b)) && a[i] == b[i] {
				i++
			}
			t.Errorf("glibc %s: the caches differ beyond the generator string, from byte %d", v, i)
		}
	}
}

// withoutGenerator is a cache without its generator string (the last
// bytes of the file), the string's size (in the extension directory's
// first section) zeroed.
func withoutGenerator(b []byte, gen string) []byte {
	b = bytes.Clone(b[:len(b)-len(gen)])
	binary.LittleEndian.PutUint32(b[binary.LittleEndian.Uint32(b[32:])+20:], 0)
	return b
}

// writeTree writes a flattened image tree into dir.
func writeTree(t *testing.T, dir string, root map[string]tarFile) {
	t.Helper()
	for _, p := range names(root) {
		f, dst := root[p], filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch f.h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(dst, 0o755)
		case tar.TypeSymlink:
			err = os.Symlink(f.h.Linkname, dst)
		case tar.TypeReg:
			err = os.WriteFile(dst, f.data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// sonameOf reads a 64-bit ELF file's DT_SONAME ("" without one); ok is
// false when b is no ELF file of that machine.
func sonameOf(b []byte, m elf.Machine) (string, bool) {
	ef, err := elf.NewFile(bytes.NewReader(b))
	if err != nil || ef.Machine != m || ef.Class != elf.ELFCLASS64 {
		return "", false
	}
	s, _ := ef.DynString(elf.DT_SONAME)
	if len(s) == 0 {
		return "", true
	}
	return s[0], true
}
