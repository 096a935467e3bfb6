package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A program of another architecture runs through qemu-user, which the
// kernel starts in the program's place (a binfmt_misc entry with the F
// flag: the interpreter was opened when the entry was registered, the
// sandbox's root need not hold it). qemu then is the sandboxed process
// itself, after every step of the setup: these tests run the probe built
// for another architecture and check that it is confined as the native
// one is.

var (
	qemuOnce sync.Once
	qemuDir  string // holds root/probe, the foreign probe
	qemuErr  error
)

// foreignArch is the architecture the qemu tests run, and its
// binfmt_misc entry.
func foreignArch() (goarch, entry string) {
	if runtime.GOARCH == "arm64" {
		return "amd64", "qemu-x86_64"
	}
	return "arm64", "qemu-aarch64"
}

// qemuRoot returns a root directory holding /probe built for
// foreignArch. The binfmt_misc entry must be enabled with the F flag
// (scripts/test.sh enables it); without it the test fails.
func qemuRoot(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs qemu-user through binfmt_misc (scripts/test.sh enables it): skipped with -short")
	}
	goarch, entry := foreignArch()
	b, err := os.ReadFile("/proc/sys/fs/binfmt_misc/" + entry)
	if err != nil || !strings.HasPrefix(string(b), "enabled\n") || !strings.Contains(string(b), "\nflags: ") {
		t.Fatalf("the binfmt_misc entry %s is not enabled (scripts/test.sh enables it): %v", entry, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f, ok := strings.CutPrefix(line, "flags: "); ok && !strings.Contains(f, "F") {
			t.Fatalf("the binfmt_misc entry %s lacks the F flag (flags %s): the sandbox's root does not hold qemu", entry, f)
		}
	}
	if d := os.Getenv("SANDBOX_TEST_QEMU_ROOT"); d != "" {
		return d
	}
	qemuOnce.Do(func() { qemuDir, qemuErr = buildProbe("sandbox-qemu-test-", goarch) })
	if qemuErr != nil {
		t.Fatal(qemuErr)
	}
	return filepath.Join(qemuDir, "root")
}

// TestQemuProbe: the foreign probe, run through qemu-user, is confined
// as the native one: not the host's root, pid 1 of its own namespace, a
// read-only root holding only itself, no /proc, no network, the same
// refused system calls (qemu passes them on to the kernel, whose answer
// is the filter's), no_new_privs, no capabilities, the same limits.
func TestQemuProbe(t *testing.T) {
	root := qemuRoot(t)
	var out bytes.Buffer
	err := Run(context.Background(), Cmd{Root: root, Argv: []string{"/probe", "check"},
		Env: []string{"PATH=/", "ONLY=this"}, Stdout: &out, MaxStdout: 1 << 20})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		got[k] = v
	}
	t.Logf("through qemu:\n%s", out.String())
	eperm := syscall.EPERM.Error()
	want := map[string]string{
		"uid": "0 0 0", "pid": "1", "root": "probe",
		"write":  "open /written: read-only file system",
		"chroot": eperm, "mount": eperm, "umount": eperm, "unshare": eperm, "unshare-ns": eperm,
		"setns": eperm,
		"caps":  "ok[{0 0 0} {0 0 0}]", "no_new_privs": "1",
		"rlimit-nofile": strconv.Itoa(DefaultLimits.OpenFiles), "rlimit-nproc": strconv.Itoa(DefaultLimits.Processes),
		"rlimit-core": "0", "rlimit-fsize": strconv.FormatInt(DefaultLimits.FileSize, 10),
		"proc":    "stat /proc/self: no such file or directory",
		"connect": "network is unreachable",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	// What qemu emulates itself fails there or in the kernel; it must
	// fail.
	for _, k := range []string{"pivot_root", "clone-newuser", "clone3", "ptrace", "ptrace-self", "keyctl", "add_key", "bpf", "perf_event_open", "process_vm_readv"} {
		if v, ok := got[k]; !ok || v == "ok" {
			t.Errorf("%s: %q, want a failure", k, v)
		}
	}
	// Its environment is the one given (qemu passes it on in its own
	// order), and no descriptor is open beyond 0, 1 and 2 (qemu's own
	// would be the guest's too).
	if env := strings.Split(got["env"], ","); len(env) != 2 || !slices.Contains(env, "PATH=/") || !slices.Contains(env, "ONLY=this") {
		t.Errorf("env: %q, want PATH=/ and ONLY=this", got["env"])
	}
	if got["fds"] != "" {
		t.Errorf("fds: %q, want none", got["fds"])
	}
}

// TestQemuHostUID: seen from the host, qemu running the foreign probe is
// never uid 0.
func TestQemuHostUID(t *testing.T) {
	checkHostUIDs(t, qemuRoot(t))
}

// TestQemuLimits: through qemu, output past its bound, a program that
// never ends, one that spins and a fork bomb are stopped as natively.
func TestQemuLimits(t *testing.T) {
	root := qemuRoot(t)
	var n countWriter
	err := Run(context.Background(), Cmd{Root: root, Argv: []string{"/probe", "flood"}, Stdout: &n, MaxStdout: 10 << 20})
	var oe *OutputError
	if !errors.As(err, &oe) || n > 10<<20 {
		t.Errorf("flood: %v, %d bytes passed on", err, n)
	}
	err = Run(context.Background(), Cmd{Root: root, Argv: []string{"/probe", "sleep"}, MaxStdout: 1 << 10, Limits: Limits{Wall: 3 * time.Second}})
	if !strings.Contains(fmt.Sprint(err), "/probe was stopped at its limit of wall-clock time 3s") {
		t.Errorf("sleep: %v", err)
	}
	err = Run(context.Background(), Cmd{Root: root, Argv: []string{"/probe", "spin"}, MaxStdout: 1 << 10, Limits: Limits{CPU: time.Second, Wall: 10 * time.Minute}})
	if !strings.Contains(fmt.Sprint(err), "/probe was stopped at its limit of CPU time 1s") {
		t.Errorf("spin: %v", err)
	}
	err = Run(context.Background(), Cmd{Root: root, Argv: []string{"/probe", "forkbomb"}, MaxStdout: 1 << 10, Limits: Limits{Wall: 5 * time.Second, Processes: 64}})
	// Stopped by a limit, or by its output's bound (qemu's children
	// report failed forks on the standard output they share).
	var le *LimitError
	if !errors.As(err, &le) && !errors.As(err, &oe) && (err == nil || !strings.Contains(err.Error(), "/probe: ")) {
		t.Errorf("forkbomb: %v", err)
	}
}
