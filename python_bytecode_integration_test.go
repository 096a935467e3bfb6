package distroless

// Bytecode and modification times of the Python images (assemble's
// bytecode.go and its mtimes): checked in the layers as written, then
// with podman the way a user runs the image.

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
)

// imageFile is one path of an image's flattened root filesystem.
type imageFile struct {
	h     *tar.Header
	data  []byte
	layer int
}

// flattenLayout reads every layer of an OCI layout's image, bottom
// first, into path -> entry (upper layers win).
func flattenLayout(t *testing.T, dir, tag string) map[string]imageFile {
	t.Helper()
	out := map[string]imageFile{}
	clitest.WalkLayers(t, dir, tag, func(i int, h *tar.Header, r io.Reader) {
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(h.Name, "/")] = imageFile{h, b, i}
	})
	return out
}

// importSet is what the README's benchmark imports: a typical program's
// standard library use.
const importSet = "asyncio, json, email, http.client, ssl, sqlite3, decimal, logging, argparse, typing, dataclasses, urllib.request"

// TestPythonBytecode: each Python image has a checked-hash .pyc for every
// standard library module, in the interpreter's layer; importing uses
// them (nothing is compiled, nothing written) under a read-only root; and
// every file keeps its package's mtime, never one before 1980, so zipfile
// takes files from the image.
func TestPythonBytecode(t *testing.T) {
	integration(t)
	p := newPodman(t)
	for _, tc := range []struct {
		img   *sharedImage
		minor string
	}{
		{py311Image, "11"},
		{py3Image, "13"},
	} {
		t.Run(tc.img.name, func(t *testing.T) {
			img := tc.img.get(t)
			files := flattenLayout(t, img.dir, img.tag)
			lib := "usr/lib/python3." + tc.minor + "/"
			tag := ".cpython-3" + tc.minor + ".pyc"
			pyLayer := -1
			for i, l := range img.res.Layers {
				if l.Name == "python3."+tc.minor {
					pyLayer = i
				}
			}
			var sources, pycs int
			var magic []byte
			for p, f := range files {
				if !strings.HasPrefix(p, lib) {
					continue
				}
				if strings.HasSuffix(p, ".py") {
					sources++
					cache := path.Join(path.Dir(p), "__pycache__", strings.TrimSuffix(path.Base(p), ".py")+tag)
					if _, ok := files[cache]; !ok {
						t.Errorf("/%s: no /%s", p, cache)
					}
				}
				if !strings.HasSuffix(p, ".pyc") {
					continue
				}
				pycs++
				if f.layer != pyLayer {
					t.Errorf("/%s is in layer %d, its interpreter's is %d", p, f.layer, pyLayer)
				}
				// PEP 552: magic, flags (bit 0 hash-based, bit 1 checked),
				// the source's hash.
				if len(f.data) < 16 || binary.LittleEndian.Uint32(f.data[4:8]) != 3 {
					t.Errorf("/%s: not a checked-hash .pyc (header % x)", p, f.data[:min(16, len(f.data))])
					continue
				}
				if magic == nil {
					magic = f.data[:4]
				} else if !bytes.Equal(magic, f.data[:4]) {
					t.Errorf("/%s: magic % x, others % x", p, f.data[:4], magic)
				}
			}
			t.Logf("python3.%s: %d .py, %d .pyc", tc.minor, sources, pycs)
			if sources < 500 || pycs != sources {
				t.Errorf("%d .py files and %d .pyc files under /%s", sources, pycs, lib)
			}

			// Nothing dated before 1980 (zip's limit), packaged files
			// dated as in their package.
			for p, f := range files {
				if f.h.ModTime.Before(time.Date(1980, 1, 3, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("/%s: mtime %v", p, f.h.ModTime.UTC())
				}
			}
			known := lib + "json/__init__.py"
			want := debMTime(t, []string{"libpython3." + tc.minor + "-minimal", "libpython3." + tc.minor + "-stdlib"}, "./"+known)
			if got := files[known].h.ModTime; !got.Equal(want) {
				t.Errorf("/%s: mtime %v in the image, %v in its package", known, got.UTC(), want.UTC())
			}

			// Read-only root, the default (nonroot) user: the import set is
			// loaded from bytecode that the import system checked against
			// its sources ("matches"), none compiled from source.
			prog := "import " + importSet + "\nimport importlib.util, sys\nprint(importlib.util.cache_from_source(json.__file__) == json.__cached__, bool(sys.flags.dont_write_bytecode))\n"
			stdout, stderr, code := p.run(t, 2*time.Minute, "run", "--rm", "--network=none", "--read-only", img.ref(), "-v", "-c", prog)
			if code != 0 || strings.TrimSpace(stdout) != "True False" {
				t.Fatalf("import set: exit %d, stdout %q\n%s", code, stdout, clitest.Tail(stderr, 30))
			}
			fromSource := regexp.MustCompile(`(?m)^# code object from '?/usr/lib/python3[^ ]*\.py'?$`).FindAllString(stderr, -1)
			matches := regexp.MustCompile(`(?m)^# /usr/lib/python3\.`+tc.minor+`/\S*__pycache__/\S+\.pyc matches /usr/lib/python3\.`+tc.minor+`/\S+\.py$`).FindAllString(stderr, -1)
			if len(fromSource) > 0 || len(matches) < 100 {
				t.Errorf("import set: %d modules compiled from source %q, %d loaded from bytecode", len(fromSource), fromSource, len(matches))
			}
			t.Logf("import set: %d modules loaded from bytecode", len(matches))

			// As root with a writable root the import writes nothing
			// (a stale or mtime-based .pyc would be rewritten).
			name := "bytecode-" + tc.minor
			if _, stderr, code := p.run(t, 2*time.Minute, "run", "--name", name, "--network=none", "--user", "0", img.ref(), "-c", "import "+importSet); code != 0 {
				t.Fatalf("import set as root: exit %d\n%s", code, clitest.Tail(stderr, 20))
			}
			diff, stderr, code := p.run(t, time.Minute, "diff", name)
			p.run(t, time.Minute, "rm", "--force", name)
			if code != 0 {
				t.Fatalf("podman diff: exit %d\n%s", code, stderr)
			}
			if strings.Contains(diff, "/usr/") {
				t.Errorf("importing wrote into /usr:\n%s", diff)
			}

			// zipfile (which refuses mtimes before 1980) takes files from
			// the image as they are.
			zprog := "import io, zipfile\nz = zipfile.ZipFile(io.BytesIO(), 'w')\nfor f in ['/etc/passwd', '/" + known + "', '/usr/bin/python3." + tc.minor + "']:\n    z.write(f)\nprint('zipped', len(z.infolist()))\n"
			stdout, stderr, code = p.run(t, 2*time.Minute, "run", "--rm", "--network=none", "--read-only", img.ref(), "-c", zprog)
			if code != 0 || strings.TrimSpace(stdout) != "zipped 3" {
				t.Errorf("zipfile: exit %d, %q\n%s", code, stdout, clitest.Tail(stderr, 20))
			}
		})
	}
}

// debMTime returns the mtime of member in the data archive of the cached
// .deb of one of pkgs that has it, as dpkg-deb reads it.
func debMTime(t *testing.T, pkgs []string, member string) time.Time {
	t.Helper()
	dpkgDeb := needTool(t, "dpkg-deb")
	blobs, _ := filepath.Glob(filepath.Join(testCache, "blobs", "sha256", "*"))
	for _, b := range blobs {
		name, err := exec.Command(dpkgDeb, "-f", b, "Package").Output()
		if err != nil || !slices.Contains(pkgs, strings.TrimSpace(string(name))) {
			continue
		}
		data, err := exec.Command(dpkgDeb, "--fsys-tarfile", b).Output()
		if err != nil {
			t.Fatalf("dpkg-deb --fsys-tarfile %s: %v", b, err)
		}
		tr := tar.NewReader(bytes.NewReader(data))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if h.Name == member {
				return h.ModTime
			}
		}
	}
	t.Fatalf("no package of %v in the cache has %s", pkgs, member)
	return time.Time{}
}

