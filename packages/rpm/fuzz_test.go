package rpm

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
)

// The parsers take input from the network and from package files: none
// may panic, whatever the bytes. The seeds are well-formed inputs; go
// test runs them, go test -fuzz mutates them.

func FuzzParseRich(f *testing.F) {
	for _, s := range []string{"(a or b)", "(a if b else c)", "(x >= 1.0 with x < 2)", "((a or b) and c)", "(libc.so.6()(64bit) or b)", "(a", "(a or b and c)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseRich(s)
		if err == nil {
			checkDep(t, s, d)
		}
	})
}

// checkDep fails t unless d, parsed from s, is well formed: atoms with a
// name of one word (parentheses allowed: libc.so.6()(64bit)) that is
// no operator, a relation only with a version
// rpm parses, and operators with the operands their kind takes.
func checkDep(t *testing.T, s string, d packages.Dep) {
	t.Helper()
	switch d.Kind {
	case packages.DepAtom:
		a := d.Atom
		if a.Name == "" || strings.ContainsAny(a.Name, " \t\n") || isKnownOp(a.Name) || (a.Op == "") != (a.Version == "") {
			t.Fatalf("%q: atom %+v", s, a)
		}
		if a.Op != "" {
			if _, err := ParseEVR(a.Version); err != nil {
				t.Fatalf("%q: atom %+v: %v", s, a, err)
			}
		}
		if len(d.Args) != 0 {
			t.Fatalf("%q: an atom with operands", s)
		}
	case packages.DepOr, packages.DepAnd, packages.DepWith, packages.DepWithout:
		if len(d.Args) < 2 {
			t.Fatalf("%q: %s with %d operands", s, d, len(d.Args))
		}
	case packages.DepIf, packages.DepUnless:
		if len(d.Args) != 2 && len(d.Args) != 3 {
			t.Fatalf("%q: %s with %d operands", s, d, len(d.Args))
		}
	default:
		t.Fatalf("%q: kind %v", s, d.Kind)
	}
	for _, a := range d.Args {
		checkDep(t, s, a)
	}
}

func FuzzVercmp(f *testing.F) {
	for _, c := range vercmpCases {
		f.Add(c.a, c.b)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		x, y := vercmp(a, b), vercmp(b, a)
		if x != -y {
			t.Fatalf("vercmp(%q, %q) = %d but vercmp(%q, %q) = %d", a, b, x, b, a, y)
		}
		if a == b && x != 0 {
			t.Fatalf("Vercmp(%q, %q) = %d", a, b, x)
		}
	})
}

func FuzzParseEVR(f *testing.F) {
	for _, s := range []string{"1.0-1", "2:1.0-1.el9", ":1", "1:2:3", "a:b-c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEVR(s)
		if err != nil {
			return
		}
		// What it writes back parses to an equal version.
		e2, err := ParseEVR(e.String())
		if err != nil || compareEVR(e, e2) != 0 {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, e, e.String(), e2, err)
		}
	})
}

const seedPrimary = `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="1">
<package type="rpm">
  <name>demo</name>
  <arch>x86_64</arch>
  <version epoch="0" ver="1.0" rel="1"/>
  <checksum type="sha256" pkgid="YES">b4c1c50ac27a617d586d5d2d4b1d9cc85034004eda73f8a63b07b45dd388c95d</checksum>
  <size package="6933" installed="25" archive="808"/>
  <location href="demo-1.0-1.x86_64.rpm"/>
  <format>
    <rpm:sourcerpm>demo-1.0-1.src.rpm</rpm:sourcerpm>
    <rpm:provides>
      <rpm:entry name="demo" flags="EQ" epoch="0" ver="1.0" rel="1"/>
    </rpm:provides>
    <rpm:requires>
      <rpm:entry name="(glibc if bash)"/>
      <rpm:entry name="/bin/sh" pre="1"/>
      <rpm:entry name="libc.so.6()(64bit)"/>
      <rpm:entry name="libdemo" flags="GE" epoch="0" ver="1.0"/>
    </rpm:requires>
    <file>/usr/bin/demo</file>
  </format>
</package>
</metadata>
`

