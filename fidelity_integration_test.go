package distroless

// Runtime fidelity: programs nobody wrote for distroless, built on the
// host (gcc, g++ and javac from Debian; scripts/test.sh installs them and
// libssl-dev), run in the images in podman, checking what a Debian system
// gives them: the C.UTF-8 locale LANG names (C, C++, Java), iconv's
// default converters, OpenSSL's default trust paths with SSL_CERT_FILE
// unset (C, Node), getaddrinfo and getpwuid; python's 3.11 distutils and
// lib2to3 and the terminfo entries; each package's copyright where
// scanners read it, /etc/debian_version, and what trivy and syft see. The
// podman harness and shared images are gen_integration_test.go's and
// runtimes_integration_test.go's.

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/internal/trust"
)

const fidelityDir = "testdata/fidelity"

var (
	fidBaseTrixie = &sharedImage{name: "base-trixie", tag: "base", args: []string{"base", "--distro", "debian:trixie"}}
	fidStaticBook = &sharedImage{name: "static-bookworm", tag: "static", args: []string{"static", "--distro", "debian:bookworm"}}
)

// fidelityBins compiles the check programs once per run: check (C, with
// OpenSSL), checkcc (C++) and Fidelity.class (Java 17 bytecode), into a
// directory a container can read.
var fidelityBins = struct {
	once sync.Once
	dir  string
	err  error
}{}

func fidelityPrograms(t *testing.T) string {
	t.Helper()
	gcc, gxx, javac := needTool(t, "gcc"), needTool(t, "g++"), needTool(t, "javac")
	fidelityBins.once.Do(func() {
		root, err := sharedDir()
		if err != nil {
			fidelityBins.err = err
			return
		}
		dir := filepath.Join(root, "fidelity-bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fidelityBins.err = err
			return
		}
		for _, args := range [][]string{
			{gcc, "-Wall", "-Werror", "-O2", "-o", filepath.Join(dir, "check"), filepath.Join(fidelityDir, "check.c"), "-lssl", "-lcrypto"},
			{gxx, "-Wall", "-Werror", "-O2", "-o", filepath.Join(dir, "checkcc"), filepath.Join(fidelityDir, "check.cc")},
			{javac, "--release", "17", "-d", dir, filepath.Join(fidelityDir, "Fidelity.java")},
		} {
			if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
				fidelityBins.err = fmt.Errorf("%s: %v\n%s (scripts/test.sh installs gcc, g++, libssl-dev and a JDK)", strings.Join(args, " "), err, out)
				return
			}
		}
		for _, f := range []string{"python_check.py", "tls.js"} {
			copyFile(t, filepath.Join(fidelityDir, f), filepath.Join(dir, f))
		}
		fidelityBins.dir = dir
	})
	if fidelityBins.err != nil {
		t.Fatalf("building the fidelity programs: %v", fidelityBins.err)
	}
	return fidelityBins.dir
}

// Encodings the default iconv set leaves out: iconv_open must fail with
// EINVAL, not crash or half-work.
var droppedEncodings = []string{"IBM1390", "ARMSCII-8", "EBCDIC-FR", "GEORGIAN-PS", "ISO-2022-JP-3", "EUC-TW", "ISO-2022-CN"}

// TestFidelityC runs the C program (locale, mbstowcs, iconv round trips of
// every default encoding and clean failures of dropped ones, OpenSSL's
// default CA file and directory with SSL_CERT_FILE unset, getaddrinfo,
// getpwuid) in base and cc on trixie, cc on bookworm and python3.11 on
// bookworm; the C++ one (std::locale(""), codecvt) in the cc images.
func TestFidelityC(t *testing.T) {
	integration(t)
	p := newPodman(t)
	bins := fidelityPrograms(t)
	for _, img := range []*sharedImage{fidBaseTrixie, rtCCTrixie, ccImage, py311Image} {
		t.Run(img.name, func(t *testing.T) {
			img.get(t)
			mount := []string{"-v", bins + ":/m:ro", "--entrypoint", "/m/check"}
			out := p.runChecked(t, img.ref(), mount, append([]string{"--dropped"}, droppedEncodings...)...)
			if !strings.Contains(out, "ok   default CA file /usr/lib/ssl/cert.pem") {
				t.Errorf("no CA file line:\n%s", out)
			}
			if img == fidBaseTrixie {
				return // no C++ runtime
			}
			p.runChecked(t, img.ref(), []string{"-v", bins + ":/m:ro", "--entrypoint", "/m/checkcc"})
		})
	}
}

