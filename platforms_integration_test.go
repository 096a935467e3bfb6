package distroless

// Integration tests of multi-platform gen: image indexes read back with
// go-containerregistry and skopeo, and the arm64 and armhf images run
// under qemu-user through binfmt_misc with podman --platform.

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/internal/ldcache"
	"github.com/distroless-dev/distroless/internal/ldcache/ldcachetest"
	"github.com/distroless-dev/distroless/pipeline"
)

// trixieMain is a distro file of trixie's main suite alone (see the
// file for why the armhf test uses it).
const trixieMain = "testdata/platforms/trixie-main.yaml"

var (
	// py3Index is python3 on trixie for amd64 and arm64, one index.
	py3Index = &sharedImage{name: "python3-trixie-index", tag: "py",
		args: []string{"python3", "--distro", "debian:trixie", "--platform", "linux/amd64,linux/arm64"}}
	// pyArmhfIndex is python3 on trixie's main suite for amd64 and
	// armhf (by its Debian name), one index.
	pyArmhfIndex = &sharedImage{name: "python3-trixie-main-armhf", tag: "py",
		args: []string{"python3", "--distro", trixieMain, "--arch", "amd64,armhf"}}
)

// binfmtOnce enables qemu-user's binfmt_misc entries once per run.
var (
	binfmtOnce sync.Once
	binfmtWhy  string
)

// enableBinfmt makes the host run arm64 and armhf programs through
// qemu-user-static (which scripts/test.sh installs with binfmt-support):
// binfmt_misc mounted, the qemu-aarch64 and qemu-arm entries enabled.
// It returns why it could not ("" when it could).
func enableBinfmt(t *testing.T) string {
	t.Helper()
	binfmtOnce.Do(func() {
		const dir = "/proc/sys/fs/binfmt_misc"
		if _, err := os.Stat(dir + "/register"); err != nil {
			if out, err := exec.Command("mount", "-t", "binfmt_misc", "binfmt_misc", dir).CombinedOutput(); err != nil {
				binfmtWhy = fmt.Sprintf("mounting binfmt_misc: %v: %s", err, out)
				return
			}
		}
		for _, q := range []string{"qemu-aarch64", "qemu-arm"} {
			if _, err := os.Stat(dir + "/" + q); err != nil {
				if out, err := exec.Command("update-binfmts", "--enable", q).CombinedOutput(); err != nil {
					binfmtWhy = fmt.Sprintf("update-binfmts --enable %s: %v: %s", q, err, out)
					return
				}
			}
			b, err := os.ReadFile(dir + "/" + q)
			if err != nil || !strings.HasPrefix(string(b), "enabled\n") {
				binfmtWhy = fmt.Sprintf("binfmt_misc entry %s is not enabled (%v)", q, err)
				return
			}
		}
	})
	return binfmtWhy
}

// indexOf reads the image index tagged tag in an OCI layout, with
// go-containerregistry.
func indexOf(t *testing.T, dir, tag string) (v1.ImageIndex, v1.Hash) {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] != tag {
			continue
		}
		if d.MediaType != types.OCIImageIndex {
			t.Fatalf("%s:%s is a %s, not an image index", dir, tag, d.MediaType)
		}
		idx, err := top.ImageIndex(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		return idx, d.Digest
	}
	t.Fatalf("%s: nothing tagged %s", dir, tag)
	return nil, v1.Hash{}
}

// platformImages are the images of an index by architecture, checked
// against their descriptors: a platform each, in the configs too.
func platformImages(t *testing.T, idx v1.ImageIndex) ([]v1.Descriptor, map[string]v1.Image) {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.SchemaVersion != 2 || im.MediaType != types.OCIImageIndex {
		t.Errorf("index: schemaVersion %d, mediaType %s", im.SchemaVersion, im.MediaType)
	}
	out := map[string]v1.Image{}
	for _, d := range im.Manifests {
		if d.Platform == nil {
			t.Fatalf("manifest %s has no platform", d.Digest)
		}
		if d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("manifest %s: media type %s", d.Digest, d.MediaType)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS != d.Platform.OS || cf.Architecture != d.Platform.Architecture || cf.Variant != d.Platform.Variant {
			t.Errorf("manifest %s: config says %s/%s/%s, the index %s", d.Digest, cf.OS, cf.Architecture, cf.Variant, d.Platform)
		}
		if _, dup := out[d.Platform.Architecture]; dup {
			t.Errorf("two manifests for %s", d.Platform.Architecture)
		}
		out[d.Platform.Architecture] = img
	}
	return im.Manifests, out
}

