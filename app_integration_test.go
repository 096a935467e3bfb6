package distroless

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/pipeline"
)

// The application layer's tests: wheels built here with the host's
// toolchain (python3's setuptools and wheel, gcc, libyaml's headers),
// served by a simple index on 127.0.0.1, installed into python3.11 on
// bookworm (the host's python is bookworm's 3.11; the C extension is
// built against the limited API, so it would load in 3.13 as well).

const helloSetup = `from setuptools import setup
setup(name="hello-app", version="1.0", packages=["hello"], license="MIT",
      classifiers=["License :: OSI Approved :: MIT License"],
      entry_points={"console_scripts": ["hello-app = hello:main"]})
`

const helloInit = `import importlib.metadata as md
def main():
    print("hello-app", md.version("hello-app"))
`

const yamlSetup = `from setuptools import setup, Extension
setup(name="yamlver", version="0.1", license="MIT",
      ext_modules=[Extension("_yamlver", ["yamlver.c"], libraries=["yaml"], py_limited_api=True,
                             define_macros=[("Py_LIMITED_API", "0x03070000")])])
`

const yamlC = `#include <Python.h>
#include <yaml.h>
static PyObject *version(PyObject *self, PyObject *args) { return PyUnicode_FromString(yaml_get_version_string()); }
static PyMethodDef methods[] = {{"version", version, METH_NOARGS, "libyaml's version"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_yamlver", NULL, -1, methods};
PyMODINIT_FUNC PyInit__yamlver(void) { return PyModule_Create(&mod); }
`

// buildWheels builds the two wheels into a directory and returns it.
func buildWheels(t *testing.T) string {
	t.Helper()
	needTool(t, "gcc")
	py := "/usr/bin/python3" // Debian's, with python3-setuptools and python3-wheel
	if _, err := os.Stat("/usr/include/yaml.h"); err != nil {
		t.Fatalf("libyaml's headers are not installed (libyaml-dev): scripts/test.sh installs what these tests need")
	}
	src, dist := t.TempDir(), t.TempDir()
	files := map[string]string{
		"hello/setup.py": helloSetup, "hello/hello/__init__.py": helloInit,
		"yamlver/setup.py": yamlSetup, "yamlver/yamlver.c": yamlC,
	}
	for p, c := range files {
		os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(src, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []struct {
		dir  string
		args []string
	}{{"hello", nil}, {"yamlver", []string{"--py-limited-api", "cp37"}}} {
		cmd := exec.Command(py, append([]string{"setup.py", "-q", "bdist_wheel", "-d", dist}, b.args...)...)
		cmd.Dir = filepath.Join(src, b.dir)
		cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=315532800")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building the %s wheel (python3-dev, python3-setuptools, python3-wheel): %v\n%s", b.dir, err, out)
		}
	}
	return dist
}

// serveSimpleIndex serves the wheels of dir as a PEP 503 index on
// 127.0.0.1, each link with its #sha256= fragment.
func serveSimpleIndex(t *testing.T, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/simple/{project}/", func(w http.ResponseWriter, r *http.Request) {
		ents, _ := os.ReadDir(dir)
		var links []string
		for _, e := range ents {
			name, _, _ := strings.Cut(e.Name(), "-")
			if strings.ReplaceAll(strings.ToLower(name), "_", "-") != r.PathValue("project") {
				continue
			}
			data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			sum := sha256.Sum256(data)
			links = append(links, fmt.Sprintf(`<a href="/files/%s#sha256=%x">%s</a>`, e.Name(), sum, e.Name()))
		}
		if len(links) == 0 {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "<html><body>\n%s\n</body></html>\n", strings.Join(links, "<br/>\n"))
	})
	mux.Handle("/files/", http.StripPrefix("/files/", http.FileServer(http.Dir(dir))))
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/simple/"
}

// requirementsOf writes a requirements file pinning every wheel of dir
// with its hash.
func requirementsOf(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		parts := strings.Split(strings.TrimSuffix(e.Name(), ".whl"), "-")
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		sum := sha256.Sum256(data)
		fmt.Fprintf(&b, "%s==%s \\\n    --hash=sha256:%s\n", parts[0], parts[1], hex.EncodeToString(sum[:]))
	}
	f := filepath.Join(t.TempDir(), "requirements.txt")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestGenPythonApp: a pure wheel with a console script and a C extension