// TestFidelityJava: the JVM reports UTF-8 for file.encoding,
// sun.jnu.encoding and native.encoding, and creates a file with a
// non-ASCII name (java17 on bookworm, java21 on trixie).
func TestFidelityJava(t *testing.T) {
	integration(t)
	p := newPodman(t)
	bins := fidelityPrograms(t)
	for _, img := range []*sharedImage{rtJava17Image, rtJava21Image} {
		t.Run(img.name, func(t *testing.T) {
			img.get(t)
			p.runChecked(t, img.ref(), []string{"-v", bins + ":/m:ro", "--entrypoint", "/usr/bin/java"}, "-cp", "/m", "Fidelity")
		})
	}
}

// TestFidelityNodeTrustDir: node --use-openssl-ca, with SSL_CERT_FILE
// unset, verifies a local https server whose CA is found only through
// OpenSSL's default directory (/usr/lib/ssl/certs → /etc/ssl/certs, the CA
// mounted under its subject-hash name); without that mount the same
// connection fails, so the default directory is what verified it.
func TestFidelityNodeTrustDir(t *testing.T) {
	integration(t)
	p := newPodman(t)
	bins := fidelityPrograms(t)
	img := rtNodeImage.get(t)
	dir := mountDir(t)
	testTLS(t, dir)
	copyFile(t, filepath.Join(bins, "tls.js"), filepath.Join(dir, "tls.js"))
	data, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	ca, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	h, err := trust.SubjectHash(ca.RawSubject)
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"--unsetenv", "SSL_CERT_FILE", "-v", dir + ":/check:ro"}
	hashed := append(base, "-v", fmt.Sprintf("%s:/etc/ssl/certs/%08x.0:ro", filepath.Join(dir, "ca.pem"), h))
	p.runChecked(t, img.ref(), hashed, "--use-openssl-ca", "/check/tls.js", "/check")
	args := append([]string{"run", "--rm", "--network=none"}, base...)
	stdout, _, code := p.run(t, fidelityTimeout, append(args, img.ref(), "--use-openssl-ca", "/check/tls.js", "/check")...)
	if code == 0 || !strings.Contains(stdout, "FAIL https:") {
		t.Errorf("without the CA in the default directory: exit %d\n%s", code, stdout)
	}
}

// TestFidelityPython: the locale, distutils/_distutils_system_mod and
// lib2to3 on 3.11, terminfo for every shipped terminal (one process each)
// and a clean failure for an unknown one, and 3.13's _pyrepl.
func TestFidelityPython(t *testing.T) {
	integration(t)
	p := newPodman(t)
	bins := fidelityPrograms(t)
	for _, img := range []*sharedImage{py311Image, py3Image} {
		t.Run(img.name, func(t *testing.T) {
			img.get(t)
			out := p.runChecked(t, img.ref(), []string{"-v", bins + ":/m:ro"}, "-W", "ignore", "/m/python_check.py")
			if img == py311Image && !strings.Contains(out, "ok   import distutils") {
				t.Errorf("3.11 did not check distutils:\n%s", out)
			}
			if img == py3Image && !strings.Contains(out, "ok   import _pyrepl") {
				t.Errorf("the default python on trixie did not check _pyrepl:\n%s", out)
			}
		})
	}
}

// statusPackages lists the packages of a flattened image's
// /var/lib/dpkg/status.d, by name.
func statusPackages(t *testing.T, root string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, "var/lib/dpkg/status.d"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".md5sums") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/status.d", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^Package: (\S+)`).FindSubmatch(data)
		if m == nil {
			t.Fatalf("status.d/%s has no Package field", e.Name())
		}
		names = append(names, string(m[1]))
	}
	sort.Strings(names)
	return names
}

// fidelityImages are the images whose metadata the scanner tests read.
var fidelityImages = []struct {
	img     *sharedImage
	version string // /etc/debian_version's major version
}{
	{fidStaticBook, "12"},
	{rtCCTrixie, "13"},
	{py311Image, "12"},
	{py3Image, "13"},
}

