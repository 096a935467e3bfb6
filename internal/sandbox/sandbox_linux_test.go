package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests run the probe (testdata/probe, built static) in a root of its
// own; TestUnprivileged runs them again as an unprivileged user.

var (
	probeOnce sync.Once
	probeDir  string // holds root/probe; searchable by everyone
	probeErr  error
)

func TestMain(m *testing.M) {
	Main()
	code := m.Run()
	if probeDir != "" && os.Getenv("SANDBOX_TEST_ROOT") == "" {
		os.RemoveAll(probeDir)
	}
	if qemuDir != "" && os.Getenv("SANDBOX_TEST_QEMU_ROOT") == "" {
		os.RemoveAll(qemuDir)
	}
	os.Exit(code)
}

// probeRoot returns a root directory holding /probe.
func probeRoot(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("SANDBOX_TEST_ROOT"); d != "" {
		return d
	}
	probeOnce.Do(func() { probeDir, probeErr = buildProbe("sandbox-test-", "") })
	if probeErr != nil {
		t.Fatal(probeErr)
	}
	return filepath.Join(probeDir, "root")
}

// buildProbe builds testdata/probe (for goarch, "" for this machine's)
// into DIR/root/probe of a new directory DIR that everyone can search.
func buildProbe(prefix, goarch string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return dir, err
	}
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return dir, err
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(root, "probe"), "./testdata/probe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	what := "the probe"
	if goarch != "" {
		cmd.Env = append(cmd.Env, "GOARCH="+goarch)
		what = "the " + goarch + " probe"
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return dir, fmt.Errorf("building %s: %v\n%s", what, err, out)
	}
	return dir, nil
}

func run(t *testing.T, l Limits, maxOut int64, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := Run(context.Background(), Cmd{Root: probeRoot(t), Argv: append([]string{"/probe"}, args...),
		Env: []string{"PATH=/", "ONLY=this"}, Stdin: strings.NewReader(stdin), Stdout: &out, MaxStdout: maxOut, Limits: l})
	return out.String(), err
}

// TestProbe: inside, every escape and widening the probe tries fails,
// nothing of the host is visible, and the limits hold.
func TestProbe(t *testing.T) {
	out, err := run(t, Limits{}, 1<<20, "", "check")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		got[k] = v
	}
	eperm := syscall.EPERM.Error()
	want := map[string]string{
		"uid": "0 0 0", "pid": "1", "root": "probe", "env": "PATH=/,ONLY=this",
		"write":  "open /written: read-only file system",
		"chroot": eperm, "mount": eperm, "umount": eperm, "pivot_root": eperm, "unshare": eperm, "unshare-ns": eperm,
		"setns": eperm, "clone-newuser": eperm, "clone3": syscall.ENOSYS.Error(), "ptrace": eperm, "ptrace-self": eperm,
		"keyctl": eperm, "add_key": eperm, "bpf": eperm, "perf_event_open": eperm, "process_vm_readv": eperm,
		"caps": "ok[{0 0 0} {0 0 0}]", "no_new_privs": "1", "fds": "",
		"rlimit-as": strconv.FormatInt(DefaultLimits.AddressSpace, 10), "rlimit-nofile": strconv.Itoa(DefaultLimits.OpenFiles),
		"rlimit-nproc": strconv.Itoa(DefaultLimits.Processes), "rlimit-core": "0",
		"rlimit-fsize": strconv.FormatInt(DefaultLimits.FileSize, 10),
		"rlimit-cpu":   fmt.Sprintf("%d %d", int(DefaultLimits.CPU.Seconds()), int(DefaultLimits.CPU.Seconds())+cpuGrace),
		"proc":         "stat /proc/self: no such file or directory",
		"connect":      "network is unreachable",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	if _, err := os.Stat(filepath.Join(probeRoot(t), "written")); err == nil {
		t.Error("the probe wrote in its root")
	}
}

// TestHostUID: seen from the host, the sandboxed program is never uid 0:
// 65534 when the caller is root, the caller otherwise.
func TestHostUID(t *testing.T) {
	checkHostUIDs(t, probeRoot(t))
}

