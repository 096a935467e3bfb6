package distroless

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
	"github.com/distroless-dev/distroless/packages/rpm/rpmtest"
)

// debDistroFile writes a distro file for a debtest archive (one suite,
// its keyring next to it) and returns its path.
func debDistroFile(t *testing.T, a *debtest.Archive, suite string) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "test-key.asc"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := armor.Encode(f, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range a.Keyring {
		if err := e.Serialize(w); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	def := fmt.Sprintf(`name: test:deb
format: deb
architectures: [amd64]
keyring: test-key.asc
components: [main]
suites:
  - {name: %s, url: "%s"}
os-release:
  ID: testdeb
`, suite, a.URL)
	p := filepath.Join(dir, "test-deb.yaml")
	if err := os.WriteFile(p, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeProfile writes a profile file and returns its path.
func writeProfile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func helloDeb(control string) []byte {
	return debtest.Deb(control, nil, []debtest.DebFile{
		{Name: "./usr/", Type: '5'}, {Name: "./usr/share/", Type: '5'},
		{Name: "./usr/share/hello.txt", Body: []byte("hello\n")},
	})
}

// TestHostileIndexNames serves an index with a stanza whose name climbs
// out of status.d, and .debs whose own control file is not what the
// index says: resolve and gen refuse them, naming the package, and no
// image is written.
func TestHostileIndexNames(t *testing.T) {
	good := helloDeb("Package: hello\nVersion: 1.0-1\nArchitecture: amd64\n")
	const traversal = "../../usr/share/x"
	evil := debtest.Deb("Package: "+traversal+"\nVersion: 1.0\nArchitecture: amd64\n", nil, []debtest.DebFile{
		{Name: "./usr/", Type: '5'}, {Name: "./usr/share/x", Body: []byte("evil\n")},
	})
	raw := fmt.Sprintf("Package: %s\nVersion: 1.0\nArchitecture: amd64\nProvides: evil\nFilename: pool/main/e/evil.deb\nSize: %d\nSHA256: %s\n",
		traversal, len(evil), debtest.Digest(evil))
	a := debtest.NewArchive(t, debtest.Suite{Name: "s", Packages: []debtest.Package{
		{Name: "hello", Version: "1.0-1", Deb: good},
		{Name: "needs-evil", Version: "1.0", Depends: "evil", Deb: helloDeb("Package: needs-evil\nVersion: 1.0\nArchitecture: amd64\n")},
		{Raw: raw},
		// A hostile version.
		{Raw: "Package: bad-version\nVersion: 1.0-1/../../x\nArchitecture: amd64\nFilename: pool/main/b/b.deb\nSize: 1\nSHA256: " + strings.Repeat("0", 64) + "\n"},
		{Name: "renamed", Version: "1.0", Deb: helloDeb("Package: hello\nVersion: 1.0-1\nArchitecture: amd64\n")},
		{Name: "reversioned", Version: "1.0", Deb: helloDeb("Package: reversioned\nVersion: 6.6\nArchitecture: amd64\n")},
		{Name: "rearched", Version: "1.0", Deb: helloDeb("Package: rearched\nVersion: 1.0\nArchitecture: arm64\n")},
	}})
	a.SetFile("pool/main/e/evil.deb", evil)
	distroFile := debDistroFile(t, a, "s")

	// The sane package resolves and builds from the same index.
	cache := filepath.Join(t.TempDir(), "cache")
	prof := writeProfile(t, "name: app\npackages: [hello]\n")
	genDigest(t, "-f", prof, "--distro", distroFile, "--cache-dir", cache, "-o", "oci:"+filepath.Join(t.TempDir(), "ok")+":v1")
	if ents, _ := os.ReadDir(filepath.Join(cache, "unpacked")); len(ents) == 0 {
		t.Fatal("a good build left nothing in the unpack cache; the checks below would prove nothing")
	}

	for _, c := range []struct {
		name string
		pkg  string
		cmd  string
		want []string
	}{
		{"traversal name through Provides", "needs-evil", "resolve", []string{traversal, "refused", "not a Debian package name"}},
		{"traversal name through Provides, gen", "needs-evil", "gen", []string{traversal, "refused"}},
		{"bad version", "bad-version", "resolve", []string{"bad-version", "1.0-1/../../x", "refused"}},
		{"control names another package", "renamed", "gen", []string{"renamed", "name is \"hello\"", "says \"renamed\""}},
		{"control has another version", "reversioned", "gen", []string{"reversioned", "version is \"6.6\"", "says \"1.0\""}},
		{"control has another architecture", "rearched", "gen", []string{"rearched", "architecture is \"arm64\"", "says \"amd64\""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			prof := writeProfile(t, "name: app\npackages: ["+c.pkg+"]\n")
			cache := filepath.Join(t.TempDir(), "cache")
			out := filepath.Join(t.TempDir(), "img")
			args := []string{c.cmd, "-f", prof, "--distro", distroFile, "--cache-dir", cache}
			if c.cmd == "gen" {
				args = append(args, "-o", "oci:"+out+":v1")
			}
			_, stderr, code := cli(t, args...)
			t.Logf("%s", stderr)
			wantRefused(t, stderr, code, c.want, out)
			// Nothing of a package that is not the one named is cached.
			ents, _ := os.ReadDir(filepath.Join(cache, "unpacked"))
			for _, e := range ents {
				t.Errorf("unpack cache holds %s", e.Name())
			}
		})
	}
}

// TestHostileLockfileAndProfile: a lockfile or profile file naming a
// package the format's grammar refuses is an error naming the file (and,
// for a profile, the line), before anything is downloaded.
func TestHostileLockfileAndProfile(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	lockOf := func(name, version, arch string) string {
		l := lockfile.Lock{Version: lockfile.Version, Profile: "app", Distro: "debian:bookworm", Arch: "amd64",
			Packages: []lockfile.Package{{Name: name, Version: version, Arch: arch, Layer: "app", SHA256: strings.Repeat("a", 64), Size: 1,
				Path: "pool/x.deb", URL: "http://127.0.0.1:9/pool/x.deb"}}}
		b, _ := json.Marshal(l)
		p := filepath.Join(t.TempDir(), "app.lock")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	prof := writeProfile(t, "name: app\npackages: [hello]\n")
	for _, c := range []struct{ name, version, arch, want string }{
		{"../../usr/share/x", "1.0", "amd64", "not a Debian package name"},
		{"hello", "1.0/../x", "amd64", "version"},
		{"hello", "1.0", "../amd64", "architecture"},
		{"Hello", "1.0", "amd64", "not a Debian package name"}, // an RPM name, but the distro is Debian
	} {
		lock := lockOf(c.name, c.version, c.arch)
		_, stderr, code := cli(t, "gen", "-f", prof, "--lock", lock, "--cache-dir", cache, "-o", "oci:"+filepath.Join(t.TempDir(), "img")+":v1")
		if code != 1 || !strings.Contains(stderr, "lockfile "+lock) || !strings.Contains(stderr, c.want) {
			t.Errorf("lockfile with %s %s %s: exit %d\n%s", c.name, c.version, c.arch, code, stderr)
		}
	}
	if ents, _ := os.ReadDir(cache); len(ents) > 0 {
		t.Errorf("a refused lockfile downloaded something: %v", ents)
	}

	bad := writeProfile(t, "name: app\npackages:\n  - hello\n  - name: ../../etc/passwd\n")
	_, stderr, code := cli(t, "resolve", "-f", bad, "--distro", "debian:bookworm", "--cache-dir", cache)
	if code == 0 || !strings.Contains(stderr, "profile "+bad) || !strings.Contains(stderr, "line 4") || !strings.Contains(stderr, "../../etc/passwd") {
		t.Errorf("profile with a bad name: exit %d\n%s", code, stderr)
	}
	// A name any format allows but the profile's own format does not.
	bad = writeProfile(t, "name: app\nformat: deb\npackages:\n  - hello\n  - PyYAML\n")
	_, stderr, code = cli(t, "gen", "-f", bad, "--distro", "debian:bookworm", "--cache-dir", cache, "-o", "oci:"+filepath.Join(t.TempDir(), "o"))
	if code == 0 || !strings.Contains(stderr, "profile "+bad) || !strings.Contains(stderr, "line 5") || !strings.Contains(stderr, "not a Debian package name") {
		t.Errorf("profile with an upper-case name in a Debian profile: exit %d\n%s", code, stderr)
	}
	bad = writeProfile(t, "name: app\nformat: deb\npackages: [hello]\nprune:\n  - name: ok\n  - name: 'a b'\n")
	_, stderr, code = cli(t, "resolve", "-f", bad, "--distro", "debian:bookworm", "--cache-dir", cache)
	if code == 0 || !strings.Contains(stderr, "profile "+bad) || !strings.Contains(stderr, "line 6") || !strings.Contains(stderr, "prune[1]") {
		t.Errorf("profile with a bad prune name: exit %d\n%s", code, stderr)
	}
	for _, flag := range []string{"--add", "--exclude"} {
		_, stderr, code = cli(t, "resolve", "-f", prof, flag, "../x", "--distro", "debian:bookworm", "--cache-dir", cache)
		if code != 2 || !strings.Contains(stderr, flag) || !strings.Contains(stderr, "../x") {
			t.Errorf("%s ../x: exit %d, want 2 (a usage error)\n%s", flag, code, stderr)
		}
	}
	if ents, _ := os.ReadDir(cache); len(ents) > 0 {
		t.Errorf("a refused profile or flag downloaded something: %v", ents)
	}
}

// TestHostileRPMNames serves a copy of the test RPM repositories whose
// primary.xml (signed again) names a package "../../usr/share/x" and
// gives another package a release its header does not have: the first is
// refused and named, the second fails gen naming both releases.
func TestHostileRPMNames(t *testing.T) {
	t.Parallel() // hermetic, and mostly waiting (retries, rpmbuild): overlaps the others
	fx := rpmFixture(t)
	root := t.TempDir()
	if out, err := exec.Command("cp", "-a", filepath.Dir(fx.Repos["releases"])+"/.", root).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	rel := filepath.Join(root, "releases")
	err := rpmtest.RewritePrimary(rel, func(b []byte) []byte {
		s := string(b)
		if !strings.Contains(s, "<name>libgomp</name>") {
			t.Fatal("no libgomp in primary.xml")
		}
		s = strings.Replace(s, "<name>libgomp</name>", "<name>../../usr/share/x</name>", 1)
		i := strings.Index(s, "<name>setup</name>")
		j := i + strings.Index(s[i:], `rel="1"`)
		if i < 0 || j < i {
			t.Fatal("no setup version in primary.xml")
		}
		return []byte(s[:j] + `rel="2"` + s[j+len(`rel="1"`):])
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.SignRepomd(fx.GPGHome, rel); err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(http.FileServer(http.Dir(root)))
	defer s.Close()
	distroFile := rpmDistroFile(t, s.URL, fx.KeyFile)

	prof := writeProfile(t, "name: app\nformat: rpm\npackages: [libgomp]\n")
	_, stderr, code := cli(t, "resolve", "-f", prof, "--distro", distroFile, "--cache-dir", filepath.Join(t.TempDir(), "cache"))
	t.Logf("%s", stderr)
	if code != 1 || !strings.Contains(stderr, "../../usr/share/x") || !strings.Contains(stderr, "refused") || !strings.Contains(stderr, "not an RPM package name") {
		t.Errorf("resolve of a package only a refused entry provides: exit %d\n%s", code, stderr)
	}

	prof = writeProfile(t, "name: app\nformat: rpm\npackages: [setup]\n")
	cache := filepath.Join(t.TempDir(), "cache")
	out := filepath.Join(t.TempDir(), "img")
	_, stderr, code = cli(t, "gen", "-f", prof, "--distro", distroFile, "--cache-dir", cache, "-o", "oci:"+out+":v1")
	t.Logf("%s", stderr)
	if code != 1 || !strings.Contains(stderr, "package setup 2.13-2") || !strings.Contains(stderr, `own version is "2.13-1"`) {
		t.Errorf("gen of a package whose header has another release: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("an image was written to %s", out)
	}
	ents, _ := os.ReadDir(filepath.Join(cache, "unpacked"))
	for _, e := range ents {
		t.Errorf("unpack cache holds %s", e.Name())
	}

	// The same repositories, unedited, build setup.
	good := rpmDistroFile(t, rpmRepoURL, fx.KeyFile)
	genDigest(t, "-f", prof, "--distro", good, "--cache-dir", cache, "-o", "oci:"+filepath.Join(t.TempDir(), "ok")+":v1")
}

// wantRefused: a command exited 1, its stderr names every one of want,
// and it wrote no image to out.
func wantRefused(t *testing.T, stderr string, code int, want []string, out string) {
	t.Helper()
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("an image was written to %s", out)
	}
}
