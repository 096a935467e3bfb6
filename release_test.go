package distroless

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReleasePlatforms: a release file's platforms are those gen builds
// (arm/v7, ppc64le, … by any of their names), each image keeping the
// file's order; a platform gen cannot build is an error naming the line.
func TestReleasePlatforms(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "release.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, ims, err := releaseUsage(write("registry: r.example.com\nplatforms: [linux/arm/v7, ppc64el, linux/amd64]\nimages: [static]\n"), "20260101")
	if err != nil {
		t.Fatal(err)
	}
	if len(ims) != 1 || strings.Join(ims[0].Platforms, ",") != "arm,ppc64le,amd64" {
		t.Fatalf("images %+v", ims)
	}
	for body, want := range map[string]string{
		"registry: r.example.com\nplatforms:\n  - linux/amd64\n  - linux/mips64el\nimages: [static]\n": "line 4",
		"registry: r.example.com\nplatforms: [windows/amd64]\nimages: [static]\n":                      "only linux",
		"registry: r.example.com\nplatforms: [\"amd64,arm64\"]\nimages: [static]\n":                    "one platform per list item",
		"registry: r.example.com\nplatforms: [linux/amd64, amd64]\nimages: [static]\n":                 "amd64",
	} {
		if _, _, err := releaseUsage(write(body), "20260101"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", body, err, want)
		}
	}
}