// checkHostUIDs runs root's /probe and checks its uids as the host sees
// them.
func checkHostUIDs(t *testing.T, root string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Cmd{Root: root, Argv: []string{"/probe", "sleep"}, MaxStdout: 1 << 10})
	}()
	want := strconv.Itoa(os.Getuid())
	if os.Getuid() == 0 {
		want = "65534"
	}
	var uids string
	for i := 0; i < 500 && uids == ""; i++ {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			b, err := os.ReadFile("/proc/" + e.Name() + "/status")
			if err != nil || !strings.Contains(string(b), "Name:\tprobe\n") || !strings.Contains(string(b), "\nPPid:\t"+strconv.Itoa(os.Getpid())+"\n") {
				continue
			}
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "Uid:\t"); ok {
					uids = v
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	if f := strings.Fields(uids); len(f) != 4 || f[0] != want || f[1] != want || f[2] != want || f[3] != want {
		t.Errorf("the probe's uids on the host: %q, want %s", uids, want)
	}
}

// TestInheritedDescriptors: descriptors the caller holds without
// close-on-exec (here the host's root directory, a classic way out of a
// chroot) do not reach the program: it has 0, 1 and 2 only.
func TestInheritedDescriptors(t *testing.T) {
	root, err := os.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	fd, err := unix.FcntlInt(root.Fd(), unix.F_DUPFD, 100) // not close-on-exec
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	out, err := run(t, Limits{}, 1<<20, "", "check")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "\nfds: \n") {
		t.Errorf("descriptors open in the program (the caller's %d among them?):\n%s", fd, out)
	}
}

func TestStdin(t *testing.T) {
	in := strings.Repeat("abc\n", 100000)
	out, err := run(t, Limits{}, int64(len(in)), in, "echo")
	if err != nil || out != in {
		t.Errorf("echo: %v, %d bytes back of %d", err, len(out), len(in))
	}
}

// TestOutputBound: past its bound, the output is refused and the program
// ended; what was kept is no more than the bound.
func TestOutputBound(t *testing.T) {
	var n countWriter
	err := Run(context.Background(), Cmd{Root: probeRoot(t), Argv: []string{"/probe", "flood"}, Stdout: &n, MaxStdout: 10 << 20})
	var oe *OutputError
	if !errors.As(err, &oe) || oe.Program != "/probe" || !strings.Contains(err.Error(), "/probe wrote more than 10.5 MB to its standard output") {
		t.Fatalf("flood: %v", err)
	}
	if n > 10<<20 {
		t.Errorf("%d bytes passed on, bound %d", n, 10<<20)
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// TestWallClock: a program that never ends is killed at its wall-clock
// limit with an error naming it and the limit.
func TestWallClock(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 2s limit: skipped with -short; the full test command runs it")
	}
	_, err := run(t, Limits{Wall: 2 * time.Second}, 1<<10, "", "sleep")
	var le *LimitError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "/probe was stopped at its limit of wall-clock time 2s") || !strings.Contains(err.Error(), "sleeping") {
		t.Fatalf("sleep: %v", err)
	}
}

// TestCPULimit: a program that spins, ignoring SIGXCPU, is ended at its
// CPU-time limit (one second past it, by SIGKILL) with an error naming it
// and the limit, well before its wall-clock limit.
func TestCPULimit(t *testing.T) {
	_, err := run(t, Limits{CPU: time.Second, Wall: 10 * time.Minute}, 1<<10, "", "spin")
	var le *LimitError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "/probe was stopped at its limit of CPU time 1s (a sandbox setting)") {
		t.Fatalf("spin: %v", err)
	}
}

// TestProcessLimit: past its process limit, a fork fails (the limit
// counts in the sandbox's user namespace, and holds because the
// program is not the host's root, whom the kernel exempts).
func TestProcessLimit(t *testing.T) {
	out, err := run(t, Limits{Processes: 32, Wall: 10 * time.Minute}, 1<<10, "", "procs")
	var n int
	var msg string
	if _, serr := fmt.Sscanf(out, "forked %d: ", &n); serr == nil {
		_, msg, _ = strings.Cut(strings.TrimSpace(out), ": ")
	}
	if err != nil || n >= 32 || msg != syscall.EAGAIN.Error() {
		t.Errorf("procs: %v: %q, want fewer than 32 forks, then %q", err, out, syscall.EAGAIN.Error())
	}
}