func FuzzPrimary(f *testing.F) {
	f.Add([]byte(seedPrimary))
	f.Add([]byte("<metadata><package><name>x</name></package></metadata>"))
	f.Add([]byte(strings.Replace(seedPrimary, "<name>", "<name>../../", 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var pkgs []sidecarPkg
		err := scanPrimary(data, func(off, end int64, x *xmlPackage) error {
			if off < 0 || end < off || end > int64(len(data)) {
				t.Fatalf("package range %d-%d of %d bytes", off, end, len(data))
			}
			if p, err := parsePackage(data[off:end], "http://example.invalid/repo", "r"); err == nil {
				_ = p.pkg.Depends
				// What the index accepts has a valid identity.
				if err := packages.CheckIdentity(Grammar, p.pkg.Name, p.pkg.Version, p.pkg.Arch); err != nil {
					t.Fatalf("accepted %q %q %q: %v", p.pkg.Name, p.pkg.Version, p.pkg.Arch, err)
				}
			}
			pkgs = append(pkgs, sidecarPkg{off: off, end: end, name: x.Name, arch: x.Arch})
			return nil
		})
		if err != nil {
			return
		}
		digest := strings.Repeat("ab", 32)
		side, err := buildSidecar(digest, int64(len(data)), pkgs)
		if err != nil {
			return
		}
		sc, err := parseSidecar(side, digest, int64(len(data)))
		if err != nil {
			t.Fatalf("a sidecar just built does not parse: %v", err)
		}
		for _, p := range pkgs {
			_ = sc.named(p.name)
		}
	})
}

func FuzzSidecar(f *testing.F) {
	digest := strings.Repeat("cd", 32)
	side, err := buildSidecar(digest, 100, []sidecarPkg{{off: 0, end: 50, name: "a", arch: "noarch", provides: []string{"x", "y"}, files: []string{"/usr/bin/a"}}, {off: 50, end: 100, name: "b", arch: "x86_64"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(side)
	f.Fuzz(func(t *testing.T, b []byte) {
		sc, err := parseSidecar(b, digest, 100)
		if err != nil {
			return
		}
		// What a parsed sidecar answers stays within it: package ranges
		// within the file, package numbers below the count.
		inRange := func(what string, is []int) {
			for _, i := range is {
				if i < 0 || i >= sc.n {
					t.Fatalf("%s: package %d of %d", what, i, sc.n)
				}
			}
		}
		for i := 0; i < sc.n; i++ {
			if off, end := sc.pkgRange(i); off < 0 || off > end || end > 100 {
				t.Fatalf("package %d: range %d-%d of a 100-byte file", i, off, end)
			}
			_ = sc.name(i) + sc.arch(i)
			if j := sc.sortedName(i); j < 0 || j >= sc.n {
				t.Fatalf("name order %d: package %d of %d", i, j, sc.n)
			}
			inRange("named", sc.named(sc.name(i)))
		}
		inRange("named", sc.named("a"))
		inRange("providers", sc.providers("x"))
		inRange("fileOwners", sc.fileOwners("/usr/bin/a"))
	})
}

func FuzzRepomd(f *testing.F) {
	f.Add([]byte(`<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision><data type="primary"><checksum type="sha256">` + strings.Repeat("a", 64) + `</checksum><open-checksum type="sha256">` + strings.Repeat("b", 64) + `</open-checksum><location href="repodata/p.xml.gz"/><size>10</size><open-size>20</open-size></data></repomd>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := parseRepomd("http://example.invalid/repodata/repomd.xml", b)
		if err != nil {
			return
		}
		for _, typ := range []string{"primary", "filelists", "modules"} {
			if e, err := md.need(typ); err == nil && (e.Href == "" || strings.Contains(e.Href, "..")) {
				t.Fatalf("accepted location %q", e.Href)
			}
		}
	})
}

func FuzzModules(f *testing.F) {
	f.Add([]byte("---\ndocument: modulemd\nversion: 2\ndata:\n  artifacts:\n    rpms: [a-0:1.0-1.noarch, b-2:3-4.x86_64]\n...\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		nevras, err := parseModules(b)
		if err != nil {
			return
		}
		// Each NEVRA is in the index's spelling already.
		for _, n := range nevras {
			if again, ok := normNEVRA(n); !ok || again != n {
				t.Fatalf("module artifact %q: normalised again %q, %v", n, again, ok)
			}
		}
	})
}

func FuzzFilelistAttrs(f *testing.F) {
	f.Add([]byte(`<package pkgid="abc" name="demo" arch="x86_64"><version epoch="0" ver="1" rel="1"/><file>/x</file>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgid, name, arch, ok := packageAttrs(b)
		if !ok {
			return
		}
		// The attributes read are what a package element with them,
		// written again, gives back.
		var w bytes.Buffer
		w.WriteString(`<package pkgid="`)
		xml.EscapeText(&w, []byte(pkgid))
		w.WriteString(`" name="`)
		xml.EscapeText(&w, []byte(name))
		w.WriteString(`" arch="`)
		xml.EscapeText(&w, []byte(arch))
		w.WriteString(`">`)
		p2, n2, a2, ok2 := packageAttrs(w.Bytes())
		if !ok2 || p2 != pkgid || n2 != name || a2 != arch {
			t.Fatalf("%q: read %q %q %q; written again %q: %q %q %q %v", b, pkgid, name, arch, w.Bytes(), p2, n2, a2, ok2)
		}
	})
}

// FuzzPackage reads mutated package files: headers, payload, and the
// rpm database blob.
func FuzzPackage(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "seed.noarch.rpm"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:200])
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "f.rpm")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if hd, err := readHeaders(bytes.NewReader(b)); err == nil {
			hd.files()
			hd.nevra()
			if id, err := hd.identity(); err == nil {
				if err := packages.CheckIdentity(Grammar, id.Name, id.Version, id.Arch); err != nil {
					t.Fatalf("identity %+v accepted: %v", id, err)
				}
			}
			installedBlob(hd, 1)
			for _, ix := range rpmdbIndexes {
				indexKeys(hd, ix.tag, ix.uniqueOnly, 1, binary.LittleEndian)
			}
		}
		_ = Payload{}.Walk(p, func(h *tar.Header, r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		})
	})
}
