package deb

import (
	"path/filepath"
	"testing"
)

func TestHostMirrors(t *testing.T) {
	for _, tc := range []struct {
		root, archive, security string
	}{
		{"oneline", "http://archive.example.org/debian", "http://security.example.org/debian-security"},
		{"deb822", "http://archive.example.org/debian", "http://security.example.org/debian-security"},
		{"mirrorfile", "https://archive.example.org/debian", "https://security.example.org/debian-security"},
	} {
		t.Run(tc.root, func(t *testing.T) {
			a, s, err := HostMirrors(filepath.Join("testdata", tc.root))
			if err != nil {
				t.Fatal(err)
			}
			if a != tc.archive || s != tc.security {
				t.Errorf("HostMirrors = %q, %q; want %q, %q", a, s, tc.archive, tc.security)
			}
		})
	}
	if _, _, err := HostMirrors(filepath.Join("testdata", "empty")); err == nil {
		t.Error("no error for a root without sources")
	}
	if _, _, err := HostMirrors(filepath.Join("testdata", "missing")); err == nil {
		t.Error("no error for a missing root")
	}
}
