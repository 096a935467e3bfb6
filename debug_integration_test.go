package distroless

// Integration tests of the -debug variants (busybox under /busybox) and of
// the generated /etc/ld.so.cache of the Python images: the real binary,
// the real Debian archive, and the images run in podman (see
// gen_integration_test.go for the podman harness; a test fails, rather
// than skips, when a tool is missing).

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/internal/ldcache"
	"github.com/distroless-dev/distroless/internal/ldcache/ldcachetest"
)

var (
	dbgPy311Image = &sharedImage{name: "python3.11-debug-bookworm", tag: "dbg", args: []string{"python3.11-debug", "--distro", "debian:bookworm"}}
	dbgPy3Image   = &sharedImage{name: "python3-debug-trixie", tag: "dbg", args: []string{"python3", "--debug", "--distro", "debian:trixie"}}
)

// dbgEntry is one tar entry of an image layer.
type dbgEntry struct {
	layer int
	h     *tar.Header
	data  []byte
}

// dbgLayers reads every layer of the image tagged tag in an OCI layout.
func dbgLayers(t *testing.T, dir, tag string) [][]dbgEntry {
	t.Helper()
	l := clitest.ReadLayout(t, dir, tag)
	var out [][]dbgEntry
	for i, d := range l.Manifest.Layers {
		zr, err := gzip.NewReader(bytes.NewReader(clitest.ReadBlob(t, dir, d)))
		if err != nil {
			t.Fatalf("layer %s: %v", d.Digest, err)
		}
		tr := tar.NewReader(zr)
		var es []dbgEntry
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("layer %s: %v", d.Digest, err)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("layer %s: %v", d.Digest, err)
			}
			h.Name = strings.TrimSuffix(strings.TrimPrefix(path.Clean("/"+h.Name), "/"), "/")
			es = append(es, dbgEntry{i, h, b})
		}
		out = append(out, es)
	}
	return out
}

// dbgRootfs flattens layers into the root filesystem (path without the
// leading slash → entry), applying whiteouts.
func dbgRootfs(layers [][]dbgEntry) map[string]dbgEntry {
	fs := map[string]dbgEntry{}
	for _, l := range layers {
		for _, e := range l {
			dir, base := path.Split(e.h.Name)
			if base == ".wh..wh..opq" {
				for p := range fs {
					if strings.HasPrefix(p, dir) {
						delete(fs, p)
					}
				}
				continue
			}
			if gone, ok := strings.CutPrefix(base, ".wh."); ok {
				for p := range fs {
					if p == dir+gone || strings.HasPrefix(p, dir+gone+"/") {
						delete(fs, p)
					}
				}
				continue
			}
			fs[e.h.Name] = e
		}
	}
	return fs
}