// TestFidelityCopyrights: every package in status.d has its copyright at
// /usr/share/doc/NAME/copyright, following links inside the image only
// (libgcc-s1's doc directory is a link to gcc-N-base's); and
// /etc/debian_version is base-files' for the distro.
func TestFidelityCopyrights(t *testing.T) {
	integration(t)
	for _, tc := range fidelityImages {
		t.Run(tc.img.name, func(t *testing.T) {
			img := tc.img.get(t)
			root := flatten(t, img.dir, img.tag)
			r, err := os.OpenRoot(root)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			pkgs := statusPackages(t, root)
			if len(pkgs) < 4 {
				t.Fatalf("only %d packages in status.d", len(pkgs))
			}
			for _, name := range pkgs {
				b, err := r.ReadFile("usr/share/doc/" + name + "/copyright")
				if err != nil || len(b) == 0 {
					t.Errorf("%s: no copyright at /usr/share/doc/%s/copyright: %v", name, name, err)
				}
			}
			v, err := r.ReadFile("etc/debian_version")
			if err != nil || !regexp.MustCompile(`^`+tc.version+`\.\d+\n$`).Match(v) {
				t.Errorf("/etc/debian_version = %q (%v), want %s.N", v, err, tc.version)
			}
		})
	}
}

const fidelityTimeout = 5 * time.Minute

// scannerTools builds (or reuses) trivy and syft at their pinned versions
// with scripts/scanners.sh and returns their directory.
var scannerTools = struct {
	once sync.Once
	dir  string
	err  error
}{}

func scanners(t *testing.T) string {
	t.Helper()
	scannerTools.once.Do(func() {
		out, err := exec.Command("scripts/scanners.sh").Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			scannerTools.err = fmt.Errorf("scripts/scanners.sh: %v\n%s", err, clitest.Tail(string(stderr), 20))
			return
		}
		scannerTools.dir = strings.TrimSpace(string(out))
	})
	if scannerTools.err != nil {
		t.Fatal(scannerTools.err)
	}
	return scannerTools.dir
}

// TestFidelityScanners: trivy (offline, no vulnerability database) finds
// the OS (debian 12 or 13) and every package of status.d; syft lists every
// package of status.d with a license.
func TestFidelityScanners(t *testing.T) {
	integration(t)
	tools := scanners(t)
	for _, tc := range fidelityImages {
		t.Run(tc.img.name, func(t *testing.T) {
			img := tc.img.get(t)
			root := flatten(t, img.dir, img.tag)
			want := statusPackages(t, root)

			// trivy: a CycloneDX SBOM of the root filesystem needs no database.
			cache := t.TempDir()
			out, err := exec.Command(filepath.Join(tools, "trivy"), "rootfs", "--quiet", "--cache-dir", cache,
				"--offline-scan", "--skip-db-update", "--skip-java-db-update", "--format", "cyclonedx", root).Output()
			if err != nil {
				t.Fatalf("trivy: %v\n%s", err, stderrOf(err))
			}
			var bom struct {
				Components []struct {
					Type    string `json:"type"`
					Name    string `json:"name"`
					Version string `json:"version"`
					Purl    string `json:"purl"`
				} `json:"components"`
			}
			if err := json.Unmarshal(out, &bom); err != nil {
				t.Fatalf("trivy output: %v\n%s", err, out)
			}
			osFound := ""
			var trivyPkgs []string
			for _, c := range bom.Components {
				switch {
				case c.Type == "operating-system":
					osFound = c.Name + " " + c.Version
				case strings.HasPrefix(c.Purl, "pkg:deb/"):
					trivyPkgs = append(trivyPkgs, c.Name)
				}
			}
			if !regexp.MustCompile(`^debian ` + tc.version + `\.\d+$`).MatchString(osFound) {
				t.Errorf("trivy: OS %q, want debian %s.N", osFound, tc.version)
			}
			if d := setDiff(want, trivyPkgs); d != "" {
				t.Errorf("trivy's packages differ from status.d:\n%s", d)
			}

			// syft: the OCI layout itself (its image alone: syft's oci-dir
			// reads only a layout of one manifest, and gen's also holds the
			// image's SBOM).
			out, err = exec.Command(filepath.Join(tools, "syft"), "scan", "-q", "-o", "syft-json", "oci-dir:"+oneImageLayout(t, img.dir, img.tag)).Output()
			if err != nil {
				t.Fatalf("syft: %v\n%s", err, stderrOf(err))
			}
			var doc struct {
				Artifacts []struct {
					Name     string            `json:"name"`
					Type     string            `json:"type"`
					Licenses []json.RawMessage `json:"licenses"`
				} `json:"artifacts"`
				Distro struct {
					ID        string `json:"id"`
					VersionID string `json:"versionID"`
				} `json:"distro"`
			}
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatalf("syft output: %v", err)
			}
			var syftPkgs, unnamed []string
			for _, a := range doc.Artifacts {
				if a.Type != "deb" {
					continue
				}
				syftPkgs = append(syftPkgs, a.Name)
				if len(a.Licenses) > 0 {
					continue
				}
				// A free-text copyright file that names no license (an
				// empty "License:" line, "see /usr/share/common-licenses/ .")
				// gives syft none on a full Debian system too.
				cr, err := os.ReadFile(filepath.Join(root, "usr/share/doc", a.Name, "copyright"))
				if err != nil {
					if l, lerr := os.Readlink(filepath.Join(root, "usr/share/doc", a.Name)); lerr == nil {
						cr, err = os.ReadFile(filepath.Join(root, "usr/share/doc", l, "copyright"))
					}
				}
				if err != nil || namesLicenseRE.Match(cr) {
					t.Errorf("syft: %s has no license (its copyright: %v, %d bytes)", a.Name, err, len(cr))
				} else {
					unnamed = append(unnamed, a.Name)
				}
			}
			if len(unnamed) > 0 {
				t.Logf("syft: no license named in the copyright of %s", strings.Join(unnamed, ", "))
			}
			if d := setDiff(want, syftPkgs); d != "" {
				t.Errorf("syft's packages differ from status.d:\n%s", d)
			}
			if doc.Distro.ID != "debian" || doc.Distro.VersionID != tc.version {
				t.Errorf("syft: distro %s %s, want debian %s", doc.Distro.ID, doc.Distro.VersionID, tc.version)
			}
			t.Logf("%d packages; trivy: OS %s, %d packages; syft: %d packages", len(want), osFound, len(trivyPkgs), len(syftPkgs))
		})
	}
}

