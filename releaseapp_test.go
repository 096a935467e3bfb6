package distroless

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/releasefile"
)

func TestCheckReleaseApps(t *testing.T) {
	web := releasefile.App{NpmLock: "web/package-lock.json"}
	ims := []releasefile.Image{
		{Name: "web", Profile: "nodejs", Distro: "debian:bookworm", User: "root", Line: 3, App: web},
		{Name: "web", Profile: "nodejs", Distro: "debian:bookworm", User: "nonroot", Line: 3, App: web},
		{Name: "web", Profile: "nodejs", Distro: "debian:trixie", Line: 3},
		{Name: "api", ProfileFile: "api.yaml", Distro: "debian:bookworm", Line: 7, App: releasefile.App{NpmLock: "api/package-lock.json"}},
	}
	if err := checkReleaseApps(ims); err != nil {
		t.Errorf("users of one image, another distro, another profile: %v", err)
	}
	ims = append(ims, releasefile.Image{Name: "plain", Profile: "nodejs", Distro: "debian:bookworm", Line: 9})
	err := checkReleaseApps(ims)
	if err == nil || !strings.Contains(err.Error(), "images web (line 3) and plain (line 9) are one profile on debian:bookworm with other application inputs") {
		t.Errorf("a plain nodejs beside an npm one: %v", err)
	}
}

// TestReleaseAppInputs: a release image's inputs digest changes with its
// requirements file and with any wheel of its wheel directory (by name
// or content), so that a changed application is a changed image.
func TestReleaseAppInputs(t *testing.T) {
	dir := t.TempDir()
	req := filepath.Join(dir, "requirements.txt")
	wheels := filepath.Join(dir, "wheels")
	if err := os.MkdirAll(wheels, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(req, "a==1 --hash=sha256:"+strings.Repeat("0", 64)+"\n")
	write(filepath.Join(wheels, "a-1-py3-none-any.whl"), "one")
	digest := func(a releasefile.App) string {
		t.Helper()
		parts, err := releaseAppInputs(a, nil)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(parts, "\x00")
	}
	withReq := releasefile.App{PythonRequirements: req, PythonIndex: "http://127.0.0.1:9/simple/"}
	withWheels := releasefile.App{PythonWheels: wheels}
	r0, w0 := digest(withReq), digest(withWheels)
	if r0 == w0 || r0 == digest(releasefile.App{}) {
		t.Fatal("the python inputs count for nothing")
	}
	write(req, "a==2 --hash=sha256:"+strings.Repeat("1", 64)+"\n")
	write(filepath.Join(wheels, "a-1-py3-none-any.whl"), "two")
	r1, w1 := digest(withReq), digest(withWheels)
	if r1 == r0 || w1 == w0 {
		t.Error("a changed requirements file or wheel leaves the inputs the same")
	}
	if err := os.Rename(filepath.Join(wheels, "a-1-py3-none-any.whl"), filepath.Join(wheels, "a-2-py3-none-any.whl")); err != nil {
		t.Fatal(err)
	}
	if digest(withWheels) == w1 {
		t.Error("a renamed wheel leaves the inputs the same")
	}
	if _, err := releaseAppInputs(releasefile.App{PythonWheels: filepath.Join(dir, "none")}, nil); err == nil {
		t.Error("a missing wheel directory is not an error")
	}
}