// TestGenSourceDateEpoch: SOURCE_DATE_EPOCH lowers later package mtimes
// to it and dates the generated files; nothing is later than it (the
// trixie packages are all later).
func TestGenSourceDateEpoch(t *testing.T) {
	integration(t)
	const sde = 1600000000 // 2020-09-13, before any trixie package
	dir := filepath.Join(t.TempDir(), "out")
	clitest.Must(t, testBin, clitest.Cmd{Env: []string{"SOURCE_DATE_EPOCH=1600000000"}}, "gen", "python3", "--distro", "debian:trixie", "--cache-dir", testCache, "-o", "oci:"+dir+":py")
	files := flattenLayout(t, dir, "py")
	for p, f := range files {
		if f.h.ModTime.Unix() > sde || f.h.ModTime.Unix() < 315532800 {
			t.Errorf("/%s: mtime %v, want no later than %v", p, f.h.ModTime.UTC(), time.Unix(sde, 0).UTC())
		}
	}
	// Generated (passwd, bytecode), packaged and later than SDE (json).
	for _, p := range []string{"etc/passwd", "usr/lib/python3.13/json/__pycache__/__init__.cpython-313.pyc", "usr/lib/python3.13/json/__init__.py"} {
		if f, ok := files[p]; !ok || f.h.ModTime.Unix() != sde {
			t.Errorf("/%s: mtime %v, want %v", p, f.h.ModTime.UTC(), time.Unix(sde, 0).UTC())
		}
	}
	if len(files) < 1000 {
		t.Errorf("only %d files", len(files))
	}
}