// imageLayers is the layer digests of img.
func imageLayers(t *testing.T, img v1.Image) []string {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		d, _ := l.Digest()
		out = append(out, d.String())
	}
	return out
}

// imageFiles reads the named files of an image's flattened root
// filesystem (symlinks by their target).
func imageFiles(t *testing.T, img v1.Image, names ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	eachImageEntry(t, img, func(name string, h *tar.Header, tr *tar.Reader) {
		if !slices.Contains(names, name) {
			return
		}
		if h.Typeflag == tar.TypeSymlink {
			out[name] = []byte("-> " + h.Linkname)
			return
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	})
	return out
}

// eachImageEntry calls fn with every entry of an image's flattened root
// filesystem, its name without a leading "./"; tr reads the entry.
func eachImageEntry(t *testing.T, img v1.Image, fn func(name string, h *tar.Header, tr *tar.Reader)) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(strings.TrimPrefix(h.Name, "./"), h, tr)
	}
}

// TestGenPlatformsIndex: python3 for linux/amd64 and linux/arm64 is one
// OCI image index, whose digest gen prints: one manifest per platform
// with the right variant (arm64 → v8), its amd64 image the very image a
// single-platform gen makes, the layers the platforms share stored once,
// each image's programs and ld.so.cache of its own architecture; skopeo
// reads it as an index. Then the arm64 image runs under qemu-user with
// podman --platform, and its own ldconfig writes the cache gen wrote.
func TestGenPlatformsIndex(t *testing.T) {
	integration(t)
	py3Index.get(t)
	single := py3Image.get(t).res.Digest
	res := py3Index.res
	idx, digest := indexOf(t, py3Index.dir, py3Index.tag)
	if res.Digest != digest.String() {
		t.Errorf("gen printed %s, the layout's index is %s", res.Digest, digest)
	}
	descs, imgs := platformImages(t, idx)
	var plats []string
	for _, d := range descs {
		plats = append(plats, d.Platform.String())
	}
	if want := []string{"linux/amd64", "linux/arm64/v8"}; !slices.Equal(plats, want) {
		t.Fatalf("index platforms %v, want %v", plats, want)
	}
	if descs[0].Digest.String() != single {
		t.Errorf("the index's amd64 image is %s; gen python3 alone makes %s", descs[0].Digest, single)
	}
	if len(res.Platforms) != 2 || res.Platforms[0].Digest != descs[0].Digest.String() || res.Platforms[1].Digest != descs[1].Digest.String() ||
		res.Platforms[1].Platform != "linux/arm64/v8" || res.Platforms[1].Variant != "v8" || res.Arch != "amd64,arm64" {
		t.Errorf("--json platforms: %+v (arch %q)", res.Platforms, res.Arch)
	}

	// Layers: the same layer in both images is one blob; the os-release
	// layer is the same bytes for both.
	amd, arm := imageLayers(t, imgs["amd64"]), imageLayers(t, imgs["arm64"])
	if amd[len(amd)-1] != arm[len(arm)-1] {
		t.Errorf("the os-release layers differ: %s and %s", amd[len(amd)-1], arm[len(arm)-1])
	}
	blobs, err := os.ReadDir(filepath.Join(py3Index.dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[string]bool{}
	for _, l := range append(amd, arm...) {
		distinct[l] = true
	}
	// Blobs: the distinct layers, two configs, two manifests, the index;
	// and each image's two referrers (SBOM and provenance: a manifest and
	// a document each) with their one empty config.
	if want := len(distinct) + 5 + 2*4 + 1; len(blobs) != want {
		t.Errorf("layout holds %d blobs, want %d (%d distinct layers of %d, 2 configs, 2 manifests, the index, 2×2 referrers and their documents, the empty config)", len(blobs), want, len(distinct), len(amd)+len(arm))
	}
	var shared int64
	for _, l := range res.Platforms[0].Layers {
		if slices.Contains(arm, l.Digest) {
			shared += l.CompressedSize
		}
	}
	if res.ImageSize != res.Platforms[0].ImageSize+res.Platforms[1].ImageSize-shared {
		t.Errorf("image_size %d, want the distinct layers' %d", res.ImageSize, res.Platforms[0].ImageSize+res.Platforms[1].ImageSize-shared)
	}

	// Each image's programs and cache are of its architecture.
	for arch, want := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		fs := imageFiles(t, imgs[arch], "usr/bin/python3.13", "etc/ld.so.cache")
		f, err := elf.NewFile(bytes.NewReader(fs["usr/bin/python3.13"]))
		if err != nil || f.Machine != want {
			t.Errorf("%s: /usr/bin/python3.13 is not a %s program (%v)", arch, want, err)
			continue
		}
		c, err := ldcachetest.Parse(fs["etc/ld.so.cache"])
		if err != nil {
			t.Fatalf("%s: ld.so.cache: %v", arch, err)
		}
		flag := int32(ldcache.LdFlagELFLibc6 | ldcache.LdFlagX8664Lib64)
		if arch == "arm64" {
			flag = ldcache.LdFlagELFLibc6 | ldcache.LdFlagAArch64Lib64
		}
		if len(c.Entries) < 30 || c.Entries[0].Flags != flag {
			t.Errorf("%s: ld.so.cache has %d entries, the first with flags %#x, want %#x", arch, len(c.Entries), c.Entries[0].Flags, flag)
		}
	}

	// Python bytecode: every module of each image has its .pyc (arm64's
	// own modules too), and the modules both have are the same bytes
	// (the native build's, shared).
	pycs := map[string]map[string][]byte{}
	for _, arch := range []string{"amd64", "arm64"} {
		srcs, pyc := pythonFiles(t, imgs[arch])
		pycs[arch] = pyc
		for _, src := range srcs {
			dir, base := filepath.Split(src)
			if _, ok := pyc[dir+"__pycache__/"+strings.TrimSuffix(base, ".py")+".cpython-313.pyc"]; !ok {
				t.Errorf("%s: /%s has no bytecode", arch, src)
			}
		}
		if len(srcs) < 500 {
			t.Errorf("%s: only %d modules", arch, len(srcs))
		}
	}
	same := 0
	for p, b := range pycs["amd64"] {
		if a, ok := pycs["arm64"][p]; ok {
			if !bytes.Equal(a, b) {
				t.Errorf("/%s differs between amd64 and arm64", p)
			}
			same++
		}
	}
	if same < 500 || len(res.Warnings) > 0 {
		t.Errorf("%d .pyc files in common; warnings %v", same, res.Warnings)
	}

	// skopeo, an independent reader, sees the index and each image.
	raw := skopeo(t, "inspect", "--raw", "oci:"+py3Index.dir+":"+py3Index.tag)
	if !bytes.Contains(raw, []byte(types.OCIImageIndex)) || !bytes.Contains(raw, []byte(`"variant":"v8"`)) {
		t.Errorf("skopeo inspect --raw: %s", raw)
	}
	for _, a := range []string{"amd64", "arm64"} {
		out := skopeo(t, "--override-arch", a, "inspect", "--config", "oci:"+py3Index.dir+":"+py3Index.tag)
		if !bytes.Contains(out, []byte(`"architecture": "`+a+`"`)) {
			t.Errorf("skopeo --override-arch %s inspect --config: %s", a, out)
		}
	}

	runPlatform(t, py3Index, "linux/arm64", "aarch64", ldcache.LdFlagELFLibc6|ldcache.LdFlagAArch64Lib64)
}

// pythonFiles lists an image's Python 3.13 modules (usr/lib/python3.13,
// no tests) and reads its .pyc files.
func pythonFiles(t *testing.T, img v1.Image) ([]string, map[string][]byte) {
	t.Helper()
	var srcs []string
	pyc := map[string][]byte{}
	eachImageEntry(t, img, func(name string, h *tar.Header, tr *tar.Reader) {
		if !strings.HasPrefix(name, "usr/lib/python3.13/") || (h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeSymlink) {
			return
		}
		switch {
		case strings.HasSuffix(name, ".py"):
			srcs = append(srcs, name)
		case strings.HasSuffix(name, ".pyc"):
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			pyc[name] = b
		}
	})
	return srcs, pyc
}

// TestGenPlatformsArmhf: --arch amd64,armhf (Debian's name) builds an
// index with linux/arm/v7; the armhf image's programs are 32-bit ARM,
// its ld.so.cache has hard-float entries, and it runs under qemu-arm,
// where its own ldconfig writes the cache gen wrote.
func TestGenPlatformsArmhf(t *testing.T) {
	integration(t)
	pyArmhfIndex.get(t)
	idx, _ := indexOf(t, pyArmhfIndex.dir, pyArmhfIndex.tag)
	descs, imgs := platformImages(t, idx)
	if len(descs) != 2 || descs[1].Platform.String() != "linux/arm/v7" {
		t.Fatalf("index platforms: %+v", descs)
	}
	fs := imageFiles(t, imgs["arm"], "usr/bin/python3.13", "etc/ld.so.cache")
	f, err := elf.NewFile(bytes.NewReader(fs["usr/bin/python3.13"]))
	if err != nil || f.Machine != elf.EM_ARM || f.Class != elf.ELFCLASS32 {
		t.Fatalf("armhf: /usr/bin/python3.13 is not a 32-bit ARM program (%v)", err)
	}
	c, err := ldcachetest.Parse(fs["etc/ld.so.cache"])
	if err != nil {
		t.Fatal(err)
	}
	hf := 0
	for _, e := range c.Entries {
		if e.Flags == ldcache.LdFlagELFLibc6|ldcache.LdFlagARMLibHF {
			hf++
		}
	}
	if len(c.Entries) < 30 || hf < len(c.Entries)*9/10 {
		t.Errorf("armhf ld.so.cache: %d entries, %d hard-float", len(c.Entries), hf)
	}
	runPlatform(t, pyArmhfIndex, "linux/arm/v7", "armv7l", ldcache.LdFlagELFLibc6|ldcache.LdFlagARMLibHF)
}

// runPlatform runs a platform's image of an index under qemu-user with
// podman --platform: Python reports the machine and loads OpenSSL
// through ctypes (ld.so.cache), and the image's own ldconfig writes the
// cache gen wrote, byte for byte but the generator's name. When binfmt
// cannot be enabled the test fails: this is the only outside check of
// the foreign architectures' ld.so.cache.
func runPlatform(t *testing.T, img *sharedImage, platform, machine string, flag int32) {
	t.Helper()
	if why := enableBinfmt(t); why != "" {
		t.Fatalf("the %s image cannot be run: %s (scripts/test.sh installs qemu-user-static and binfmt-support)", platform, why)
	}
	p := newPodman(t)
	script := `import platform, ssl, ctypes, ctypes.util
print(platform.machine(), ssl.OPENSSL_VERSION.split()[0], ctypes.util.find_library("ssl"))`
	out, stderr, code := p.run(t, 10*time.Minute, "run", "--rm", "--network=none", "--platform", platform, img.ref(), "-c", script)
	if code != 0 {
		t.Fatalf("podman run --platform %s: exit %d: %s", platform, code, clitest.Tail(stderr, 20))
	}
	if f := strings.Fields(out); len(f) != 3 || f[0] != machine || f[1] != "OpenSSL" || !strings.HasPrefix(f[2], "libssl.so.") {
		t.Errorf("in the %s image: %q, want %s OpenSSL libssl.so.N", platform, out, machine)
	}
	t.Logf("%s image under qemu: %s", platform, strings.TrimSpace(out))

	dir := mountDir(t)
	_, stderr, code = p.run(t, 10*time.Minute, "run", "--rm", "--network=none", "--platform", platform, "--user", "root", "-v", dir+":/out",
		"--entrypoint", "/sbin/ldconfig", img.ref(), "-X", "-C", "/out/ld.so.cache")
	if code != 0 {
		t.Fatalf("ldconfig -X -C under %s: exit %d: %s", platform, code, clitest.Tail(stderr, 10))
	}
	real, err := os.ReadFile(filepath.Join(dir, "ld.so.cache"))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ldcachetest.Parse(real)
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := indexOf(t, img.dir, img.tag)
	_, imgs := platformImages(t, idx)
	arch := strings.Split(platform, "/")[1]
	ours := imageFiles(t, imgs[arch], "etc/ld.so.cache")["etc/ld.so.cache"]
	oc, err := ldcachetest.Parse(ours)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rc.Entries, oc.Entries) {
		t.Errorf("%s: ldconfig's entries differ from gen's:\nldconfig %+v\ngen      %+v", platform, rc.Entries, oc.Entries)
	}
	strip := func(b []byte, gen string) []byte {
		b = bytes.Clone(b[:len(b)-len(gen)])
		binary.LittleEndian.PutUint32(b[binary.LittleEndian.Uint32(b[32:])+20:], 0)
		return b
	}
	if !bytes.Equal(strip(real, rc.Generator), strip(ours, ldcache.Generator)) {
		t.Errorf("%s: ldconfig's cache (%d bytes) and gen's (%d bytes) differ beyond the generator string", platform, len(real), len(ours))
	}
	if len(oc.Entries) == 0 || oc.Entries[0].Flags != flag {
		t.Errorf("%s: cache flags %#x, want %#x", platform, oc.Entries[0].Flags, flag)
	}
	t.Logf("%s: %d libraries; the cache matches the one %s writes", platform, len(oc.Entries), rc.Generator)
}

