package distroless

// Integration tests of the language-runtime profiles (nodejs, java17,
// java21, java25): each image is generated from the real Debian archive
// for the distro gen picks by default and runs a check program in podman
// without network. The podman harness, shared images and OCI readers are
// gen_integration_test.go's. The java tests build their jar with the
// host's JDK (javac, jar), which scripts/test.sh installs
// (default-jdk-headless); like podman, a missing tool fails the test.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
)

const (
	nodeCheckScript = "testdata/nodejs/check.js"
	javaCheckSource = "testdata/java/Check.java"
)

// The runtime images, built at most once per test run. No --distro: each
// is built for the distro gen picks by default.
var (
	rtNodeImage   = &sharedImage{name: "nodejs-default", tag: "node", args: []string{"nodejs"}}
	rtJava17Image = &sharedImage{name: "java17-default", tag: "java", args: []string{"java17"}}
	rtJava21Image = &sharedImage{name: "java21-default", tag: "java", args: []string{"java21"}}
	rtJava25Image = &sharedImage{name: "java25-default", tag: "java", args: []string{"java25"}}
	rtCCTrixie    = &sharedImage{name: "cc-trixie", tag: "cc", args: []string{"cc", "--distro", "debian:trixie"}}
)

// runChecked runs image with the given podman run flags and arguments,
// without network, and checks that it printed "ALL OK" last and exited 0.
// It returns stdout.
func (p *podmanStore) runChecked(t *testing.T, image string, runFlags []string, args ...string) string {
	t.Helper()
	all := append([]string{"run", "--rm", "--network=none"}, runFlags...)
	all = append(all, image)
	all = append(all, args...)
	stdout, stderr, code := p.run(t, 5*time.Minute, all...)
	last := ""
	if lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n"); len(lines) > 0 {
		last = lines[len(lines)-1]
	}
	if code != 0 || last != "ALL OK" {
		t.Fatalf("check in %s: exit %d, last line %q\nstdout:\n%s\nstderr:\n%s", image, code, last, stdout, clitest.Tail(stderr, 30))
	}
	for _, line := range strings.Split(strings.TrimRight(stdout, "\n"), "\n") {
		t.Log(line)
	}
	return stdout
}

