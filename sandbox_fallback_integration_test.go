package distroless

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
)

// TestSandboxFallback: where the sandbox cannot be set up, gen builds the
// image without bytecode and warns, and the image's program never runs
// (not even less isolated). The interpreter is the hostile one
// (testdata/hostilepython, trying the chroot escape): had it run, gen's
// output would hold its "blocked:"/"RESULT" lines. Two ways the sandbox
// fails: no user namespaces (gen in a user namespace whose
// user.max_user_namespaces is 0), and, under root, a temporary directory
// uid 65534 cannot reach (TMPDIR mode 0700).
func TestSandboxFallback(t *testing.T) {
	integration(t)
	unshare := needTool(t, "unshare")
	work := t.TempDir()
	hostile := filepath.Join(work, "hostile")
	build := exec.Command("go", "build", "-o", hostile, "./testdata/hostilepython")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building testdata/hostilepython: %v\n%s", err, out)
	}
	prog, err := os.ReadFile(hostile)
	if err != nil {
		t.Fatal(err)
	}
	control := "Package: hostile-fallback\nVersion: 1.0\nArchitecture: amd64\nMaintainer: A <a@example.org>\n"
	a := debtest.NewArchive(t, debtest.Suite{Name: "s", Packages: []debtest.Package{{Name: "hostile-fallback", Version: "1.0",
		Deb: debtest.Deb(control, nil, []debtest.DebFile{
			{Name: "./etc/", Type: '5'}, {Name: "./etc/attack", Body: []byte("chroot distroless-fallback-marker\n")},
			{Name: "./usr/", Type: '5'}, {Name: "./usr/bin/", Type: '5'},
			{Name: "./usr/bin/python3.13", Body: prog, Mode: 0o755},
			{Name: "./usr/lib/", Type: '5'}, {Name: "./usr/lib/python3.13/", Type: '5'},
			{Name: "./usr/lib/python3.13/mod.py", Body: []byte("x = 1\n")},
		})}}})
	distroFile := debDistroFile(t, a, "s")
	prof := filepath.Join(work, "app.yaml")
	if err := os.WriteFile(prof, []byte("name: app\npackages: [hostile-fallback]\npython-bytecode: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hidden := filepath.Join(work, "hidden-tmp")
	if err := os.Mkdir(hidden, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cmd  clitest.Cmd
		want string
	}{
		{"no user namespaces", clitest.Cmd{Wrap: []string{unshare, "--user", "--map-root-user", "sh", "-c",
			`echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" "$@"`}},
			"no Python bytecode: cannot run the image's programs: cannot set up the sandbox to run an image's program: starting /usr/bin/python3.13 in new namespaces"},
		{"root unreachable", clitest.Cmd{Env: []string{"TMPDIR=" + hidden}},
			"no Python bytecode: cannot run the image's programs: cannot set up the sandbox to run an image's program: the sandbox's user (uid 65534) cannot reach"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "root unreachable" && os.Getuid() != 0 {
				return // the sandbox's user is 65534 only under root
			}
			out := filepath.Join(work, strings.ReplaceAll(c.name, " ", "-"))
			r := clitest.Run(t, testBin, c.cmd, "gen", "-f", prof, "--distro", distroFile, "--cache-dir", filepath.Join(work, "cache"),
				"-o", "oci:"+out+":app")
			if r.Code != 0 || !strings.Contains(r.Stderr, c.want) {
				t.Errorf("exit %d, want 0 and a warning %q:\n%s", r.Code, c.want, clitest.Tail(r.Stderr, 20))
			}
			if strings.Contains(r.Stderr, "blocked:") || strings.Contains(r.Stderr, "RESULT") || strings.Contains(r.Stderr, "ESCAPED") {
				t.Errorf("the image's program ran:\n%s", clitest.Tail(r.Stderr, 20))
			}
			var pycs []string
			for p := range flattenLayout(t, out, "app") {
				if strings.HasSuffix(p, ".pyc") {
					pycs = append(pycs, p)
				}
			}
			if len(pycs) != 0 {
				t.Errorf("the image has bytecode: %v", pycs)
			}
		})
	}
}