// linked against libyaml, from a simple index, in python3.11 on bookworm:
// libyaml-0-2 is added in its own layer below the application's, and why
// names it; the script and the extension run as uid 65532;
// importlib.metadata, the SBOM, syft and the lockfile list both; a
// rebuild from the lockfile and a build from another empty cache give the
// same digest.
func TestGenPythonApp(t *testing.T) {
	integration(t)
	wheels := buildWheels(t)
	index := serveSimpleIndex(t, wheels)
	req := requirementsOf(t, wheels)
	// podman wants a lower-case path in an oci: reference.
	dir, err := os.MkdirTemp("", "distroless-app-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	lock := filepath.Join(dir, "app.lock.json")
	out := filepath.Join(dir, "out")
	sbomFile := filepath.Join(dir, "sbom.json")
	common := []string{"python3.11", "--distro", "debian:bookworm", "--python-requirements", req, "--python-index", index}
	stdout, stderr, code := cli(t, append([]string{"gen", "--cache-dir", testCache, "-o", "oci:" + out + ":app", "--lock", lock, "--sbom", sbomFile}, common...)...)
	if code != 0 {
		t.Fatalf("gen: exit %d\n%s", code, clitest.Tail(stderr, 30))
	}
	digest := strings.TrimSpace(stdout)
	if !strings.Contains(stderr, "python: _yamlver.abi3.so needs libyaml-0.so.2 → libyaml-0-2 (added in layer app-libs)") {
		t.Errorf("gen did not say why libyaml-0-2 was added:\n%s", clitest.Tail(stderr, 30))
	}
	img := clitest.ReadLayout(t, out, "app")
	if img.Desc.Digest != digest {
		t.Fatalf("gen printed %s, the layout holds %s", digest, img.Desc.Digest)
	}

	// why names the file and the library.
	whyOut, whyErr, code := cli(t, append([]string{"why", "--cache-dir", testCache}, append(slices.Clone(common), "libyaml-0-2")...)...)
	if code != 0 || !strings.Contains(whyOut, "(layer app-libs)") || !strings.Contains(whyOut, "app: _yamlver.abi3.so needs libyaml-0.so.2 → libyaml-0-2") {
		t.Errorf("why libyaml-0-2: exit %d\n%s%s", code, whyOut, whyErr)
	}

	// The image runs them as the nonroot user, with no network.
	p := newPodman(t)
	ref := "oci:" + out + ":app"
	o, e, c := p.run(t, 5*time.Minute, "run", "--rm", "--network=none", "--user", "65532", "--entrypoint", "/usr/local/bin/hello-app", ref)
	if c != 0 || strings.TrimSpace(o) != "hello-app 1.0" {
		t.Errorf("hello-app: exit %d, %q\n%s", c, o, clitest.Tail(e, 20))
	}
	script := `import _yamlver, importlib.metadata as md, os, sys
print("libyaml", _yamlver.version())
for d in sorted(md.distributions(), key=lambda d: d.metadata["Name"]):
    print("dist", d.metadata["Name"], d.version, d.metadata["License"], d.read_text("INSTALLER").strip())
import hello
print("pyc", os.path.exists(hello.__cached__))
print("path", [p for p in sys.path if "dist-packages" in p])
`
	o, e, c = p.run(t, 5*time.Minute, "run", "--rm", "--network=none", "--user", "65532", ref, "-c", script)
	for _, want := range []string{"libyaml 0.2.5", "dist hello-app 1.0 MIT distroless", "dist yamlver 0.1 MIT distroless", "pyc True",
		"path ['/usr/local/lib/python3.11/dist-packages']"} {
		if !strings.Contains(o, want) {
			t.Errorf("in the image: no %q in\n%s\n%s", want, o, clitest.Tail(e, 20))
		}
	}

	// The lockfile pins the wheels and the added library.
	var l struct {
		Packages []struct{ Name, Layer string }
		App      []struct{ Type, Name, Version, Hash string }
	}
	data, err := os.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	if err = json.Unmarshal(data, &l); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(l.Packages, func(p struct{ Name, Layer string }) bool { return p.Name == "libyaml-0-2" && p.Layer == "app-libs" }) {
		t.Errorf("the lockfile does not pin libyaml-0-2 in app-libs:\n%s", data)
	}
	if len(l.App) != 2 || l.App[0].Name != "hello-app" || l.App[1].Name != "yamlver" || !strings.HasPrefix(l.App[1].Hash, "sha256:") {
		t.Errorf("the lockfile's app pins: %+v", l.App)
	}

	// The SBOM lists them by purl, with their licenses.
	sb, err := os.ReadFile(sbomFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"referenceLocator": "pkg:pypi/hello-app@1.0"`, `"referenceLocator": "pkg:pypi/yamlver@0.1"`, `"licenseDeclared": "MIT"`, `"name": "libyaml-0-2"`} {
		if !strings.Contains(string(sb), want) {
			t.Errorf("the SBOM has no %s", want)
		}
	}

	// syft finds both, with version and license.
	found := map[string]string{}
	for _, a := range syftArtifacts(t, out, "python") {
		found[a.Name] = a.Version + " " + a.License
	}
	if found["hello-app"] != "1.0 MIT" || found["yamlver"] != "0.1 MIT" {
		t.Errorf("syft's python packages: %v", found)
	}

	// From the lockfile: the same image.
	d2 := genDigest(t, append([]string{"--cache-dir", testCache, "-o", "oci:" + filepath.Join(dir, "out2"), "--lock", lock}, common...)...)
	if d2 != digest {
		t.Errorf("from the lockfile: %s, first build %s", d2, digest)
	}
	// From another empty cache: the same image.
	d3 := genDigest(t, append([]string{"--cache-dir", filepath.Join(dir, "cache3"), "-o", "oci:" + filepath.Join(dir, "out3")}, common...)...)
	if d3 != digest {
		t.Errorf("from an empty cache: %s, first build %s", d3, digest)
	}

	// Without the lookup, the ELF check refuses the image, naming the library.
	_, stderr, code = cli(t, append([]string{"gen", "--cache-dir", testCache, "--no-app-libs", "-o", "oci:" + filepath.Join(dir, "out4")}, common...)...)
	if code == 0 || !strings.Contains(stderr, "libyaml-0.so.2") {
		t.Errorf("--no-app-libs: exit %d\n%s", code, clitest.Tail(stderr, 10))
	}
	if _, err := os.Stat(filepath.Join(dir, "out4")); err == nil {
		t.Errorf("a refused build left its output")
	}
}

// TestGenPythonAppRefused: a requirements file whose hash the index's
// wheel does not have, and a wheel for another platform, fail gen before
// anything is written, naming the wheel.
func TestGenPythonAppRefused(t *testing.T) {
	integration(t)
	dir := t.TempDir()
	wheels := filepath.Join(dir, "wheels")
	os.MkdirAll(wheels, 0o755)
	// A wheel for aarch64 only.
	if err := os.WriteFile(filepath.Join(wheels, "other-1.0-cp311-cp311-manylinux_2_17_aarch64.whl"), []byte("PK\x05\x06"+strings.Repeat("\x00", 18)), 0o644); err != nil {
		t.Fatal(err)
	}
	index := serveSimpleIndex(t, wheels)
	req := filepath.Join(dir, "r.txt")
	os.WriteFile(req, []byte("other==1.0 --hash=sha256:"+strings.Repeat("0", 64)+"\n"), 0o644)
	out := filepath.Join(dir, "out")
	_, stderr, code := cli(t, "gen", "python3.11", "--distro", "debian:bookworm", "--cache-dir", testCache, "-o", "oci:"+out,
		"--python-requirements", req, "--python-index", index)
	if code == 0 || !strings.Contains(stderr, "other-1.0-cp311-cp311-manylinux_2_17_aarch64.whl: it is for platform manylinux_2_17_aarch64, the image is linux x86_64") {
		t.Errorf("a wheel of another platform: exit %d\n%s", code, clitest.Tail(stderr, 10))
	}
	os.WriteFile(filepath.Join(wheels, "other-1.0-py3-none-any.whl"), []byte("not the pinned bytes"), 0o644)
	_, stderr, code = cli(t, "gen", "python3.11", "--distro", "debian:bookworm", "--cache-dir", testCache, "-o", "oci:"+out,
		"--python-requirements", req, "--python-index", index)
	if code == 0 || !strings.Contains(stderr, "hash mismatch") || !strings.Contains(stderr, "other-1.0-py3-none-any.whl") {
		t.Errorf("a wheel that is not the pinned one: exit %d\n%s", code, clitest.Tail(stderr, 10))
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused build left its output")
	}
}

// TestGenPythonAppTrixie: the same wheels (the C extension is built
// against the limited API on the host's python) in python3, trixie's
// 3.13, from a wheel directory; libyaml's package given with --add and
// the lookup off (--no-app-libs), so that no Contents file is read.
func TestGenPythonAppTrixie(t *testing.T) {
	integration(t)
	wheels := buildWheels(t)
	dir, err := os.MkdirTemp("", "distroless-app13-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	out := filepath.Join(dir, "out")
	genDigest(t, "python3", "--cache-dir", testCache, "--python-wheels", wheels, "--no-app-libs", "--add", "libyaml-0-2", "-o", "oci:"+out+":app")
	p := newPodman(t)
	ref := "oci:" + out + ":app"
	o, e, c := p.run(t, 5*time.Minute, "run", "--rm", "--network=none", "--user", "65532", ref, "-c",
		"import sys, _yamlver, hello; print(sys.version_info[:2], _yamlver.version(), hello.__file__)")
	if c != 0 || strings.TrimSpace(o) != "(3, 13) 0.2.5 /usr/local/lib/python3.13/dist-packages/hello/__init__.py" {
		t.Errorf("in python3.13: exit %d, %q\n%s", c, o, clitest.Tail(e, 20))
	}
}

// syftArtifact is a package syft found, with its first license.
type syftArtifact struct{ Name, Version, License string }

// syftArtifacts are the packages of type typ (python, npm) with a license
// that syft finds in the OCI layout dir.
func syftArtifacts(t *testing.T, dir, typ string) []syftArtifact {
	t.Helper()
	so, err := exec.Command(filepath.Join(scanners(t), "syft"), "scan", "-q", "-o", "syft-json", "oci-dir:"+dir).Output()
	if err != nil {
		t.Fatalf("syft: %v\n%s", err, stderrOf(err))
	}
	var doc struct {
		Artifacts []struct {
			Name, Version, Type string
			Licenses            []struct{ Value string }
		}
	}
	if err := json.Unmarshal(so, &doc); err != nil {
		t.Fatal(err)
	}
	var out []syftArtifact
	for _, a := range doc.Artifacts {
		if a.Type == typ && len(a.Licenses) > 0 {
			out = append(out, syftArtifact{a.Name, a.Version, a.Licenses[0].Value})
		}
	}
	return out
}

// TestReleasePython: a release file naming a wheel directory per image
// pushes the image gen makes of the same inputs, with the library its C
// extension needs added and both pinned in the release's lockfile; a
// second run finds it unchanged.
func TestReleasePython(t *testing.T) {
	integration(t)
	e := newReleaseEnv(t)
	wheels := filepath.Join(e.dir, "wheels")
	if err := os.Rename(buildWheels(t), wheels); err != nil {
		t.Fatal(err)
	}
	release := "registry: " + e.reg.Host + "/apps\ndistros: [debian:bookworm]\nimages:\n  - profile: python3.11\n    name: api\n    python-wheels: wheels\n"
	if err := os.WriteFile(filepath.Join(e.dir, "release.yaml"), []byte(release), 0o644); err != nil {
		t.Fatal(err)
	}
	ims := images(t, e.release(t), 1)
	if ims[0].Status != "pushed" {
		t.Fatalf("status %q", ims[0].Status)
	}
	l := releaseLockOf(t, e.dir, "python3.11 debian:bookworm amd64")
	var pinned []string
	for _, a := range l.App {
		pinned = append(pinned, a.Type+":"+a.Name)
	}
	slices.Sort(pinned)
	if !slices.Equal(pinned, []string{"pypi:hello-app", "pypi:yamlver"}) {
		t.Errorf("the release's lockfile pins %v", pinned)
	}
	if !slices.ContainsFunc(l.Packages, func(p lockfile.Package) bool { return p.Name == "libyaml-0-2" && p.Layer == pipeline.AppLibsLevel }) {
		t.Error("the release's lockfile does not pin libyaml-0-2 in the app-libs level")
	}
	d := genDigest(t, "python3.11", "--distro", "debian:bookworm", "--python-wheels", wheels,
		"--cache-dir", testCache, "-o", "oci:"+filepath.Join(e.dir, "gen")+":api")
	if d != ims[0].Digest {
		t.Errorf("release pushed %s, gen makes %s", ims[0].Digest, d)
	}
	if again := images(t, e.release(t), 1); again[0].Status != "unchanged" || again[0].Digest != ims[0].Digest {
		t.Errorf("second release: %s %s", again[0].Status, again[0].Digest)
	}
}
