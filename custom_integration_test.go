package distroless

// Integration tests of customised images: a team's own CA (a profile's
// files: under the distro's local CA directory, and --ca-cert), files
// from the host (src:, --add-file), accounts (accounts:, --user
// NAME:UID) and the legacy time zones. A test CA signs an https server
// of the test's own on 127.0.0.1; clients in the images (Python's
// urllib, a C program on OpenSSL's default paths, a static Go program,
// Node's https, Java's HttpClient, and the RPM image) must trust it with
// the CA added and refuse it without. The containers share the host's
// network (--network host) to reach it.

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/distroless-dev/distroless/internal/clitest"
)

// customServer serves "hello" over TLS with dir's server.pem (testTLS)
// on 127.0.0.1 and returns its URL and port.
func customServer(t *testing.T, dir string) (string, string) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "hello") })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	return "https://127.0.0.1:" + port + "/", port
}

// customBins builds the clients into dir: tlsget-c (against the host's
// OpenSSL, as the fidelity programs are), tlsget-go (static), and
// Custom.class.
func customBins(t *testing.T, dir string) {
	t.Helper()
	gcc, javac := needTool(t, "gcc"), needTool(t, "javac")
	gobin := needTool(t, "go")
	for _, c := range []*exec.Cmd{
		exec.Command(gcc, "-Wall", "-Werror", "-O2", "-o", filepath.Join(dir, "tlsget-c"), "testdata/custom/tlsget.c", "-lssl", "-lcrypto"),
		exec.Command(gobin, "build", "-o", filepath.Join(dir, "tlsget-go"), "./testdata/custom/tlsget"),
		exec.Command(javac, "--release", "17", "-d", dir, "testdata/custom/Custom.java"),
	} {
		if filepath.Base(c.Path) == "go" {
			c.Env = append(os.Environ(), "CGO_ENABLED=0")
		}
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(c.Args, " "), err, out)
		}
	}
	for _, f := range []string{"custom.py", "custom.js"} {
		copyFile(t, filepath.Join("testdata/custom", f), filepath.Join(dir, f))
	}
}

// customSetup is what the custom-CA tests share: podman, a directory the
// containers mount holding the test CA (ca.pem), a TLS server it signs
// (its URL and port) and the client programs, and an output directory
// named with prefix.
func customSetup(t *testing.T, prefix string) (p *podmanStore, dir, url, port, ca, out string) {
	t.Helper()
	integration(t)
	p = newPodman(t)
	dir = mountDir(t)
	testTLS(t, dir)
	url, port = customServer(t, dir)
	customBins(t, dir)
	out, err := os.MkdirTemp("", prefix) // podman wants a lower-case path
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(out) })
	return p, dir, url, port, filepath.Join(dir, "ca.pem"), out
}

