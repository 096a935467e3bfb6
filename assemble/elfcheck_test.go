package assemble

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// hostArch returns the image architecture matching the test host; on
// another host the test fails (the ELF fixtures are the host's own).
func hostArch(t *testing.T) (string, archInfo) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Fatal("needs a Linux host for ELF fixtures")
	}
	a, ok := arches[runtime.GOARCH]
	if !ok {
		t.Fatalf("no arch info for %s", runtime.GOARCH)
	}
	return runtime.GOARCH, a
}

// hostBinary returns a dynamically linked host executable with the
// contents of its program interpreter and of each library it needs.
func hostBinary(t *testing.T, arch archInfo) (bin []byte, interp string, interpData []byte, libs map[string][]byte) {
	t.Helper()
	var path string
	for _, p := range []string{"/usr/bin/true", "/bin/true"} {
		if _, err := os.Stat(p); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("no /usr/bin/true")
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			p.ReadAt(b, 0)
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	needed, _ := f.ImportedLibraries()
	if interp == "" || len(needed) == 0 {
		t.Fatal("/usr/bin/true is not dynamically linked")
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bin, interpData = read(path), read(interp)
	libs = map[string][]byte{}
	for _, n := range needed {
		found := false
		for _, d := range []string{"/lib/" + arch.triplet, "/usr/lib/" + arch.triplet, "/lib64", "/lib", "/usr/lib"} {
			if b, err := os.ReadFile(filepath.Join(d, n)); err == nil {
				libs[n], found = b, true
				break
			}
		}
		if !found {
			t.Fatalf("cannot find host %s", n)
		}
	}
	return bin, interp, interpData, libs
}

func TestELFCheckHostBinary(t *testing.T) {
	archName, arch := hostArch(t)
	bin, interp, interpData, libs := hostBinary(t, arch)
	loader := "./lib/" + arch.triplet + "/" + filepath.Base(interp)

	mk := func(withLibc, withLoader bool) (*fixture, Spec) {
		f := newFixture()
		var libEntries []fakeEntry
		if withLoader {
			libEntries = append(libEntries, regBytes(loader, 0o755, interpData))
			if "."+interp != loader {
				libEntries = append(libEntries, sym("."+interp, "/"+strings.TrimPrefix(loader, "./")))
			}
		}
		for n, b := range libs {
			if n == "libc.so.6" && !withLibc {
				continue
			}
			libEntries = append(libEntries, regBytes("./lib/"+arch.triplet+"/"+n, 0o644, b))
		}
		libc := f.pkg("libc6", libEntries...)
		tools := f.pkg("coreutils", regBytes("./bin/true", 0o755, bin))
		s := f.spec(layer("base", libc), layer("tools", tools))
		s.Arch = archName
		return f, s
	}

	_, s := mk(true, true)
	_, rep := mustBuild(t, s)
	if rep.ELFFiles < 2 {
		t.Errorf("checked %d ELF files", rep.ELFFiles)
	}

	_, s = mk(false, true)
	_, _, err := Build(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "/usr/bin/true: needs libc.so.6") {
		t.Fatalf("missing libc: err = %v", err)
	}
	s.AllowMissingLibs = true
	_, rep = mustBuild(t, s)
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), "/usr/bin/true: needs libc.so.6") {
		t.Errorf("AllowMissingLibs: warnings %q", rep.Warnings)
	}

	_, s = mk(true, false)
	_, _, err = Build(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "program interpreter "+interp+" not found") {
		t.Fatalf("missing loader: err = %v", err)
	}
}

