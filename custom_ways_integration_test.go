package distroless

// Integration tests of customised images beyond TestCustomCA, which adds
// the test CA one way per image: here each client trusts it the other
// way too (python3 with its C and Go clients through --ca-cert; java21,
// nodejs and the RPM image through a profile file's src: in the distro's
// directory of local CAs), the SBOM names a --ca-cert file, a numeric
// --user gets an account and a home, and certificates expired or not yet
// valid are refused naming the file.

import (
	"archive/tar"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
)

// customGen builds gen's image into a layout under out, tag t, and returns
// its oci: reference.
func customGen(t *testing.T, out, name string, args ...string) string {
	t.Helper()
	all := append([]string{"gen"}, args...)
	all = append(all, "--cache-dir", testCache, "-q", "-o", "oci:"+filepath.Join(out, name)+":t")
	_, stderr, code, err := runBin("", all...)
	if err != nil || code != 0 {
		t.Fatalf("distroless %s: exit %d %v\n%s", strings.Join(all, " "), code, err, clitest.Tail(stderr, 30))
	}
	return "oci:" + filepath.Join(out, name) + ":t"
}

// customRun runs image in podman on the host's network with dir mounted
// at /m and returns its stdout.
func customRun(t *testing.T, p *podmanStore, dir, image string, flags []string, args ...string) string {
	t.Helper()
	all := append([]string{"run", "--rm", "--network", "host", "-v", dir + ":/m:ro"}, flags...)
	all = append(all, image)
	stdout, stderr, code := p.run(t, 5*time.Minute, append(all, args...)...)
	t.Logf("%s (exit %d):\n%s", image, code, stdout)
	if code < 0 || stdout == "" {
		t.Fatalf("podman run %s: exit %d\n%s", image, code, clitest.Tail(stderr, 20))
	}
	return stdout
}

func wantLines(t *testing.T, what, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("%s: no %q in\n%s", what, l, out)
		}
	}
}

