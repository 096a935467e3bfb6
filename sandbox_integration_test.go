package distroless

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
)

// hostileAttacks are what the hostile interpreter tries, with what gen
// must say of each.
var hostileAttacks = []struct {
	attack string
	want   []string
}{
	{"chroot", []string{"blocked: chroot /x: operation not permitted", "blocked: mkdir /x: mkdir /x: read-only file system", "RESULT chroot: 0 escapes"}},
	{"proc", []string{"blocked: mount proc: operation not permitted", "RESULT proc: 0 escapes"}},
	{"ptrace", []string{"blocked: ptrace attach of the parent (pid 1): operation not permitted", "RESULT ptrace: 0 escapes"}},
	{"fd", []string{"blocked: no descriptor beyond 0, 1 and 2", "RESULT fd: 0 escapes"}},
	// The set-uid bit is gone, and would give nothing.
	{"setuid", []string{"suid: uid 0 euid 0, mode 100755", "RESULT setuid: 0 escapes"}},
	{"bomb", []string{"/usr/bin/python3.13 was stopped at its limit of wall-clock time 5s (a sandbox setting)"}},
	{"output", []string{"/usr/bin/python3.13 wrote more than 1.1 MB to its standard output, the bound for its input; stopped"}},
	{"sleep", []string{"/usr/bin/python3.13 was stopped at its limit of wall-clock time 5s (a sandbox setting): sleeping forever"}},
}