// elfStub makes a minimal ELF header of the given class, machine and type.
func elfStub(class64 bool, machine elf.Machine, typ elf.Type) []byte {
	b := make([]byte, 64)
	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS] = byte(elf.ELFCLASS32)
	if class64 {
		b[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	}
	b[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	b[elf.EI_VERSION] = 1
	binary.LittleEndian.PutUint16(b[16:], uint16(typ))
	binary.LittleEndian.PutUint16(b[18:], uint16(machine))
	return b
}

func TestELFCheckSkips(t *testing.T) {
	f := newFixture()
	p := f.pkg("firmware",
		// Foreign architecture: skipped.
		regBytes("./usr/lib/firmware/arm.bin", 0o644, append(elfStub(true, elf.EM_AARCH64, elf.ET_DYN), make([]byte, 64)...)),
		// 32-bit x86: skipped on amd64.
		regBytes("./usr/lib/firmware/x86.bin", 0o644, append(elfStub(false, elf.EM_386, elf.ET_EXEC), make([]byte, 64)...)),
		// A relocatable object (kernel modules are ET_REL): skipped.
		regBytes("./usr/lib/modules/x.ko", 0o644, append(elfStub(true, elf.EM_X86_64, elf.ET_REL), make([]byte, 64)...)),
		// The right machine but garbage after the header: a warning.
		regBytes("./usr/lib/broken.so", 0o644, append(elfStub(true, elf.EM_X86_64, elf.ET_DYN), []byte("garbage garbage garbage garbage garbage garbage garbage garbage")...)),
		reg("./usr/bin/script", 0o755, "#!/bin/sh\n"),
	)
	_, rep := mustBuild(t, f.spec(layer("l", p)))
	if w := strings.Join(rep.Warnings, "\n"); !strings.Contains(w, "/usr/lib/broken.so") || strings.Contains(w, "firmware") || strings.Contains(w, "x.ko") {
		t.Errorf("warnings %q", rep.Warnings)
	}
}

// TestELFCheckRunpath compiles a program and a library with the host's C
// compiler and checks $ORIGIN run paths, ld.so.conf.d and LD_LIBRARY_PATH.
func TestELFCheckRunpath(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles C with gcc: skipped with -short; the full test command runs it")
	}
	archName, arch := hostArch(t)
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatal("no C compiler (scripts/test.sh installs gcc):", err)
	}
	_, interp, interpData, libs := hostBinary(t, arch)
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("foo.c", "int foo(void) { return 42; }\n")
	write("main.c", "int foo(void);\nint main(void) { return foo() == 42 ? 0 : 1; }\n")
	run := func(args ...string) {
		cmd := exec.Command(cc, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", cc, args, err, out)
		}
	}
	run("-shared", "-fPIC", "-o", "libfoo.so.1", "-Wl,-soname,libfoo.so.1", "foo.c")
	run("-o", "main", "main.c", "libfoo.so.1", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib")
	mainBin, err := os.ReadFile(filepath.Join(dir, "main"))
	if err != nil {
		t.Fatal(err)
	}
	libfoo, err := os.ReadFile(filepath.Join(dir, "libfoo.so.1"))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		libAt   string
		files   []File
		env     []string
		missing bool
	}{
		{name: "origin runpath", libAt: "./opt/app/lib/libfoo.so.1"},
		{name: "default dir", libAt: "./usr/lib/libfoo.so.1"},
		{name: "elsewhere", libAt: "./opt/other/libfoo.so.1", missing: true},
		{name: "ld.so.conf.d", libAt: "./opt/other/libfoo.so.1", files: []File{
			{Path: "/etc/ld.so.conf", Mode: 0o644, Data: []byte("include /etc/ld.so.conf.d/*.conf\n")},
			{Path: "/etc/ld.so.conf.d/other.conf", Mode: 0o644, Data: []byte("# comment\n/opt/other\n")},
		}},
		{name: "LD_LIBRARY_PATH", libAt: "./opt/other/libfoo.so.1", env: []string{"LD_LIBRARY_PATH=/opt/nothing:/opt/other"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			var libEntries []fakeEntry
			loader := "./lib/" + arch.triplet + "/" + filepath.Base(interp)
			libEntries = append(libEntries, regBytes(loader, 0o755, interpData))
			if "."+interp != loader {
				libEntries = append(libEntries, sym("."+interp, "/"+strings.TrimPrefix(loader, "./")))
			}
			for n, b := range libs {
				libEntries = append(libEntries, regBytes("./lib/"+arch.triplet+"/"+n, 0o644, b))
			}
			app := f.pkg("app", regBytes("./opt/app/bin/main", 0o755, mainBin), regBytes(tc.libAt, 0o644, libfoo))
			s := f.spec(layer("base", f.pkg("libc6", libEntries...)), layer("app", app))
			s.Arch = archName
			s.Layers[1].Files = tc.files
			s.Env = tc.env
			_, _, err := Build(context.Background(), s)
			if tc.missing {
				if err == nil || !strings.Contains(err.Error(), "/opt/app/bin/main: needs libfoo.so.1") {
					t.Fatalf("err = %v, want main missing libfoo.so.1", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
