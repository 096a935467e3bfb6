package rpmtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildShared: two copies of the shared build are the same fixture
// (key, packages) in two directories, with every path in its own; a
// change to one copy is not seen by the other.
func TestBuildShared(t *testing.T) {
	if testing.Short() {
		t.Skip("rpmbuild: skipped with -short; the full test command runs it")
	}
	if why := Supported(); why != "" {
		t.Fatal(why)
	}
	a, err := BuildShared(filepath.Join(t.TempDir(), "a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuildShared(filepath.Join(t.TempDir(), "b"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint == "" || a.Fingerprint != b.Fingerprint || len(a.RPMs) == 0 || len(a.RPMs) != len(b.RPMs) || string(a.TrustedCA) != string(b.TrustedCA) {
		t.Fatalf("two copies differ: %s/%s, %d/%d packages", a.Fingerprint, b.Fingerprint, len(a.RPMs), len(b.RPMs))
	}
	for _, f := range []*Fixture{a, b} {
		paths := []string{f.KeyFile, f.OtherKeyFile, f.GPGHome, f.OtherGPGHome, f.Repos["releases"], f.Repos["updates"]}
		for _, p := range f.RPMs {
			paths = append(paths, p)
		}
		for _, p := range paths {
			if !strings.HasPrefix(p, f.Dir+"/") {
				t.Errorf("%s is outside the copy %s", p, f.Dir)
			}
			if _, err := os.Stat(p); err != nil {
				t.Error(err)
			}
		}
	}
	// A copy is the test's to change: re-signing one leaves the other.
	md := filepath.Join(b.Repos["releases"], "repodata", "repomd.xml.asc")
	before, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SignRepomd(a.OtherGPGHome, a.Repos["releases"]); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(md)
	if err != nil || string(after) != string(before) {
		t.Errorf("re-signing one copy changed the other's signature (%v)", err)
	}
	if signed, err := os.ReadFile(filepath.Join(a.Repos["releases"], "repodata", "repomd.xml.asc")); err != nil || string(signed) == string(before) {
		t.Errorf("re-signing with the other key left the signature as it was (%v)", err)
	}
}
