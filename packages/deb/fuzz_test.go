package deb

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
)

// Bad input must produce errors, never panics.

func FuzzParseStanza(f *testing.F) {
	f.Add([]byte("Package: a\nVersion: 1:2.0~rc1-1\nArchitecture: amd64\nDepends: b (>= 1) | c:any [amd64] <!nocheck>, d\nProvides: e (= 1), f\nFilename: pool/a.deb\nSize: 1\nSHA256: 00\n"))
	f.Add([]byte("Package: a\nDepends: b (>= \n"))
	f.Add([]byte("Package: a\nProvides: x (= !!), ${foo\n"))
	f.Add([]byte("garbage"))
	f.Add([]byte("Package: ../../usr/share/x\nVersion: 1\nArchitecture: amd64\nFilename: pool/a.deb\nSize: 1\nSHA256: 00\n"))
	f.Fuzz(func(t *testing.T, stanza []byte) {
		// What the index accepts, and what a control file may say of
		// itself, has a valid identity.
		if d, err := parseStanza(stanza, "http://m", "s", "amd64"); err == nil {
			if err := packages.CheckIdentity(Grammar, d.pkg.Name, d.pkg.Version, d.pkg.Arch); err != nil {
				t.Fatalf("accepted %q %q %q: %v", d.pkg.Name, d.pkg.Version, d.pkg.Arch, err)
			}
		}
		if id, err := controlIdentity(stanza); err == nil {
			if err := packages.CheckIdentity(Grammar, id.Name, id.Version, id.Arch); err != nil {
				t.Fatalf("control identity %+v accepted: %v", id, err)
			}
		}
	})
}

func FuzzSidecar(f *testing.F) {
	data := []byte("Package: a\nArchitecture: amd64\nProvides: b, c (= 1)\n\nPackage: b\nArchitecture: all\n")
	sha := "0000000000000000000000000000000000000000000000000000000000000000"
	side, err := buildSidecar(data, sha)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(side, data)
	f.Add([]byte("DLDEBIX1"), []byte(""))
	f.Fuzz(func(t *testing.T, side, data []byte) {
		// The checksum would reject random damage; test the bounds
		// checks behind it by recomputing it.
		if len(side) >= sidecarHeader {
			fixCRC(side)
		}
		sc, err := parseSidecar(side, sha, int64(len(data)))
		if err != nil {
			return
		}
		for i := 0; i < sc.n; i++ {
			off, l, _, _ := sc.stanza(i)
			_ = data[off : off+l]
			sc.nameOf(i)
			sc.archOf(i)
		}
		sc.byName("a")
		sc.byProvides("b")
		// And the builder on arbitrary data.
		if s2, err := buildSidecar(data, sha); err != nil {
			t.Fatal(err)
		} else if _, err := parseSidecar(s2, sha, int64(len(data))); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzInRelease(f *testing.F) {
	f.Add([]byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nSuite: x\n-----BEGIN PGP SIGNATURE-----\n\nwnUEARYIAB0WIQQ=\n=abcd\n-----END PGP SIGNATURE-----\n"))
	f.Add([]byte("Suite: x\n"))
	// A well-formed InRelease signed by a key of no keyring here.
	f.Add(debtest.Clearsign(f, []byte("Suite: x\nCodename: x\nSHA256:\n "+strings.Repeat("0", 64)+" 1 main/binary-amd64/Packages\n"), debtest.NewKey(f, "stranger")))
	kr, err := DebianKeyring()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		verifyInRelease("u", raw, kr, time.Now(), false)
		// Without a key, nothing verifies, whatever it says.
		if r, err := verifyInRelease("u", raw, openpgp.EntityList{}, time.Now(), false); err == nil {
			t.Fatalf("verified against an empty keyring: %v", r.Fields)
		}
		// The packets are pieces of the input, in order.
		rest := raw
		for _, p := range splitPackets(raw) {
			if !bytes.HasPrefix(rest, p) {
				t.Fatalf("packet % x is not the next piece of the input", p)
			}
			rest = rest[len(p):]
		}
		// The header's lines are the input's, but for the SHA256 field,
		// which it only says is there; the checksum lines are the input's.
		header, lines := splitChecksumFields(raw)
		for _, l := range bytes.SplitAfter(header, []byte("\n")) {
			if !bytes.Equal(l, []byte("SHA256: present\n")) && !bytes.Contains(raw, l) {
				t.Fatalf("header line %q is not in the input", l)
			}
		}
		for _, l := range lines {
			if !bytes.Contains(raw, []byte(l)) {
				t.Fatalf("checksum line %q is not in the input", l)
			}
		}
	})
}

func TestBuildSidecarEdgeCases(t *testing.T) {
	sha := "0000000000000000000000000000000000000000000000000000000000000000"
	for _, data := range []string{
		"",
		"\n\n\n",
		"Package: a\nArchitecture: amd64", // no final newline
		"Package: a\nArchitecture: amd64\nProvides: x,\n y (= 1),\n\tz\n\n\n\nPackage: b\n",
		"Description: no package\n\nPackage: c\nArchitecture: all\n",
	} {
		side, err := buildSidecar([]byte(data), sha)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := parseSidecar(side, sha, int64(len(data)))
		if err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		for i := 0; i < sc.n; i++ {
			off, l, _, _ := sc.stanza(i)
			st := data[off : off+l]
			if !bytes.HasPrefix([]byte(st), []byte("Package: ")) {
				t.Errorf("%q: stanza %q", data, st)
			}
		}
	}
	data := "Package: a\nArchitecture: amd64\nProvides: x,\n y (= 1),\n\tz\n"
	side, _ := buildSidecar([]byte(data), sha)
	sc, _ := parseSidecar(side, sha, int64(len(data)))
	for _, p := range []string{"x", "y", "z"} {
		if got := sc.byProvides(p); len(got) != 1 {
			t.Errorf("provides %s: %v", p, got)
		}
	}
}

func fixCRC(side []byte) {
	putCRC(side)
}