// TestCustomCA: the CA, the files, the user and the zones, in python3
// (a profile file), java21, nodejs and static (flags), and an RPM image.
func TestCustomCA(t *testing.T) {
	p, dir, url, port, ca, out := customSetup(t, "custom-")

	gen := func(name string, args ...string) string {
		t.Helper()
		layout := filepath.Join(out, name)
		all := append([]string{"gen"}, args...)
		all = append(all, "--cache-dir", testCache, "-q", "-o", "oci:"+layout+":t")
		_, stderr, code, err := runBin("", all...)
		if err != nil || code != 0 {
			t.Fatalf("distroless %s: exit %d %v\n%s", strings.Join(all, " "), code, err, clitest.Tail(stderr, 30))
		}
		return "oci:" + layout + ":t"
	}
	run := func(image string, flags []string, args ...string) string {
		t.Helper()
		return customRun(t, p, dir, image, flags, args...)
	}
	want := func(what, out string, lines ...string) {
		t.Helper()
		wantLines(t, what, out, lines...)
	}

	// python3 from a profile file: the CA as a file from the host under
	// /usr/local/share/ca-certificates, a user of its accounts, and a
	// tree copied with src:.
	prof := filepath.Join(t.TempDir(), "corp.yaml")
	os.MkdirAll(filepath.Join(filepath.Dir(prof), "conf", "sub"), 0o755)
	os.WriteFile(filepath.Join(filepath.Dir(prof), "conf", "sub", "app.conf"), []byte("x=1\n"), 0o600)
	os.Symlink("sub/app.conf", filepath.Join(filepath.Dir(prof), "conf", "current"))
	copyFile(t, ca, filepath.Join(filepath.Dir(prof), "corp.pem"))
	os.WriteFile(prof, []byte(`name: corp-python
extends: python3
files:
  - path: /usr/local/share/ca-certificates/corp.crt
    src: corp.pem
  - path: /etc/app
    src: conf
    uid: 10001
    gid: 10001
accounts:
  users:
    - name: app
      uid: 10001
user: "10001:10001"
workdir: /home/app
`), 0o644)
	sbomFile := filepath.Join(out, "py-ca.spdx.json")
	pyCA := gen("py-ca", "-f", prof, "--distro", "debian:trixie", "--sbom", sbomFile)
	// The SBOM names the files from the host as a component.
	if b, err := os.ReadFile(sbomFile); err != nil || !bytes.Contains(b, []byte(`"name": "host-files-corp-python"`)) ||
		!bytes.Contains(b, []byte("  /etc/app/sub/app.conf")) || !bytes.Contains(b, []byte("  /usr/local/share/ca-certificates/corp.crt")) {
		t.Errorf("the SBOM (%v) lacks the host files' component", err)
	}
	o := run(pyCA, nil, "/m/custom.py", url, port, "/m")
	want("python3 with the CA", o, "ok   python: hello", "ok   c: hello", "ok   c-hashdir: hello", "FAIL c-nohash:", "ok   go: hello", "user=app", "home=/home/app", "zone=US/Eastern")
	// Without it: every client refuses the server.
	o = run(py3Image.get(t).ref(), nil, "/m/custom.py", url, port, "/m")
	want("python3 without the CA", o, "FAIL python:", "FAIL c:", "FAIL c-hashdir:", "FAIL go:", "zone=US/Eastern")
	root := flatten(t, filepath.Join(out, "py-ca"), "t")
	if b, err := os.ReadFile(filepath.Join(root, "etc/app/sub/app.conf")); err != nil || string(b) != "x=1\n" {
		t.Errorf("/etc/app/sub/app.conf: %q %v", b, err)
	}
	if l, err := os.Readlink(filepath.Join(root, "etc/app/current")); err != nil || l != "sub/app.conf" {
		t.Errorf("/etc/app/current: %q %v", l, err)
	}

	// java21 through --ca-cert, with --user NAME:UID.
	j := gen("java-ca", "java21", "--ca-cert", ca, "--user", "app:10001")
	if c := inspectConfig(t, j); c.Config.User != "10001:10001" || c.Config.WorkingDir != "/home/app" {
		t.Errorf("--user app:10001: config user %q, workdir %q", c.Config.User, c.Config.WorkingDir)
	}
	o = run(j, []string{"--entrypoint", "/usr/bin/java"}, "-cp", "/m", "Custom", url)
	want("java21 with --ca-cert", o, "ok   java: hello", "user.home=/home/app", "user.name=app", "zone=US/Eastern")
	o = run(rtJava21Image.get(t).ref(), []string{"--entrypoint", "/usr/bin/java"}, "-cp", "/m", "Custom", url)
	want("java21 without", o, "FAIL java:")

	// nodejs through --ca-cert.
	n := gen("node-ca", "nodejs", "--ca-cert", ca)
	want("nodejs with --ca-cert", run(n, nil, "/m/custom.js", url), "ok   node: hello")
	want("nodejs without", run(rtNodeImage.get(t).ref(), nil, "/m/custom.js", url), "FAIL node:")

	// static through --ca-cert, and a file added with --add-file.
	s := gen("static-ca", "static", "--distro", "debian:trixie", "--ca-cert", ca, "--file", filepath.Join(dir, "tlsget-go")+":/usr/bin/tlsget") // --file SRC:DEST is --add-file's
	want("static with --ca-cert", run(s, []string{"--entrypoint", "/usr/bin/tlsget"}, url), "ok   go: hello")

	// The RPM image (the test repositories): the anchor goes to
	// /etc/pki/ca-trust/source/anchors and into the extracted bundle.
	fx := rpmFixture(t)
	distroFile := rpmDistroFile(t, rpmRepoURL, fx.KeyFile)
	r := gen("rpm-ca", "static", "--distro", distroFile, "--ca-cert", ca)
	want("rpm static with --ca-cert", run(r, []string{"-v", filepath.Join(dir, "tlsget-go") + ":/tlsget:ro", "--entrypoint", "/tlsget"}, url), "ok   go: hello")
	rr := gen("rpm", "static", "--distro", distroFile)
	want("rpm static without", run(rr, []string{"-v", filepath.Join(dir, "tlsget-go") + ":/tlsget:ro", "--entrypoint", "/tlsget"}, url), "FAIL go:")
	rroot := flatten(t, filepath.Join(out, "rpm-ca"), "t")
	caPEM, _ := os.ReadFile(ca)
	bundle, _ := os.ReadFile(filepath.Join(rroot, "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"))
	if !bytes.Contains(bundle, bytes.TrimSpace(caPEM)) {
		t.Errorf("the RPM bundle lacks the CA")
	}
	if _, err := os.Stat(filepath.Join(rroot, "etc/pki/ca-trust/source/anchors/ca.pem")); err != nil {
		t.Errorf("the anchor: %v", err)
	}
}

