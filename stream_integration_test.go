package distroless

// End-to-end tests of what gen does with packages that a signed archive
// vouches for but that cannot go into an image as they are: a .deb whose
// compressed data archive is damaged, and entries whose paths unpackers
// cannot create. The archive is packages/deb/debtest's, served on
// 127.0.0.1 and reached through a distro file.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/distroless-dev/distroless/packages/deb/debtest"
)

// writeArchiveKey writes the served test archive's public keys, armored,
// to file.
func writeArchiveKey(t *testing.T, a *debtest.Archive, file string) {
	t.Helper()
	var key bytes.Buffer
	w, err := armor.Encode(&key, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range a.Keyring {
		if err := e.Serialize(w); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if err := os.WriteFile(file, key.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// debtestDistro writes a distro file for a served test archive (suite
// "stable", component main) and returns its path.
func debtestDistro(t *testing.T, a *debtest.Archive) string {
	t.Helper()
	dir := t.TempDir()
	writeArchiveKey(t, a, filepath.Join(dir, "test-archive.asc"))
	def := fmt.Sprintf(`name: test:stable
format: deb
architectures: [amd64]
keyring: test-archive.asc
components: [main]
suites:
  - {name: stable, url: %q}
os-release:
  ID: debian
  PRETTY_NAME: Distroless (test)
`, a.URL)
	p := filepath.Join(dir, "test-stable.yaml")
	if err := os.WriteFile(p, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// debtestProfile writes a profile file of the given packages.
func debtestProfile(t *testing.T, name string, pkgs ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".yaml")
	b := "name: " + name + "\npackages:\n"
	for _, n := range pkgs {
		b += "  - " + n + "\n"
	}
	if err := os.WriteFile(p, []byte(b), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// debtestPkg is a package of one file, /usr/share/NAME/greeting.
func debtestPkg(name, version, greeting string, extra ...debtest.DebFile) debtest.Package {
	files := append([]debtest.DebFile{
		{Name: "./", Type: tar.TypeDir},
		{Name: "./usr/share/" + name + "/greeting", Body: []byte(greeting)},
	}, extra...)
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: amd64\nDescription: test", name, version)
	return debtest.Package{Name: name, Version: version, Deb: debtest.Deb(control, nil, files)}
}

// snapshotDir maps every file under dir to its content.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		m[strings.TrimPrefix(p, dir)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// arMemberSpan returns where the named member's data is in an ar archive.
func arMemberSpan(t *testing.T, ar []byte, name string) (start, size int) {
	t.Helper()
	for off := 8; off+60 <= len(ar); {
		n, err := strconv.Atoi(strings.TrimSpace(string(ar[off+48 : off+58])))
		if err != nil {
			t.Fatalf("ar header at %d: %v", off, err)
		}
		if strings.TrimSpace(string(ar[off:off+16])) == name {
			return off + 60, n
		}
		off += 60 + n + n%2
	}
	t.Fatalf("no %s member", name)
	return 0, 0
}

// debtestGen is a served test archive of one package, a profile of that
// package, and the OCI layout (tag v1) a first gen wrote from them with a
// cache of its own.
type debtestGen struct {
	a                                    *debtest.Archive
	distro, profile, layout, out, digest string
}

func newDebtestGen(t *testing.T, pkg debtest.Package) *debtestGen {
	t.Helper()
	g := &debtestGen{a: debtest.NewArchive(t, debtest.Suite{Name: "stable", Packages: []debtest.Package{pkg}})}
	g.distro = debtestDistro(t, g.a)
	g.profile = debtestProfile(t, pkg.Name, pkg.Name)
	g.layout = filepath.Join(t.TempDir(), "img")
	g.out = "oci:" + g.layout + ":v1"
	g.digest = genDigest(t, "-f", g.profile, "--distro", g.distro, "--cache-dir", filepath.Join(t.TempDir(), "cache"), "-o", g.out)
	return g
}

// TestGenCorruptStream: the signed index vouches for a .deb (its SHA-256
// is the damaged file's), but the .deb's data.tar.gz is damaged where the
// tar reader never looks: gen exits 1 naming the package, the existing
// output is untouched, and nothing of the package is in the unpack cache.
func TestGenCorruptStream(t *testing.T) {
	integration(t)
	good := debtestPkg("hello", "1.0-1", "hello, world\n")
	g := newDebtestGen(t, good)
	a, distroFile, profile, layout, out, base := g.a, g.distro, g.profile, g.layout, g.out, g.digest
	before := snapshotDir(t, layout)

	start, size := arMemberSpan(t, good.Deb, "data.tar.gz")
	for _, tc := range []struct {
		name string
		do   func(member []byte) []byte
		want string
	}{
		// gzip's trailer: CRC-32, then the size, of the uncompressed tar.
		{"CRC-32", func(m []byte) []byte { m[len(m)-6] ^= 0xff; return m }, "corrupt gzip stream"},
		{"size", func(m []byte) []byte { m[len(m)-1] ^= 0xff; return m }, "corrupt gzip stream"},
		{"trailing garbage", func(m []byte) []byte { return append(m, "garbage"...) }, "data follows the end of the stream"},
		{"truncated", func(m []byte) []byte { return m[:len(m)-3] }, "truncated gzip stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			member := tc.do(bytes.Clone(good.Deb[start : start+size]))
			var deb bytes.Buffer
			deb.Write(good.Deb[:start-60])
			fmt.Fprintf(&deb, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", "data.tar.gz", 1700000000, 0, 0, "100644", len(member))
			deb.Write(member)
			if len(member)%2 == 1 {
				deb.WriteByte('\n')
			}
			bad := good
			bad.Deb = deb.Bytes()
			a.SetSuite(debtest.Suite{Name: "stable", Packages: []debtest.Package{bad}})

			// A cache of its own: a cached InRelease is used for an hour.
			cache := filepath.Join(t.TempDir(), "cache")
			_, stderr, code := cli(t, "gen", "-f", profile, "--distro", distroFile, "--cache-dir", cache, "-o", out)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, stderr)
			}
			for _, w := range []string{"hello 1.0-1", "data.tar.gz", tc.want} {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			after := snapshotDir(t, layout)
			if len(after) != len(before) {
				t.Errorf("the output has %d files, had %d", len(after), len(before))
			}
			for p, b := range before {
				if after[p] != b {
					t.Errorf("the output's %s changed", p)
				}
			}
			sum := sha256.Sum256(bad.Deb)
			if _, err := os.Stat(filepath.Join(cache, "unpacked", hex.EncodeToString(sum[:])+".tar.zst")); err == nil {
				t.Error("the damaged package is in the unpack cache")
			}
			ents, _ := os.ReadDir(filepath.Join(cache, "unpacked"))
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), ".tmp-") {
					t.Errorf("a temporary file is left in the unpack cache: %s", e.Name())
				}
			}
		})
	}
	// The intact package again: the same image as before.
	a.SetSuite(debtest.Suite{Name: "stable", Packages: []debtest.Package{good}})
	if d := genDigest(t, "-f", profile, "--distro", distroFile, "--cache-dir", filepath.Join(t.TempDir(), "cache"), "-o", out); d != base {
		t.Errorf("digest %s after the failures, %s before", d, base)
	}
}

// TestGenPathLimits: paths at the limits go into an image that umoci
// unpacks; a package with a longer path, a longer name or a longer
// symlink target is refused by name.
func TestGenPathLimits(t *testing.T) {
	integration(t)
	// "/" plus 3838 bytes: components of 255 bytes at most.
	var long strings.Builder
	long.WriteString("./usr/share/edge")
	for i := 0; long.Len()-1 < 3839; i++ {
		left := 3839 - (long.Len() - 1) - 1
		c := min(left, 255)
		if left-c == 1 {
			c--
		}
		long.WriteString("/" + strings.Repeat(string(rune('a'+i%26)), c))
	}
	atLimit := long.String()
	if len(atLimit)-1 != 3839 {
		t.Fatalf("path of %d bytes", len(atLimit)-1)
	}
	wide := "./usr/share/edge/" + strings.Repeat("w", 255)
	target := "/" + strings.Repeat("t", 4094)
	edge := debtestPkg("edge", "1.0", "edge\n",
		debtest.DebFile{Name: atLimit, Body: []byte("deep\n")},
		debtest.DebFile{Name: wide, Body: []byte("wide\n")},
		debtest.DebFile{Name: "./usr/share/edge/far", Type: tar.TypeSymlink, Link: target})
	deep := debtestPkg("deep", "1.0", "deep\n", debtest.DebFile{Name: atLimit + "x", Body: []byte("x")})
	wider := debtestPkg("wider", "1.0", "wider\n", debtest.DebFile{Name: wide + "w", Body: []byte("x")})
	farther := debtestPkg("farther", "1.0", "farther\n", debtest.DebFile{Name: "./usr/share/farther/far", Type: tar.TypeSymlink, Link: target + "t"})
	a := debtest.NewArchive(t, debtest.Suite{Name: "stable", Packages: []debtest.Package{edge, deep, wider, farther}})
	distroFile := debtestDistro(t, a)
	cache := filepath.Join(t.TempDir(), "cache")
	layout := filepath.Join(t.TempDir(), "img")
	out := "oci:" + layout + ":v1"
	genDigest(t, "-f", debtestProfile(t, "edge", "edge"), "--distro", distroFile, "--cache-dir", cache, "-o", out)

	// umoci unpacks it into a bundle (its path plus "/rootfs/" and the
	// image path must stay under PATH_MAX: the limit leaves 256 bytes).
	bundle := filepath.Join(t.TempDir(), "bundle")
	if len(bundle) > 240 {
		t.Fatalf("bundle path of %d bytes", len(bundle))
	}
	args := []string{"unpack", "--image", layout + ":v1", bundle}
	if os.Geteuid() != 0 {
		args = []string{"unpack", "--rootless", "--image", layout + ":v1", bundle}
	}
	if b, err := exec.Command("umoci", args...).CombinedOutput(); err != nil {
		t.Fatalf("umoci %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	root := filepath.Join(bundle, "rootfs")
	if b, err := os.ReadFile(filepath.Join(root, atLimit)); err != nil || string(b) != "deep\n" {
		t.Errorf("the %d-byte path: %q, %v", len(atLimit)-1, b, err)
	}
	if b, err := os.ReadFile(filepath.Join(root, wide)); err != nil || string(b) != "wide\n" {
		t.Errorf("the 255-byte name: %q, %v", b, err)
	}
	if l, err := os.Readlink(filepath.Join(root, "usr/share/edge/far")); err != nil || l != target {
		t.Errorf("the 4095-byte symlink target: %d bytes, %v", len(l), err)
	}

	before := snapshotDir(t, layout)
	for _, tc := range []struct {
		pkg  string
		want []string
	}{
		{"deep", []string{"deep 1.0: path \"/usr/share/edge/", "is 3840 bytes long, more than the 3839"}},
		{"wider", []string{"wider 1.0: path \"/usr/share/edge/www", "has a name of 256 bytes"}},
		{"farther", []string{"farther 1.0: symlink \"/usr/share/farther/far\"", "is 4096 bytes long, more than the 4095"}},
	} {
		_, stderr, code := cli(t, "gen", "-f", debtestProfile(t, tc.pkg, tc.pkg), "--distro", distroFile, "--cache-dir", cache, "-o", out)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s", tc.pkg, code, stderr)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", tc.pkg, w, stderr)
			}
		}
		t.Logf("%s: %s", tc.pkg, strings.TrimSpace(stderr[strings.LastIndex(stderr, "distroless:"):]))
		if len(stderr) > 2000 {
			t.Errorf("%s: %d bytes of stderr: the path is not shortened", tc.pkg, len(stderr))
		}
	}
	after := snapshotDir(t, layout)
	for p, b := range before {
		if after[p] != b {
			t.Errorf("the output's %s changed", p)
		}
	}
}