// TestCustomCAOtherWays: python3 through --ca-cert (urllib, the C client
// on OpenSSL's default paths and on its hash directory alone, the static
// Go client) as the numeric user 10002; java21, nodejs and the RPM image
// through a profile file's src: where the distro keeps local CAs.
// TestCustomCA shows each refusing the server without the CA.
func TestCustomCAOtherWays(t *testing.T) {
	p, dir, url, port, ca, out := customSetup(t, "custom-ways-")

	// python3 with --ca-cert and --user 10002: the user gets an entry in
	// /etc/passwd and /etc/group and a home it owns.
	sbomFile := filepath.Join(out, "py.spdx.json")
	py := customGen(t, out, "py", "python3", "--distro", "debian:trixie", "--ca-cert", ca, "--user", "10002", "--sbom", sbomFile)
	// The SBOM names the CA, a file from the host, as a component.
	if b, err := os.ReadFile(sbomFile); err != nil || !bytes.Contains(b, []byte(`"name": "host-files-`)) ||
		!bytes.Contains(b, []byte("  /usr/local/share/ca-certificates/ca.crt")) {
		t.Errorf("the SBOM (%v) does not name the --ca-cert file", err)
	}
	if c := inspectConfig(t, py); c.Config.User != "10002:10002" || c.Config.WorkingDir != "/home/user10002" {
		t.Errorf("--user 10002: config user %q, workdir %q", c.Config.User, c.Config.WorkingDir)
	}
	o := customRun(t, p, dir, py, nil, "/m/custom.py", url, port, "/m")
	wantLines(t, "python3 with --ca-cert", o, "ok   python: hello", "ok   c: hello", "ok   c-hashdir: hello", "FAIL c-nohash:", "ok   go: hello",
		"user=user10002", "home=/home/user10002", "zone=US/Eastern")
	files := map[string]*tar.Header{}
	data := map[string]string{}
	clitest.WalkLayers(t, filepath.Join(out, "py"), "t", func(_ int, h *tar.Header, r io.Reader) {
		name := strings.TrimPrefix(h.Name, "./")
		files[name] = h
		if name == "etc/passwd" || name == "etc/group" {
			b, _ := io.ReadAll(r)
			data[name] = string(b)
		}
	})
	if !strings.Contains(data["etc/passwd"], "\nuser10002:x:10002:10002:user10002:/home/user10002:") ||
		!strings.Contains(data["etc/group"], "\nuser10002:x:10002:") {
		t.Errorf("no user10002 in /etc/passwd:\n%s\n/etc/group:\n%s", data["etc/passwd"], data["etc/group"])
	}
	if h := files["home/user10002/"]; h == nil && files["home/user10002"] == nil {
		t.Errorf("no /home/user10002")
	} else {
		if h == nil {
			h = files["home/user10002"]
		}
		if h.Typeflag != tar.TypeDir || h.Uid != 10002 || h.Gid != 10002 {
			t.Errorf("/home/user10002: type %c owner %d:%d", h.Typeflag, h.Uid, h.Gid)
		}
	}

	// Profile files putting the CA where each distro keeps local CAs.
	pdir := t.TempDir()
	copyFile(t, ca, filepath.Join(pdir, "corp.pem"))
	profile := func(name, extends, dest string) string {
		f := filepath.Join(pdir, name+".yaml")
		y := "name: " + name + "\nextends: " + extends + "\nfiles:\n  - path: " + dest + "\n    src: corp.pem\n"
		if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	local := "/usr/local/share/ca-certificates/corp.crt"
	j := customGen(t, out, "java", "-f", profile("corp-java", "java21", local), "--distro", "debian:trixie")
	wantLines(t, "java21 with the CA in a profile file", customRun(t, p, dir, j, []string{"--entrypoint", "/usr/bin/java"}, "-cp", "/m", "Custom", url),
		"ok   java: hello")
	n := customGen(t, out, "node", "-f", profile("corp-node", "nodejs", local), "--distro", "debian:trixie")
	wantLines(t, "nodejs with the CA in a profile file", customRun(t, p, dir, n, nil, "/m/custom.js", url), "ok   node: hello")

	fx := rpmFixture(t)
	distroFile := rpmDistroFile(t, rpmRepoURL, fx.KeyFile)
	r := customGen(t, out, "rpm", "-f", profile("corp-rpm", "static", "/etc/pki/ca-trust/source/anchors/corp.pem"), "--distro", distroFile)
	wantLines(t, "the RPM image with the CA in a profile file",
		customRun(t, p, dir, r, []string{"-v", filepath.Join(dir, "tlsget-go") + ":/tlsget:ro", "--entrypoint", "/tlsget"}, url), "ok   go: hello")
}

// writeCert writes a self-signed CA certificate valid from notBefore to
// notAfter into file, PEM.
func writeCert(t *testing.T, file string, notBefore, notAfter time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Dated Root"},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCustomCADates: an expired certificate and one not yet valid are
// refused, exit 1, naming the file and the date, through --ca-cert and
// through a profile's file in the local CA directory; a private key put
// there by a profile is refused naming its place in the image.
func TestCustomCADates(t *testing.T) {
	integration(t)
	dir := t.TempDir()
	now := time.Now()
	expired, future := filepath.Join(dir, "expired.crt"), filepath.Join(dir, "future.crt")
	writeCert(t, expired, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	writeCert(t, future, now.Add(24*time.Hour), now.Add(48*time.Hour))
	testTLS(t, dir)
	gen := func(args ...string) (string, int) {
		t.Helper()
		all := append([]string{"gen", "--distro", "debian:trixie", "--cache-dir", testCache, "-q", "-o", "oci:" + filepath.Join(t.TempDir(), "o")}, args...)
		_, stderr, code, err := runBin("", all...)
		if err != nil {
			t.Fatal(err)
		}
		return stderr, code
	}
	for _, c := range []struct {
		file, want string
	}{
		{expired, `certificate "CN=Dated Root" expired on ` + now.Add(-24*time.Hour).UTC().Format("2006-01-02")},
		{future, `certificate "CN=Dated Root" is not valid before ` + now.Add(24*time.Hour).UTC().Format("2006-01-02")},
	} {
		if stderr, code := gen("static", "--ca-cert", c.file); code != 1 || !strings.Contains(stderr, c.file+": "+c.want) {
			t.Errorf("--ca-cert %s: exit %d, want 1 and %q\n%s", c.file, code, c.want, stderr)
		}
	}
	prof := filepath.Join(dir, "dated.yaml")
	os.WriteFile(prof, []byte("name: dated\nextends: static\nfiles:\n  - path: /usr/local/share/ca-certificates/old.crt\n    src: expired.crt\n"), 0o644)
	if stderr, code := gen("-f", prof); code != 1 || !strings.Contains(stderr, "/usr/local/share/ca-certificates/old.crt") || !strings.Contains(stderr, "expired on") {
		t.Errorf("a profile's expired CA: exit %d\n%s", code, stderr)
	}
	os.WriteFile(prof, []byte("name: keyed\nextends: static\nfiles:\n  - path: /usr/local/share/ca-certificates/corp.crt\n    src: server-key.pem\n"), 0o644)
	if stderr, code := gen("-f", prof); code != 1 || !strings.Contains(stderr, "/usr/local/share/ca-certificates/corp.crt") || !strings.Contains(stderr, "private key") {
		t.Errorf("a profile's key as a CA: exit %d\n%s", code, stderr)
	}
}