// mountDir makes a directory a container can read as any user.
func mountDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mount")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// testTLS writes a test CA (ca.pem) and a server certificate it signed
// for 127.0.0.1 and localhost (server.pem, server-key.pem) into dir.
func testTLS(t *testing.T, dir string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "distroless test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]*pem.Block{
		"ca.pem":         {Type: "CERTIFICATE", Bytes: caDER},
		"server.pem":     {Type: "CERTIFICATE", Bytes: srvDER},
		"server-key.pem": {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkEntrypoint checks the image config's entrypoint with skopeo.
func checkEntrypoint(t *testing.T, img *sharedImage, want ...string) {
	t.Helper()
	c := inspectConfig(t, img.ref())
	if !slices.Equal(c.Config.Entrypoint, want) || len(c.Config.Cmd) != 0 {
		t.Errorf("%s: entrypoint %q, cmd %q; want entrypoint %q", img.name, c.Config.Entrypoint, c.Config.Cmd, want)
	}
	if c.Config.User != "65532:65532" {
		t.Errorf("%s: user %q", img.name, c.Config.User)
	}
}

// TestRuntimeNodejs runs testdata/nodejs/check.js in the nodejs image:
// crypto, zlib, Intl in French and German, fs in /tmp, and https to a
// server of the script's own on 127.0.0.1 whose certificate a test CA,
// given by NODE_EXTRA_CA_CERTS, signed.
func TestRuntimeNodejs(t *testing.T) {
	integration(t)
	p := newPodman(t)
	img := rtNodeImage.get(t)
	if img.res.Distro != "debian:trixie" || img.res.Profile != "nodejs" {
		t.Errorf("gen nodejs: %s on %s, want nodejs on the default debian:trixie", img.res.Profile, img.res.Distro)
	}
	logSizes(t, img)
	checkEntrypoint(t, img, "/usr/bin/node")
	dir := mountDir(t)
	testTLS(t, dir)
	copyFile(t, nodeCheckScript, filepath.Join(dir, "check.js"))
	out := p.runChecked(t, img.ref(), []string{"-v", dir + ":/check:ro", "-e", "NODE_EXTRA_CA_CERTS=/check/ca.pem"}, "/check/check.js")
	if !strings.Contains(out, "lundi 15 janvier 2024") || !strings.Contains(out, "verified through NODE_EXTRA_CA_CERTS") {
		t.Errorf("check output lacks the Intl or https lines:\n%s", out)
	}
}

// javaJar builds testdata/java/Check.java into a jar with the host's JDK,
// for Java 17 (so it runs on 17, 21 and 25), once per test run.
var javaJar = struct {
	once sync.Once
	dir  string
	err  error
}{}

func checkJar(t *testing.T) string {
	t.Helper()
	javac, jar := needTool(t, "javac"), needTool(t, "jar")
	javaJar.once.Do(func() {
		root, err := sharedDir()
		if err != nil {
			javaJar.err = err
			return
		}
		dir := filepath.Join(root, "java-check")
		classes := filepath.Join(dir, "classes")
		if err := os.MkdirAll(classes, 0o755); err != nil {
			javaJar.err = err
			return
		}
		for _, args := range [][]string{
			{javac, "--release", "17", "-d", classes, javaCheckSource},
			{jar, "--create", "--file", filepath.Join(dir, "check.jar"), "--main-class", "Check", "-C", classes, "."},
		} {
			if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
				javaJar.err = fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
		if err := os.RemoveAll(classes); err != nil {
			javaJar.err = err
			return
		}
		javaJar.dir = dir
	})
	if javaJar.err != nil {
		t.Fatalf("building the check jar: %v", javaJar.err)
	}
	if err := os.Chmod(javaJar.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return javaJar.dir
}

// TestRuntimeJava runs the check jar in the java17, java21 and java25
// images through their entrypoint (java -jar): the Java version, the
// default TrustManagerFactory with the generated trust store (more than
// 100 certificates, read with and without the "changeit" password), a
// date in Europe/Paris in French, zlib, SHA-256, /tmp, and text drawn
// with the headless font stack.
func TestRuntimeJava(t *testing.T) {
	integration(t)
	p := newPodman(t)
	jarDir := checkJar(t)
	for _, tc := range []struct {
		img     *sharedImage
		feature string
		distro  string
	}{
		{rtJava17Image, "17", "debian:bookworm"},
		{rtJava21Image, "21", "debian:trixie"},
		{rtJava25Image, "25", "debian:trixie"},
	} {
		t.Run("java"+tc.feature, func(t *testing.T) {
			img := tc.img.get(t)
			if img.res.Distro != tc.distro {
				t.Errorf("gen java%s picked %s, want %s", tc.feature, img.res.Distro, tc.distro)
			}
			logSizes(t, img)
			checkEntrypoint(t, img, "/usr/bin/java", "-jar")
			for _, bad := range []string{"util-linux=", "libcups2=", "libnss3=", "ca-certificates-java=", "dpkg=", "perl-base="} {
				if slices.ContainsFunc(img.res.Packages, func(p string) bool { return strings.HasPrefix(p, bad) }) {
					t.Errorf("java%s has %s…", tc.feature, bad)
				}
			}
			out := p.runChecked(t, img.ref(), []string{"-v", jarDir + ":/app:ro", "-e", "WANT_JAVA_FEATURE=" + tc.feature}, "/app/check.jar")
			if !strings.Contains(out, "java.version "+tc.feature) || !strings.Contains(out, "user.name nonroot") {
				t.Errorf("check output:\n%s", out)
			}
		})
	}
}

func logSizes(t *testing.T, img *sharedImage) {
	t.Helper()
	r := img.res
	t.Logf("%s on %s: %d packages, %.1f MB to download, rootfs %.1f MB, compressed layers %.1f MB",
		r.Profile, r.Distro, len(r.Packages), float64(r.Download)/1e6, float64(r.Size)/1e6, float64(r.ImageSize)/1e6)
}

// TestRuntimeLayerSharing: the runtime images share their lower layers,
// byte for byte, with the cc image of the same distro, and java21 and
// java25 (both trixie) share java-base's layer too.
func TestRuntimeLayerSharing(t *testing.T) {
	integration(t)
	layers := func(img *sharedImage) ([]string, []string) {
		l := clitest.ReadLayout(t, img.dir, img.tag)
		var names []string
		for _, x := range img.res.Layers {
			names = append(names, x.Name)
		}
		return names, l.LayerDigests()
	}
	for _, tc := range []struct {
		lower, upper *sharedImage
		shared       []string
		upperLayers  []string
	}{
		{rtCCTrixie, rtNodeImage, []string{"static", "base", "cc"}, []string{"static", "base", "cc", "nodejs", "os-release"}},
		{ccImage, rtJava17Image, []string{"static", "base", "cc"}, []string{"static", "base", "cc", "java-base", "java17", "os-release"}},
		{rtJava21Image, rtJava25Image, []string{"static", "base", "cc", "java-base"}, []string{"static", "base", "cc", "java-base", "java25", "os-release"}},
	} {
		lo, up := tc.lower.get(t), tc.upper.get(t)
		t.Run(lo.name+"/"+up.name, func(t *testing.T) {
			loNames, loD := layers(lo)
			upNames, upD := layers(up)
			if !slices.Equal(upNames, tc.upperLayers) {
				t.Fatalf("%s layers %v, want %v", up.name, upNames, tc.upperLayers)
			}
			for i, name := range tc.shared {
				if loNames[i] != name || upNames[i] != name {
					t.Fatalf("layer %d: %s and %s, want %s", i, loNames[i], upNames[i], name)
				}
				if loD[i] != upD[i] {
					t.Errorf("layer %s: %s has %s, %s has %s: not shared", name, lo.name, loD[i], up.name, upD[i])
				}
			}
			// Same distro, same os-release layer.
			if loD[len(loD)-1] != upD[len(upD)-1] {
				t.Errorf("os-release layers differ")
			}
		})
	}
}

// TestRuntimeJavaReproducible: a second gen of java21, into a fresh
// cache, gives the same image, the generated trust store and links
// included.
func TestRuntimeJavaReproducible(t *testing.T) {
	integration(t)
	shared := rtJava21Image.get(t)
	out := filepath.Join(t.TempDir(), "again")
	d := genDigest(t, "java21", "--cache-dir", downloadsOnly(t, testCache), "-o", "oci:"+out+":java")
	if d != shared.res.Digest {
		a, b := clitest.ReadLayout(t, shared.dir, shared.tag).LayerDigests(), clitest.ReadLayout(t, out, "java").LayerDigests()
		t.Errorf("second gen of java21: %s, first %s\nlayers %v\nand    %v", d, shared.res.Digest, a, b)
	}
}

// downloadsOnly is a fresh cache holding only cache's downloaded blobs
// (hard links: each is checked against its digest before use), so that
// a build into it builds everything again, from the same packages,
// without downloading them again: no image memo, layer, unpacked
// package or compiled bytecode of cache's is there.
func downloadsOnly(t *testing.T, cache string) string {
	t.Helper()
	fresh := filepath.Join(t.TempDir(), "cache")
	blobs := filepath.Join(cache, "blobs")
	n := 0
	err := filepath.WalkDir(blobs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(cache, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(fresh, rel), 0o755)
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		n++
		return os.Link(p, filepath.Join(fresh, rel))
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("%s holds no downloads", blobs)
	}
	return fresh
}

// TestRuntimeProfilesDistros: each java profile is for the distros whose
// main carries its JRE; naming another fails with a message saying which.
func TestRuntimeProfilesDistros(t *testing.T) {
	integration(t)
	for _, tc := range []struct{ profile, distro, want string }{
		{"java17", "debian:trixie", "profile java17 is for debian:bookworm, not debian:trixie"},
		{"java21", "debian:bookworm", "profile java21 is for debian:trixie, not debian:bookworm"},
		{"java25", "debian:bookworm", "profile java25 is for debian:trixie, not debian:bookworm"},
	} {
		_, stderr, code := cli(t, "resolve", tc.profile, "--distro", tc.distro, "--cache-dir", testCache)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("resolve %s --distro %s: exit %d, %q; want %q", tc.profile, tc.distro, code, strings.TrimSpace(stderr), tc.want)
		}
	}
	// Without --distro, java17 is built where it is packaged, and says so.
	_, stderr, code := cli(t, "resolve", "java17", "--cache-dir", testCache)
	if code != 0 || !strings.Contains(stderr, "java17: using debian:bookworm") {
		t.Errorf("resolve java17: exit %d, stderr %q", code, stderr)
	}
}