// TestAddressSpaceLimit: past its address-space limit, a mapping fails.
func TestAddressSpaceLimit(t *testing.T) {
	out, err := run(t, Limits{AddressSpace: 2 << 30}, 1<<10, "", "alloc")
	if err != nil || strings.TrimSpace(out) != "mmap 4 GiB: "+syscall.ENOMEM.Error() {
		t.Errorf("alloc under 2 GiB: %v: %q", err, out)
	}
	out, err = run(t, Limits{AddressSpace: 8 << 30}, 1<<10, "", "alloc")
	if err != nil || strings.TrimSpace(out) != "mmap 4 GiB: ok" {
		t.Errorf("alloc under 8 GiB: %v: %q", err, out)
	}
}

// TestForkBomb: the process limit stops the bomb, the wall clock ends it,
// and every process of it is gone after.
func TestForkBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 3s limit: skipped with -short; the full test command runs it")
	}
	_, err := run(t, Limits{Wall: 3 * time.Second, Processes: 64}, 1<<10, "", "forkbomb")
	var le *LimitError
	if !errors.As(err, &le) && (err == nil || !strings.Contains(err.Error(), "/probe: ")) {
		t.Fatalf("forkbomb: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && bytes.HasPrefix(b, []byte("/probe\x00forkbomb")) {
			t.Errorf("process %s of the bomb left", e.Name())
		}
	}
}

// TestStderrTail: a failure shows the end of the program's standard
// error, no more than 64 KiB of it.
func TestStderrTail(t *testing.T) {
	_, err := run(t, Limits{}, 1<<10, "", "stderr")
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "line 19999 of a long complaint") ||
		strings.Contains(err.Error(), "line 0 of") || len(err.Error()) > stderrKeep+200 {
		t.Fatalf("stderr: %d bytes: %.300s", len(fmt.Sprint(err)), err)
	}
}

// TestUnavailable: a setup that fails (no such root) says so, wrapping
// ErrUnavailable; the program did not run.
func TestUnavailable(t *testing.T) {
	err := Run(context.Background(), Cmd{Root: filepath.Join(t.TempDir(), "none"), Argv: []string{"/probe"}, MaxStdout: 10})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no such file or directory") {
		t.Fatalf("no root: %v", err)
	}
	if os.Getuid() == 0 {
		// A root the sandbox's user cannot reach: said before anything
		// starts.
		hidden := filepath.Join(t.TempDir(), "root") // under a 0700 directory
		if err := os.Mkdir(hidden, 0o755); err != nil {
			t.Fatal(err)
		}
		err := Run(context.Background(), Cmd{Root: hidden, Argv: []string{"/probe"}, MaxStdout: 10})
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "is not searchable by everyone") {
			t.Fatalf("hidden root: %v", err)
		}
	}
	err = Run(context.Background(), Cmd{Root: probeRoot(t), Argv: []string{"/nothing"}, MaxStdout: 10})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "executing /nothing") {
		t.Fatalf("no program: %v", err)
	}
}

// TestUnprivileged runs these tests again as an unprivileged user (uid
// 4242), from a copy of the test binary it can execute.
func TestUnprivileged(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the sandbox tests again: skipped with -short; the full test command runs it")
	}
	if os.Getuid() != 0 {
		t.Skip("already unprivileged: the tests above ran so")
	}
	if os.Getenv("SANDBOX_TEST_ROOT") != "" {
		return
	}
	root := probeRoot(t)
	dir, err := os.MkdirTemp("", "sandbox-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sandbox.test")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	tests := []string{"TestProbe", "TestHostUID", "TestInheritedDescriptors", "TestStdin", "TestOutputBound", "TestWallClock",
		"TestCPULimit", "TestProcessLimit", "TestAddressSpaceLimit", "TestForkBomb", "TestStderrTail", "TestUnavailable"}
	env := []string{"SANDBOX_TEST_ROOT=" + root, "HOME=" + dir, "TMPDIR=" + dir, "PATH=/usr/bin:/bin"}
	args := []string{"-test.v"}
	if testing.Short() {
		args = append(args, "-test.short")
	} else {
		// The probe through qemu-user too.
		tests = append(tests, "TestQemuProbe", "TestQemuHostUID", "TestQemuLimits")
		env = append(env, "SANDBOX_TEST_QEMU_ROOT="+qemuRoot(t))
	}
	cmd := exec.Command(bin, append(args, "-test.run", "^("+strings.Join(tests, "|")+")$")...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 4242, Gid: 4242}}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if err != nil || strings.Count(out.String(), "--- PASS") != len(tests) {
		t.Fatalf("as uid 4242: %v\n%s", err, out.String())
	}
	t.Logf("as uid 4242:\n%s", out.String())
}