// TestGenPlatformsLockAndErrors: gen --lock for two platforms writes one
// version-2 lockfile and rebuilds the same index from it; a package one
// platform lacks fails the build naming the package and the platform,
// and writes nothing; platforms that cannot be built are usage errors
// (exit 2) before anything is fetched.
func TestGenPlatformsLockAndErrors(t *testing.T) {
	integration(t)
	dir := t.TempDir()
	lock := filepath.Join(dir, "static.lock")
	out := "oci:" + filepath.Join(dir, "out") + ":static"
	args := []string{"static", "--distro", "debian:trixie", "--platform", "linux/arm64,linux/amd64", "--cache-dir", testCache, "--lock", lock, "-o", out}
	first := genDigest(t, args...)
	l, err := pipeline.ReadLock(lock)
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 2 || !slices.Equal(l.Archs(), []string{"amd64", "arm64"}) {
		t.Fatalf("lockfile: version %d, platforms %v", l.Version, l.Archs())
	}
	// From the lockfile, with and without --platform: the same index.
	if again := genDigest(t, args...); again != first {
		t.Errorf("rebuilt from the lockfile: %s, first %s", again, first)
	}
	noPlat := []string{"static", "--cache-dir", testCache, "--lock", lock, "-o", out}
	if again := genDigest(t, noPlat...); again != first {
		t.Errorf("rebuilt from the lockfile without --platform: %s, first %s", again, first)
	}
	_, stderr, code := cli(t, "gen", "static", "--platform", "linux/amd64", "--cache-dir", testCache, "--lock", lock, "-o", out)
	if code != 1 || !strings.Contains(stderr, "pins architecture amd64,arm64, not amd64") {
		t.Errorf("one platform from a two-platform lockfile: exit %d: %s", code, stderr)
	}

	// libc6-i386 is built for amd64 only.
	failed := filepath.Join(dir, "failed")
	_, stderr, code = cli(t, "gen", "static", "--distro", "debian:trixie", "--platform", "linux/amd64,linux/arm64", "--add", "libc6-i386",
		"--cache-dir", testCache, "-o", "oci:"+failed)
	if code != 1 || !strings.Contains(stderr, "linux/arm64/v8: ") || !strings.Contains(stderr, "libc6-i386") || strings.Contains(stderr, "linux/amd64:") {
		t.Errorf("a package arm64 lacks: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(failed); !os.IsNotExist(err) {
		t.Errorf("a failed gen left %s (%v)", failed, err)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--platform", "windows/amd64"}, "only linux images"},
		{[]string{"--platform", "linux/amd64,linux/x86_64"}, "given twice"},
		{[]string{"--platform", "linux/arm64/v9"}, "arm64 images are variant v8"},
		{[]string{"--platform", "linux/armel"}, "armel"},
		{[]string{"--platform", "linux/mips"}, "not a known architecture"},
		{[]string{"--platform", "linux/amd64", "--arch", "arm64"}, "give one of the two"},
		{[]string{"--platform", "linux/riscv64", "--distro", "debian:bookworm"}, "debian:bookworm does not publish linux/riscv64"},
		{[]string{"--platform", "linux/amd64,linux/arm64", "-o", "docker-archive:" + filepath.Join(dir, "x.tar")}, "a docker-archive holds one image"},
	} {
		args := append([]string{"gen", "static", "--offline", "--cache-dir", t.TempDir()}, c.args...)
		_, stderr, code := cli(t, args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("gen %s: exit %d, want 2 and %q: %s", strings.Join(c.args, " "), code, c.want, stderr)
		}
	}
	_, stderr, code = cli(t, "resolve", "static", "--offline", "--cache-dir", t.TempDir(), "--arch", "amd64,arm64")
	if code != 2 || !strings.Contains(stderr, "this command takes one") {
		t.Errorf("resolve of two platforms: exit %d: %s", code, stderr)
	}
}

// TestGenPlatformsSharedLayers: a profile file's layer of an
// Architecture: all package and a file, on top of static, is the same
// layer (one blob) in the amd64 and arm64 images, as is the os-release
// layer; the bottom layer, with base-files' arch-specific entry and the
// merged-/usr links, is not.
func TestGenPlatformsSharedLayers(t *testing.T) {
	integration(t)
	dir := t.TempDir()
	// (sensible-utils: an Architecture: all package without requirements;
	// tzdata-legacy, which this used to add, is in static now.)
	prof := filepath.Join(dir, "allarch.yaml")
	if err := os.WriteFile(prof, []byte("name: allarch\nextends: static\npackages: [sensible-utils]\nfiles:\n  - path: /app/hello.txt\n    content: \"hi\\n\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	stdout, stderr, code := cli(t, "gen", "-f", prof, "--distro", "debian:trixie", "--platform", "linux/amd64,linux/arm64",
		"--cache-dir", testCache, "-o", "oci:"+out+":x", "--json", "--attach")
	if code != 0 {
		t.Fatalf("gen: exit %d: %s", code, clitest.Tail(stderr, 20))
	}
	var res pipeline.GenResult
	if err := clitest.DecodeOne(stdout, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Platforms) != 2 {
		t.Fatalf("platforms: %+v", res.Platforms)
	}
	amd, arm := res.Platforms[0].Layers, res.Platforms[1].Layers
	if len(amd) != 3 || len(arm) != 3 {
		t.Fatalf("layers: %+v / %+v", amd, arm)
	}
	if amd[0].Digest == arm[0].Digest {
		t.Errorf("the bottom layers are the same (%s): base-files and /lib64 differ", amd[0].Digest)
	}
	for i := 1; i < 3; i++ {
		if amd[i].Digest != arm[i].Digest || amd[i].Name != arm[i].Name {
			t.Errorf("layer %d: %s %s (amd64) and %s %s (arm64), want one layer", i, amd[i].Name, amd[i].Digest, arm[i].Name, arm[i].Digest)
		}
	}
	if want := res.Platforms[0].ImageSize + arm[0].CompressedSize; res.ImageSize != want {
		t.Errorf("image_size %d, want %d (the shared layers once)", res.ImageSize, want)
	}
	blobs, err := os.ReadDir(filepath.Join(out, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	// And beside them each image's SBOM and provenance (a manifest and a
	// document each) with their one empty config.
	if len(blobs) != 4+5+2*4+1 {
		t.Errorf("the layout holds %d blobs, want 18: 4 distinct layers, 2 configs, 2 manifests, the index, 2×2 referrers and their documents, the empty config", len(blobs))
	}
}