// busyboxLinks returns the applet links under /busybox (but busybox),
// sorted, checking each is a symlink to busybox.
func busyboxLinks(t *testing.T, fs map[string]dbgEntry) []string {
	t.Helper()
	var names []string
	for p, e := range fs {
		name, ok := strings.CutPrefix(p, "busybox/")
		if !ok || name == "busybox" {
			continue
		}
		if e.h.Typeflag != tar.TypeSymlink || e.h.Linkname != "busybox" {
			t.Errorf("/%s: type %c, link %q; want a symlink to busybox", p, e.h.Typeflag, e.h.Linkname)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// shellNames are names no file of a non-debug image may have.
var shellNames = []string{"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"}

// TestDebugVariant builds python3.11-debug (bookworm) and python3
// --debug (trixie): busybox and its applets under /busybox, PATH extended,
// the entrypoint unchanged and still running Python, the applet links
// those busybox --list prints, the lower layers those of the non-debug
// image, and the shell only in the debug layer.
func TestDebugVariant(t *testing.T) {
	integration(t)
	p := newPodman(t)
	for _, tc := range []struct {
		debug, plain     *sharedImage
		profile, version string
	}{
		{dbgPy311Image, py311Image, "python3.11", "(3, 11)"},
		{dbgPy3Image, py3Image, "python3.13", "(3, 13)"},
	} {
		t.Run(tc.debug.name, func(t *testing.T) {
			start := time.Now()
			img, plain := tc.debug.get(t), tc.plain.get(t)
			if img.res.Profile != tc.profile+"-debug" {
				t.Fatalf("profile %s, want %s-debug", img.res.Profile, tc.profile)
			}
			var names []string
			for _, l := range img.res.Layers {
				names = append(names, l.Name)
			}
			if want := []string{"static", "base", "cc", tc.profile, tc.profile + "-debug", "os-release"}; !slices.Equal(names, want) {
				t.Fatalf("layers %v, want %v", names, want)
			}
			// The package layers below the debug one are the plain image's.
			dl, pl := clitest.ReadLayout(t, img.dir, img.tag).LayerDigests(), clitest.ReadLayout(t, plain.dir, plain.tag).LayerDigests()
			if !slices.Equal(dl[:4], pl[:4]) || dl[5] != pl[4] {
				t.Errorf("debug layers %v do not share the plain image's %v", dl, pl)
			}

			// Config: the same entrypoint, /busybox on PATH.
			dc, pc := inspectConfig(t, img.ref()), inspectConfig(t, plain.ref())
			if !slices.Equal(dc.Config.Entrypoint, pc.Config.Entrypoint) || len(dc.Config.Entrypoint) == 0 || dc.Config.User != pc.Config.User {
				t.Errorf("debug entrypoint %q user %q, plain %q %q", dc.Config.Entrypoint, dc.Config.User, pc.Config.Entrypoint, pc.Config.User)
			}
			envPath := func(env []string) string {
				for _, e := range env {
					if v, ok := strings.CutPrefix(e, "PATH="); ok {
						return v
					}
				}
				return ""
			}
			if dp, pp := envPath(dc.Config.Env), envPath(pc.Config.Env); dp != pp+":/busybox" {
				t.Errorf("debug PATH %q, plain %q", dp, pp)
			}

			// The files: busybox, a link to it, one link per applet, all
			// in the debug layer.
			layers := dbgLayers(t, img.dir, img.tag)
			fs := dbgRootfs(layers)
			if e := fs["busybox/busybox"]; e.h == nil || e.h.Typeflag != tar.TypeSymlink || e.h.Linkname != "../usr/bin/busybox" {
				t.Fatalf("/busybox/busybox: %+v", e.h)
			}
			if e := fs["usr/bin/busybox"]; e.h == nil || e.h.Typeflag != tar.TypeReg || !bytes.HasPrefix(e.data, []byte(elf.ELFMAG)) {
				t.Fatalf("/usr/bin/busybox: %+v", e.h)
			}
			applets := busyboxLinks(t, fs)
			if !slices.Contains(applets, "sh") || !slices.Contains(applets, "ls") || len(applets) < 200 {
				t.Fatalf("%d applet links: %v", len(applets), applets)
			}
			for _, l := range layers {
				for _, e := range l {
					if slices.Contains(shellNames, path.Base(e.h.Name)) && e.layer != 4 {
						t.Errorf("/%s is in layer %s, not in the debug layer", e.h.Name, names[e.layer])
					}
				}
			}

			// busybox itself lists the applets the links name.
			out, stderr, code := p.run(t, 2*time.Minute, "run", "--rm", "--network=none", "--entrypoint", "/busybox/busybox", img.ref(), "--list")
			if code != 0 {
				t.Fatalf("busybox --list: exit %d: %s", code, clitest.Tail(stderr, 10))
			}
			listed := slices.DeleteFunc(strings.Fields(out), func(s string) bool { return s == "busybox" })
			slices.Sort(listed)
			if !slices.Equal(listed, applets) {
				t.Errorf("busybox --list names %d applets, /busybox has %d links:\nlisted %v\nlinks  %v", len(listed), len(applets), listed, applets)
			}
			t.Logf("%s: %d applet links under /busybox (busybox --list agrees)", tc.debug.name, len(applets))

			// A shell, as the issue asks: ls / and echo.
			out, stderr, code = p.run(t, 2*time.Minute, "run", "--rm", "--network=none", "--entrypoint", "/busybox/sh", img.ref(), "-c", "ls /; echo ok")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if code != 0 || lines[len(lines)-1] != "ok" || !slices.Contains(lines, "busybox") || !slices.Contains(lines, "usr") {
				t.Fatalf("/busybox/sh -c 'ls /; echo ok': exit %d, stdout %q, stderr %s", code, out, clitest.Tail(stderr, 10))
			}
			// PATH finds the applets: a command by its bare name.
			out, stderr, code = p.run(t, 2*time.Minute, "run", "--rm", "--network=none", "--entrypoint", "/busybox/sh", img.ref(), "-c", "cat /etc/os-release | wc -l; which ls")
			if code != 0 || !strings.HasSuffix(strings.TrimSpace(out), "/busybox/ls") {
				t.Errorf("applets on PATH: exit %d, stdout %q, stderr %s", code, out, clitest.Tail(stderr, 10))
			}
			// The default entrypoint still runs Python.
			out, stderr, code = p.run(t, 2*time.Minute, "run", "--rm", "--network=none", img.ref(), "-c", "import sys; print('python', tuple(sys.version_info[:2]))")
			if code != 0 || strings.TrimSpace(out) != "python "+tc.version {
				t.Errorf("default entrypoint: exit %d, stdout %q, stderr %s", code, out, clitest.Tail(stderr, 10))
			}
			t.Logf("%s: checked in %v", tc.debug.name, time.Since(start).Round(time.Millisecond))
		})
	}

	// --debug is the -debug variant: the same image.
	out := filepath.Join(t.TempDir(), "flag")
	d := genDigest(t, "python3.11", "--debug", "--distro", "debian:bookworm", "--cache-dir", testCache, "-o", "oci:"+out+":dbg")
	if want := dbgPy311Image.get(t).res.Digest; d != want {
		t.Errorf("gen python3.11 --debug: %s; gen python3.11-debug: %s", d, want)
	}
	stdout, stderr, code := cli(t, "resolve", "python3.11", "--debug", "--distro", "debian:bookworm", "--cache-dir", testCache)
	if code != 0 || !regexp.MustCompile(`(?m)^busybox-static\s.*python3\.11-debug\s`).MatchString(stdout) {
		t.Errorf("resolve python3.11 --debug: exit %d, stderr %s\n%s", code, stderr, stdout)
	}
}

// TestDebugNoShellInDefault: the non-debug images have no shell at all:
// no file named like one in any layer, no /busybox.
func TestDebugNoShellInDefault(t *testing.T) {
	integration(t)
	for _, img := range []*sharedImage{py311Image, py3Image} {
		t.Run(img.name, func(t *testing.T) {
			img.get(t)
			n := 0
			for _, l := range dbgLayers(t, img.dir, img.tag) {
				for _, e := range l {
					n++
					if slices.Contains(shellNames, path.Base(e.h.Name)) || e.h.Name == "busybox" || strings.HasPrefix(e.h.Name, "busybox/") {
						t.Errorf("%s has /%s", img.name, e.h.Name)
					}
					// Nor a script whose interpreter is a shell it lacks
					// and which the profile should have pruned.
					if e.h.Typeflag == tar.TypeReg && (strings.HasPrefix(e.h.Name, "usr/bin/") || strings.HasPrefix(e.h.Name, "usr/sbin/")) && bytes.HasPrefix(e.data, []byte("#!/bin/bash")) {
						t.Errorf("%s has the bash script /%s", img.name, e.h.Name)
					}
				}
			}
			if n < 1000 {
				t.Fatalf("%s: only %d layer entries walked", img.name, n)
			}
		})
	}
}

// TestDebugAppletsCrossArch: the applet links of an arm64 image, read
// from the arm64 binary on this (amd64) host, are those busybox --list
// printed for the amd64 binary of the same package version (Debian builds
// busybox-static with one configuration for every architecture).
func TestDebugAppletsCrossArch(t *testing.T) {
	integration(t)
	t.Parallel()
	amd := dbgPy311Image.get(t)
	out := filepath.Join(t.TempDir(), "arm64")
	genDigest(t, "static-debug", "--arch", "arm64", "--distro", "debian:bookworm", "--cache-dir", testCache, "-o", "oci:"+out+":arm")
	arm := busyboxLinks(t, dbgRootfs(dbgLayers(t, out, "arm")))
	want := busyboxLinks(t, dbgRootfs(dbgLayers(t, amd.dir, amd.tag)))
	if !slices.Equal(arm, want) {
		t.Errorf("arm64 applets %v\namd64 applets %v", arm, want)
	}
	c := inspectConfig(t, "oci:"+out+":arm")
	if c.Architecture != "arm64" {
		t.Errorf("architecture %s", c.Architecture)
	}
}

// TestPythonFindLibrary: the Python images have /sbin/ldconfig and an
// /etc/ld.so.cache gen wrote; ldconfig -p lists the libraries from it,
// ctypes.util.find_library finds ssl, crypto, c and sqlite3 (it runs
// /sbin/ldconfig -p, without a shell), and the cache is the one the
// image's own ldconfig writes, byte for byte but the generator's name.
// Every library an ELF file of the image needs is in it.
func TestPythonFindLibrary(t *testing.T) {
	integration(t)
	p := newPodman(t)
	for _, img := range []*sharedImage{py311Image, py3Image} {
		t.Run(img.name, func(t *testing.T) {
			img.get(t)
			fs := dbgRootfs(dbgLayers(t, img.dir, img.tag))
			ours, ok := fs["etc/ld.so.cache"]
			if !ok {
				t.Fatal("no /etc/ld.so.cache")
			}
			if e := fs["usr/sbin/ldconfig"]; e.h == nil || e.h.Typeflag != tar.TypeReg {
				t.Fatal("no /usr/sbin/ldconfig")
			}
			cache, err := ldcachetest.Parse(ours.data)
			if err != nil {
				t.Fatal(err)
			}

			// ctypes.util.find_library, and a library loaded by that name.
			script := `import ctypes, ctypes.util, locale
for n in ("ssl", "crypto", "c", "sqlite3", "z", "nosuchlib"):
    print(n, ctypes.util.find_library(n))
print("openssl", ctypes.CDLL(ctypes.util.find_library("ssl")).OpenSSL_version_num() > 0x30000000)
print("locale", locale.setlocale(locale.LC_ALL, ""))
`
			out, stderr, code := p.run(t, 2*time.Minute, "run", "--rm", "--network=none", img.ref(), "-c", script)
			if code != 0 {
				t.Fatalf("find_library script: exit %d: %s", code, clitest.Tail(stderr, 20))
			}
			got := map[string]string{}
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				k, v, _ := strings.Cut(l, " ")
				got[k] = v
			}
			for _, n := range []string{"ssl", "crypto", "c", "sqlite3", "z"} {
				if !regexp.MustCompile(`^lib` + regexp.QuoteMeta(n) + `\.so\.\d+$`).MatchString(got[n]) {
					t.Errorf("find_library(%q) = %q", n, got[n])
				}
			}
			if got["nosuchlib"] != "None" || got["openssl"] != "True" || got["locale"] != "C.UTF-8" {
				t.Errorf("find_library script printed:\n%s", out)
			}
			t.Logf("find_library: ssl %s, crypto %s, c %s, sqlite3 %s", got["ssl"], got["crypto"], got["c"], got["sqlite3"])

			// The real ldconfig reads the cache.
			out, stderr, code = p.run(t, 2*time.Minute, "run", "--rm", "--network=none", "--entrypoint", "/sbin/ldconfig", img.ref(), "-p")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if code != 0 || len(lines) < 3 {
				t.Fatalf("ldconfig -p: exit %d, stdout %q, stderr %s", code, out, clitest.Tail(stderr, 10))
			}
			if want := fmt.Sprintf("%d libs found in cache `/etc/ld.so.cache'", len(cache.Entries)); lines[0] != want || len(cache.Entries) < 30 {
				t.Errorf("ldconfig -p: %q, want %q (30 or more)", lines[0], want)
			}
			for _, want := range []string{"\tlibssl.so.3 (libc6,x86-64) => /lib/x86_64-linux-gnu/libssl.so.3", "\tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6"} {
				if !slices.Contains(lines, want) {
					t.Errorf("ldconfig -p lacks %q:\n%s", want, out)
				}
			}
			if last := lines[len(lines)-1]; last != "Cache generated by: "+ldcache.Generator {
				t.Errorf("ldconfig -p ends %q", last)
			}

			// The image's ldconfig writes its own cache of the same tree:
			// the same entries, and the same bytes up to the generator
			// string (which names glibc's ldconfig there).
			dir := mountDir(t)
			_, stderr, code = p.run(t, 2*time.Minute, "run", "--rm", "--network=none", "--user", "root", "-v", dir+":/out",
				"--entrypoint", "/sbin/ldconfig", img.ref(), "-X", "-C", "/out/ld.so.cache")
			if code != 0 {
				t.Fatalf("ldconfig -X -C: exit %d: %s", code, clitest.Tail(stderr, 10))
			}
			real, err := os.ReadFile(filepath.Join(dir, "ld.so.cache"))
			if err != nil {
				t.Fatal(err)
			}
			rc, err := ldcachetest.Parse(real)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rc.Entries, cache.Entries) {
				t.Errorf("ldconfig's entries differ from gen's:\nldconfig %+v\ngen      %+v", rc.Entries, cache.Entries)
			}
			if !strings.HasPrefix(rc.Generator, "ldconfig (Debian GLIBC ") {
				t.Errorf("ldconfig's generator %q", rc.Generator)
			}
			// Everything but the generator string and its size.
			strip := func(b []byte, gen string) []byte {
				b = bytes.Clone(b[:len(b)-len(gen)])
				binary.LittleEndian.PutUint32(b[binary.LittleEndian.Uint32(b[32:])+20:], 0)
				return b
			}
			if !bytes.Equal(strip(real, rc.Generator), strip(ours.data, ldcache.Generator)) {
				t.Errorf("ldconfig's cache (%d bytes) and gen's (%d bytes) differ beyond the generator string", len(real), len(ours.data))
			}
			t.Logf("%d libraries; the cache matches the one %s writes", len(cache.Entries), rc.Generator)

			// The loader finds, through the cache, every library an ELF
			// file of the image needs (ELF files with their own RUNPATH
			// or RPATH aside).
			keys := map[string]bool{}
			for _, e := range cache.Entries {
				keys[e.Key] = true
			}
			checked := 0
			for name, e := range fs {
				if e.h.Typeflag != tar.TypeReg || !bytes.HasPrefix(e.data, []byte(elf.ELFMAG)) {
					continue
				}
				f, err := elf.NewFile(bytes.NewReader(e.data))
				if err != nil {
					continue
				}
				rp, _ := f.DynString(elf.DT_RUNPATH)
				rpath, _ := f.DynString(elf.DT_RPATH)
				needed, _ := f.DynString(elf.DT_NEEDED)
				if len(rp)+len(rpath) > 0 {
					continue
				}
				for _, lib := range needed {
					checked++
					if !keys[lib] {
						t.Errorf("/%s needs %s, which the cache does not list", name, lib)
					}
				}
			}
			if checked < 100 {
				t.Errorf("only %d DT_NEEDED entries checked", checked)
			}
		})
	}
}
