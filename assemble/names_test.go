package assemble

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
)

// walkOnly is a payload reader without the identity check, to reach the
// assembler's own guards.
type walkOnly struct{ p deb.Payload }

func (w walkOnly) Walk(file string, fn func(h *tar.Header, r io.Reader) error) error {
	return w.p.Walk(file, fn)
}
func (w walkOnly) PackageDB(in []packages.Installed, created time.Time) ([]packages.DBFile, error) {
	return w.p.PackageDB(in, created)
}

func TestStatusNamesGuarded(t *testing.T) {
	dir := t.TempDir()
	mk := func(file, name, version, control string, md5 bool) Unpack {
		p := filepath.Join(dir, file+".deb")
		var extra map[string][]byte
		if md5 {
			extra = map[string][]byte{"md5sums": []byte("0123456789abcdef0123456789abcdef  usr/share/x\n")}
		}
		if err := os.WriteFile(p, debtest.Deb(control, extra, []debtest.DebFile{{Name: "./usr/", Type: tar.TypeDir}}), 0o644); err != nil {
			t.Fatal(err)
		}
		return Unpack{File: p, Pkg: &packages.Package{Name: name, Version: version, Arch: "amd64"}}
	}
	build := func(payload packages.Payload, us ...Unpack) error {
		_, _, err := Build(context.Background(), Spec{Payload: payload, Arch: "amd64", Layers: []Layer{{Name: "l", Packages: us}}})
		return err
	}

	// A package named like another's md5sums file cannot replace it.
	tool := mk("tool", "tool", "1.0", "Package: tool\nVersion: 1.0\nArchitecture: amd64\n", true)
	shadow := mk("shadow", "tool.md5sums", "1.0", "Package: tool.md5sums\nVersion: 1.0\nArchitecture: amd64\n", false)
	err := build(deb.Payload{}, tool, shadow)
	if err == nil || !strings.Contains(err.Error(), "would both write /var/lib/dpkg/status.d/tool.md5sums") {
		t.Errorf("tool and tool.md5sums: %v", err)
	}
	if err := build(deb.Payload{}, tool); err != nil {
		t.Errorf("tool alone: %v", err)
	}

	// A name that climbs out of status.d, past every other check.
	evil := mk("evil", "../../usr/share/x", "1.0", "Package: ../../usr/share/x\nVersion: 1.0\nArchitecture: amd64\n", false)
	err = build(walkOnly{}, evil)
	if err == nil || !strings.Contains(err.Error(), "cannot be a file name in /var/lib/dpkg/status.d") {
		t.Errorf("../../usr/share/x through a reader without identity check: %v", err)
	}
	// With it, the control file itself is refused.
	err = build(deb.Payload{}, evil)
	if err == nil || !strings.Contains(err.Error(), `package name "../../usr/share/x"`) {
		t.Errorf("../../usr/share/x: %v", err)
	}
	// And a control file naming another package.
	other := mk("other", "tool", "1.0", "Package: libc6\nVersion: 1.0\nArchitecture: amd64\n", false)
	err = build(deb.Payload{}, other)
	if err == nil || !strings.Contains(err.Error(), `own name is "libc6"`) {
		t.Errorf("control naming another package: %v", err)
	}
}
