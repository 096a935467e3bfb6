package deb

import (
	"bytes"
	"slices"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
)

func fingerprints(el openpgp.EntityList) []string {
	var out []string
	for _, e := range el {
		fp := string(e.PrimaryKey.Fingerprint)
		for _, s := range e.Subkeys {
			fp += "/" + string(s.PublicKey.Fingerprint)
		}
		for n := range e.Identities {
			fp += "|" + n
		}
		out = append(out, fp)
	}
	return out
}

// TestReadKeyRingParallel: the embedded keyring read in parts on every
// core gives the entities ReadKeyRing gives, in its order, with the same
// subkeys and identities; a keyring that cannot be cut cleanly, or whose
// part fails, is read whole, as ReadKeyRing reads it.
func TestReadKeyRingParallel(t *testing.T) {
	want, err := openpgp.ReadKeyRing(bytes.NewReader(debianArchiveKeyring))
	if err != nil {
		t.Fatal(err)
	}
	parts, ok := splitEntities(debianArchiveKeyring)
	if !ok || len(parts) != len(want) {
		t.Fatalf("split into %d parts (ok %v), want %d", len(parts), ok, len(want))
	}
	got, err := readKeyRing(debianArchiveKeyring)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fingerprints(got), fingerprints(want)) {
		t.Fatalf("parallel read differs:\n%q\nwant\n%q", fingerprints(got), fingerprints(want))
	}
	for i, e := range got {
		if len(e.Subkeys) != len(want[i].Subkeys) || len(e.Revocations) != len(want[i].Revocations) {
			t.Fatalf("entity %d: %d subkeys, %d revocations; want %d, %d", i, len(e.Subkeys), len(e.Revocations), len(want[i].Subkeys), len(want[i].Revocations))
		}
	}

	// Damaged keyrings: cut short, a byte changed in a self-signature,
	// garbage before the first key. Each reads as ReadKeyRing reads it.
	sig := bytes.Index(debianArchiveKeyring[len(parts[0]):], []byte{0x89, 0x02}) // an old-format signature packet
	for name, data := range map[string][]byte{
		"truncated":    debianArchiveKeyring[:len(debianArchiveKeyring)-100],
		"leading junk": append([]byte{0x00, 0x01, 0x02}, debianArchiveKeyring...),
		"bad signature": func() []byte {
			b := bytes.Clone(debianArchiveKeyring)
			if sig >= 0 {
				b[len(parts[0])+sig+40] ^= 0xff
			}
			return b
		}(),
	} {
		want, werr := openpgp.ReadKeyRing(bytes.NewReader(data))
		got, gerr := readKeyRing(data)
		if (werr == nil) != (gerr == nil) || !slices.Equal(fingerprints(got), fingerprints(want)) {
			t.Errorf("%s: got %d entities (%v), want %d (%v)", name, len(got), gerr, len(want), werr)
		}
	}
}

func BenchmarkReadKeyRing(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := openpgp.ReadKeyRing(bytes.NewReader(debianArchiveKeyring)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		for b.Loop() {
			if _, err := readKeyRing(debianArchiveKeyring); err != nil {
				b.Fatal(err)
			}
		}
	})
}
