package distroless

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
)

// TestPythonBytecodeQemu: an arm64 image built alone (no native build to
// share bytecode with) has its Python modules compiled by its own
// interpreter through qemu-user, in the sandbox like a native one, and
// each .pyc is the same bytes as the amd64 interpreter writes natively
// for the same source. Small: python3.13-minimal and its modules only.
func TestPythonBytecodeQemu(t *testing.T) {
	integration(t)
	if why := enableBinfmt(t); why != "" {
		t.Fatalf("cannot run arm64 programs: %s", why)
	}
	dir := t.TempDir()
	prof := filepath.Join(dir, "pymin.yaml")
	if err := os.WriteFile(prof, []byte("name: pymin\npackages: [python3.13-minimal]\npython-bytecode: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pycs := map[string]map[string][]byte{}
	for _, arch := range []string{"amd64", "arm64"} {
		out := filepath.Join(dir, arch)
		start := time.Now()
		r := clitest.Run(t, testBin, clitest.Cmd{}, "gen", "-f", prof, "--distro", "debian:trixie", "--arch", arch,
			"--cache-dir", testCache, "-o", "oci:"+out+":py")
		if r.Code != 0 {
			t.Fatalf("%s: exit %d\n%s", arch, r.Code, clitest.Tail(r.Stderr, 20))
		}
		how := "natively"
		if arch == "arm64" {
			how = "through qemu-aarch64"
		}
		if !strings.Contains(r.Stderr, "Python modules with /usr/bin/python3.13 ("+how+")") || strings.Contains(r.Stderr, "no Python bytecode") {
			t.Errorf("%s: the interpreter did not compile %s:\n%s", arch, how, clitest.Tail(r.Stderr, 20))
		}
		t.Logf("%s: %s", arch, time.Since(start).Round(time.Second))
		pycs[arch] = map[string][]byte{}
		for p, f := range flattenLayout(t, out, "py") {
			if strings.HasSuffix(p, ".pyc") {
				pycs[arch][p] = f.data
			}
		}
	}
	if len(pycs["amd64"]) < 50 || len(pycs["arm64"]) < 50 {
		t.Fatalf("%d .pyc files on amd64, %d on arm64", len(pycs["amd64"]), len(pycs["arm64"]))
	}
	same := 0
	for p, b := range pycs["amd64"] {
		a, ok := pycs["arm64"][p]
		switch {
		case !ok:
			// A module of amd64's own (_sysconfigdata…) has none on arm64.
			if !strings.Contains(p, "x86_64") {
				t.Errorf("/%s: none on arm64", p)
			}
		case !bytes.Equal(a, b):
			t.Errorf("/%s differs between the native compile and the one through qemu", p)
		default:
			same++
		}
	}
	t.Logf("%d .pyc files the same bytes natively and through qemu", same)
}
