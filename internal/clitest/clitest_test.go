package clitest

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestRun: output, exit status, directory, environment and launcher reach
// the program as Cmd says; a program killed at its timeout is an error,
// not an exit status.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	r := Run(t, "/bin/sh", Cmd{Dir: dir, Env: []string{"CLITEST_X=y"}},
		"-c", `echo "$PWD $CLITEST_X"; echo err >&2; exit 3`)
	if r.Stdout != dir+" y\n" || r.Stderr != "err\n" || r.Code != 3 {
		t.Errorf("Run = %+v", r)
	}
	r = Run(t, "/bin/sh", Cmd{Environ: []string{"A=1"}}, "-c", `echo "${A}${HOME:-nohome}"`)
	if r.Stdout != "1nohome\n" || r.Code != 0 {
		t.Errorf("Environ: %+v", r)
	}
	r = Run(t, "/bin/sh", Cmd{Wrap: []string{"/bin/sh", "-c", `echo wrapped; exec "$@"`, "sh"}}, "-c", "echo inner")
	if r.Stdout != "wrapped\ninner\n" {
		t.Errorf("Wrap: %+v", r)
	}
	if _, err := Exec("/bin/sh", Cmd{Timeout: 100 * time.Millisecond}, "-c", "exec sleep 10"); err == nil {
		t.Error("a program killed at its timeout gave no error")
	}
	if _, err := Exec(filepath.Join(dir, "missing"), Cmd{}); err == nil {
		t.Error("a missing program gave no error")
	}
}

// TestReadLayout: a layout go-containerregistry writes reads back: its
// tags, the tagged image's manifest and every layer's entries; a damaged
// blob fails the reader.
func TestReadLayout(t *testing.T) {
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{RefName: "v1"})); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if tags := TagDigests(t, dir); len(tags) != 1 || tags["v1"] != d.String() {
		t.Errorf("TagDigests = %v, want v1 → %s", tags, d)
	}
	l := ReadLayout(t, dir, "v1")
	if l.Desc.Digest != d.String() || len(l.LayerDigests()) != 2 || l.Manifest.MediaType != string(types.DockerManifestSchema2) {
		t.Errorf("ReadLayout: %+v", l)
	}
	entries := 0
	WalkLayers(t, dir, "v1", func(layer int, h *tar.Header, r io.Reader) {
		b, err := io.ReadAll(r)
		if err != nil || int64(len(b)) != h.Size {
			t.Errorf("layer %d: %s: %d bytes, %v", layer, h.Name, len(b), err)
		}
		entries++
	})
	if entries != 2 {
		t.Errorf("%d entries in 2 random layers, want 2", entries)
	}
	// A damaged layer blob is caught, in a subtest whose failure is expected.
	ld := l.Manifest.Layers[0]
	blob := filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(ld.Digest, "sha256:"))
	if err := os.WriteFile(blob, []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	ft := &fakeT{TB: t}
	func() {
		defer func() { recover() }()
		ReadLayout(ft, dir, "v1")
	}()
	if !ft.failed || !strings.Contains(ft.msg, ld.Digest) {
		t.Errorf("a damaged blob: failed %v, %q", ft.failed, ft.msg)
	}
}

// fakeT records a fatal failure instead of ending the test.
type fakeT struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
	panic("fatal")
}
func (f *fakeT) Errorf(format string, args ...any) {
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
}