// TestCustomRefused: bad certificates and hostile src: trees fail the
// build, exit 1, naming the file; a usage error for a malformed flag.
func TestCustomRefused(t *testing.T) {
	integration(t)
	dir := t.TempDir()
	testTLS(t, dir)
	key := filepath.Join(dir, "server-key.pem")
	notPEM := filepath.Join(dir, "junk.crt")
	os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644)
	ca := filepath.Join(dir, "ca.pem")
	dup := filepath.Join(dir, "again.pem")
	copyFile(t, ca, dup)
	// A tree with a link to /etc/shadow, one with a loop, one with a FIFO,
	// one with a 10 GiB sparse file.
	trees := map[string]func(string){
		"shadow": func(d string) { os.Symlink("/etc/shadow", filepath.Join(d, "shadow")) },
		"escape": func(d string) { os.Symlink("../../../../etc/shadow", filepath.Join(d, "shadow")) },
		"loop":   func(d string) { os.Symlink("loop", filepath.Join(d, "loop")) },
		"fifo":   func(d string) { syscall.Mkfifo(filepath.Join(d, "fifo"), 0o644) },
		"sparse": func(d string) {
			f, err := os.Create(filepath.Join(d, "big"))
			if err != nil {
				t.Fatal(err)
			}
			f.Truncate(10 << 30)
			f.Close()
		},
	}
	treeDir := map[string]string{}
	for name, mk := range trees {
		d := filepath.Join(dir, "tree-"+name)
		os.Mkdir(d, 0o755)
		mk(d)
		treeDir[name] = d
	}
	// The same through a profile's src: (relative to the profile file).
	prof := filepath.Join(dir, "hostile.yaml")
	os.WriteFile(prof, []byte("name: hostile\nextends: static\nfiles:\n  - path: /srv\n    src: tree-loop\n"), 0o644)
	_, stderr, code, err := runBin("", "gen", "-f", prof, "--distro", "debian:trixie", "--cache-dir", testCache, "-q", "-o", "oci:"+filepath.Join(t.TempDir(), "o"))
	if err != nil || code != 1 || !strings.Contains(stderr, "profile hostile: file /srv: src tree-loop:") || !strings.Contains(stderr, "a loop") {
		t.Errorf("a profile's hostile src: exit %d (%v)\n%s", code, err, stderr)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"not PEM", []string{"--ca-cert", notPEM}, 1, []string{notPEM, "not a PEM certificate"}},
		{"a key", []string{"--ca-cert", key}, 1, []string{key, "private key"}},
		{"duplicate", []string{"--ca-cert", ca, "--ca-cert", dup}, 1, []string{dup, "duplicate", ca}},
		{"shadow link", []string{"-f", treeDir["shadow"] + ":/srv"}, 1, []string{"shadow", "absolute path /etc/shadow"}},
		{"escaping link", []string{"--add-file", treeDir["escape"] + ":/srv"}, 1, []string{"leads out of the tree"}},
		{"loop", []string{"--add-file", treeDir["loop"] + ":/srv"}, 1, []string{"loop"}},
		{"FIFO", []string{"--add-file", treeDir["fifo"] + ":/srv"}, 1, []string{"fifo", "a FIFO"}},
		{"sparse", []string{"--add-file", treeDir["sparse"] + ":/srv"}, 1, []string{"big", "10737418240 bytes", "--max-file-size"}},
		{"add-file form", []string{"--add-file", "nodest"}, 2, []string{"SRC:DEST"}},
		{"user clash", []string{"--user", "nobody:10001"}, 1, []string{"user nobody", "already"}},
		{"uid clash", []string{"--user", "app:65534"}, 1, []string{"UID 65534", "nobody"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"gen", "static", "--distro", "debian:trixie", "--cache-dir", testCache, "-q", "-o", "oci:" + filepath.Join(t.TempDir(), "o")}, c.args...)
			_, stderr, code, err := runBin("", args...)
			if err != nil || code != c.code {
				t.Fatalf("exit %d (%v), want %d\n%s", code, err, c.code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestReleaseCustom: a release file's ca-certs and a numeric user give
// the digests gen gives with --ca-cert and --user (a dry run: nothing is
// pushed).
func TestReleaseCustom(t *testing.T) {
	integration(t)
	e := newReleaseEnv(t)
	testTLS(t, e.dir)
	release := `registry: ` + e.reg.Host + `/distroless
distros: [debian:trixie]
ca-certs: [ca.pem]
images:
  - profile: static
    users: [nonroot, "1234"]
`
	if err := os.WriteFile(filepath.Join(e.dir, "release.yaml"), []byte(release), 0o644); err != nil {
		t.Fatal(err)
	}
	res := e.release(t, "--dry-run")
	got := map[string]string{}
	for _, im := range res.Images {
		got[im.User] = im.Digest
	}
	ca := filepath.Join(e.dir, "ca.pem")
	for user, args := range map[string][]string{
		"nonroot": {"--ca-cert", ca},
		"1234":    {"--ca-cert", ca, "--user", "1234"},
	} {
		all := append([]string{"static", "--distro", "debian:trixie", "--cache-dir", testCache, "-o", "oci:" + filepath.Join(t.TempDir(), "o")}, args...)
		if d := genDigest(t, all...); d != got[user] {
			t.Errorf("user %s: release %s, gen %s", user, got[user], d)
		}
	}
	if got["nonroot"] == got["1234"] || len(got) != 2 {
		t.Errorf("release digests %v", got)
	}
	// Without the CA the image differs.
	if d := genDigest(t, "static", "--distro", "debian:trixie", "--cache-dir", testCache, "-o", "oci:"+filepath.Join(t.TempDir(), "o")); d == got["nonroot"] {
		t.Errorf("the CA changed nothing: %s", d)
	}
}