// TestSandboxHostileInterpreter builds, from a local signed archive, images
// whose /usr/bin/python3.13 is a hostile program (testdata/hostilepython)
// and whose profile asks for Python bytecode, so gen runs it as the
// compiler; each tries one attack (the chroot escape, writing through
// /proc/*/root, ptrace of its parent, an inherited descriptor, a set-uid
// binary of its own, a fork bomb, 3 GiB of output, sleeping forever),
// leaving a marker file wherever it gets. For each, as root and as an
// unprivileged user: no marker on the host, gen fails with a message
// saying what happened, its peak RSS stays under 200 MiB (read from its
// rusage by testdata/maxrss), and it ends (--sandbox-timeout 5s).
func TestSandboxHostileInterpreter(t *testing.T) {
	integration(t)
	// The work directory: everyone may enter it (the unprivileged run's
	// user owns what it writes).
	work, err := os.MkdirTemp("", "distroless-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	if err := os.Chmod(work, 0o755); err != nil {
		t.Fatal(err)
	}
	hostile, launcher := filepath.Join(work, "hostile"), filepath.Join(work, "maxrss")
	for _, b := range [][2]string{{hostile, "./testdata/hostilepython"}, {launcher, "./testdata/maxrss"}} {
		build := exec.Command("go", "build", "-o", b[0], b[1])
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", b[1], err, out)
		}
	}
	prog, err := os.ReadFile(hostile)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 6)
	rand.Read(nonce)
	marker := "distroless-escape-" + hex.EncodeToString(nonce)
	var pkgs []debtest.Package
	for _, a := range hostileAttacks {
		name := "hostile-" + a.attack
		control := fmt.Sprintf("Package: %s\nVersion: 1.0\nArchitecture: amd64\nMaintainer: A <a@example.org>\n", name)
		pkgs = append(pkgs, debtest.Package{Name: name, Version: "1.0", Deb: debtest.Deb(control, nil, []debtest.DebFile{
			{Name: "./etc/", Type: '5'}, {Name: "./etc/attack", Body: []byte(a.attack + " " + marker + "\n")},
			{Name: "./usr/", Type: '5'}, {Name: "./usr/bin/", Type: '5'},
			{Name: "./usr/bin/python3.13", Body: prog, Mode: 0o755},
			{Name: "./usr/bin/suid", Body: prog, Mode: 0o4755},
			{Name: "./usr/lib/", Type: '5'}, {Name: "./usr/lib/python3.13/", Type: '5'},
			{Name: "./usr/lib/python3.13/mod.py", Body: []byte("x = 1\n")},
		})})
	}
	a := debtest.NewArchive(t, debtest.Suite{Name: "s", Packages: pkgs})
	distroFile := debDistroFile(t, a, "s")
	// A copy of the binary, of the distro file and its key where the
	// unprivileged user can read them.
	bin := filepath.Join(work, "distroless")
	if b, err := os.ReadFile(testBin); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{distroFile, filepath.Join(filepath.Dir(distroFile), "test-key.asc")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	distroFile = filepath.Join(work, filepath.Base(distroFile))

	const uid = 4242
	for _, user := range []string{"root", "unprivileged"} {
		for _, at := range hostileAttacks {
			t.Run(user+"/"+at.attack, func(t *testing.T) {
				dir := filepath.Join(work, user+"-"+at.attack)
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				prof := filepath.Join(dir, "app.yaml")
				body := fmt.Sprintf("name: app\npackages: [hostile-%s]\npython-bytecode: true\n", at.attack)
				if err := os.WriteFile(prof, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
				// gen's peak RSS is its own, not the test binary's, when
				// started from the small launcher.
				cmd, cancel := clitest.Command(bin, clitest.Cmd{Dir: dir, Wrap: []string{launcher}, Timeout: 3 * time.Minute,
					Environ: []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "TMPDIR=/tmp"}},
					"gen", "-f", prof, "--distro", distroFile, "--cache-dir", filepath.Join(dir, "cache"),
					"-o", "oci:"+filepath.Join(dir, "img"), "--sandbox-timeout", "5s")
				defer cancel()
				if user != "root" {
					if err := os.Chown(dir, uid, uid); err != nil {
						t.Fatal(err)
					}
					cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
				}
				// gen inherits, beyond 0, 1 and 2, the host's root directory
				// and a writable file of the host (descriptors 8 and 9, kept
				// across the launcher's exec): none reaches the interpreter.
				hostRoot, err := os.Open("/")
				if err != nil {
					t.Fatal(err)
				}
				defer hostRoot.Close()
				leak := filepath.Join(work, user+"-"+at.attack+".leak")
				leakFile, err := os.OpenFile(leak, os.O_RDWR|os.O_CREATE, 0o666)
				if err != nil {
					t.Fatal(err)
				}
				defer leakFile.Close()
				cmd.ExtraFiles = []*os.File{nil, nil, nil, nil, nil, hostRoot, leakFile}
				var stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stderr, &stderr
				err = cmd.Run()
				if cmd.ProcessState == nil || !cmd.ProcessState.Exited() {
					t.Fatalf("gen did not exit (killed at the timeout, or by a signal): %v\n%s", err, clitest.Tail(stderr.String(), 20))
				}
				out := stderr.String()
				if err == nil {
					t.Errorf("gen succeeded:\n%s", clitest.Tail(out, 20))
				}
				for _, w := range at.want {
					if !strings.Contains(out, w) {
						t.Errorf("gen's message lacks %q:\n%s", w, clitest.Tail(out, 30))
					}
				}
				if strings.Contains(out, "ESCAPED") || strings.Contains(out, "no Python bytecode") {
					t.Errorf("gen tells of an escape, or did not run the interpreter:\n%s", clitest.Tail(out, 30))
				}
				switch rss := peakRSS(out); {
				case rss < 0:
					t.Errorf("no peak RSS from the launcher:\n%s", clitest.Tail(out, 5))
				case rss > 200<<20:
					t.Errorf("gen's peak RSS %d KiB, over 200 MiB", rss>>10)
				default:
					t.Logf("gen's peak RSS: %d KiB", rss>>10)
				}
				if b, err := os.ReadFile(leak); err != nil || len(b) != 0 {
					t.Errorf("the host file gen inherited was written: %q (%v)", b, err)
				}
				for _, p := range findMarkers(marker, append([]string{"/", "/root", "/var/tmp", "/dev/shm"}, dir)) {
					t.Errorf("the hostile interpreter left %s", p)
					os.Remove(p)
				}
			})
		}
	}
	// A last search: all of /tmp.
	filepath.WalkDir("/tmp", func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), marker) {
			t.Errorf("the hostile interpreter left %s", p)
		}
		return nil
	})
}

// findMarkers lists the files named marker in dirs and under /tmp's
// first level.
func findMarkers(marker string, dirs []string) []string {
	var found []string
	ents, _ := os.ReadDir("/tmp")
	dirs = append(dirs, "/tmp")
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join("/tmp", e.Name()))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, marker)
		if _, err := os.Lstat(p); err == nil {
			found = append(found, p)
		}
	}
	return found
}