// TestPythonBytecodeCached: a second build of the same inputs takes the
// bytecode from the cache instead of running the interpreter, with the
// same digest; a damaged cache entry is said, removed and compiled again,
// never used.
func TestPythonBytecodeCached(t *testing.T) {
	integration(t)
	img := py3Image.get(t) // compiled once into testCache
	gen := func() (string, string) {
		t.Helper()
		// Without the image memo, which would skip the build whose
		// bytecode step this test watches.
		dropImageMemos(t, testCache)
		dir := filepath.Join(t.TempDir(), "out")
		r := clitest.Must(t, testBin, clitest.Cmd{}, "gen", "python3", "--distro", "debian:trixie", "--cache-dir", testCache, "-o", "oci:"+dir+":py")
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		return lines[len(lines)-1], r.Stderr
	}
	digest, stderr := gen()
	if digest != img.res.Digest {
		t.Errorf("warm digest %s, first build %s", digest, img.res.Digest)
	}
	if !strings.Contains(stderr, "modules with /usr/bin/python3.13 earlier") || strings.Contains(stderr, "compiling ") {
		t.Errorf("the warm build compiled again instead of using the cache:\n%s", stderr)
	}

	// Damage every bytecode entry: one byte of each, same size.
	named, _ := filepath.Glob(filepath.Join(testCache, "named", "*"))
	damaged := 0
	for _, p := range named {
		b, err := os.ReadFile(p)
		if err != nil || len(b) < 1<<20 || !bytes.Contains(b[:min(len(b), 4096)], []byte("P ")) || bytes.Contains(b[:64], []byte("DLLAYER1")) {
			continue // not a bytecode entry (those are megabytes of driver output; layers are binary)
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		damaged++
	}
	if damaged == 0 {
		t.Fatal("found no bytecode entry in the cache")
	}
	digest, stderr = gen()
	if digest != img.res.Digest {
		t.Errorf("digest after a damaged entry %s, want %s", digest, img.res.Digest)
	}
	if !strings.Contains(stderr, "warning: cache entry") || !strings.Contains(stderr, "compiling ") {
		t.Errorf("a damaged bytecode entry was not said and compiled again:\n%s", stderr)
	}
}