// namesLicenseRE matches a copyright file that names a license the way
// syft reads one: a DEP-5 "License: NAME" field or a reference to
// /usr/share/common-licenses/NAME.
var namesLicenseRE = regexp.MustCompile(`(?m)^License:[ \t]*\S|/usr/share/common-licenses/[A-Za-z0-9]`)

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return clitest.Tail(string(ee.Stderr), 20)
	}
	return ""
}

// setDiff says what is in want and not got, and the reverse; "" when the
// two hold the same names.
func setDiff(want, got []string) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, x := range want {
		w[x] = true
	}
	for _, x := range got {
		g[x] = true
	}
	var out []string
	for x := range w {
		if !g[x] {
			out = append(out, "missing "+x)
		}
	}
	for x := range g {
		if !w[x] {
			out = append(out, "extra "+x)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestFidelityGconvAll: the documented override (a profile file with
// prune-files: ["!/usr/lib/*/gconv"]) gives every iconv module: the ones
// the default set drops open, and the default ones still round-trip.
func TestFidelityGconvAll(t *testing.T) {
	integration(t)
	p := newPodman(t)
	bins := fidelityPrograms(t)
	root, err := sharedDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "gconv-all") // podman wants a lower-case path
	genDigest(t, "-f", filepath.Join(fidelityDir, "gconv-all.yaml"), "--distro", "debian:trixie", "--cache-dir", testCache, "-o", "oci:"+dir+":all")
	p.runChecked(t, "oci:"+dir+":all", []string{"-v", bins + ":/m:ro", "--entrypoint", "/m/check"}, append([]string{"--present"}, droppedEncodings...)...)
}

// oneImageLayout is a view of an OCI layout with only the image tagged
// tag in its index.json (the blobs are the layout's, through a symlink).
func oneImageLayout(t *testing.T, dir, tag string) string {
	t.Helper()
	idx, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index map[string]json.RawMessage
	if err := json.Unmarshal(idx, &index); err != nil {
		t.Fatal(err)
	}
	var ms []map[string]any
	if err := json.Unmarshal(index["manifests"], &ms); err != nil {
		t.Fatal(err)
	}
	var keep []map[string]any
	for _, m := range ms {
		if a, ok := m["annotations"].(map[string]any); ok && a["org.opencontainers.image.ref.name"] == tag {
			keep = append(keep, m)
		}
	}
	if len(keep) != 1 {
		t.Fatalf("%s: %d manifests tagged %s", dir, len(keep), tag)
	}
	b, err := json.Marshal(keep)
	if err != nil {
		t.Fatal(err)
	}
	index["manifests"] = b
	if idx, err = json.Marshal(index); err != nil {
		t.Fatal(err)
	}
	view := t.TempDir()
	abs, err := filepath.Abs(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"index.json": idx, "oci-layout": nil} {
		if data == nil {
			if data, err = os.ReadFile(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(view, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(abs, filepath.Join(view, "blobs")); err != nil {
		t.Fatal(err)
	}
	return view
}
