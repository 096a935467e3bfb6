package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// childName is the child's argv[0], childEnv the variable holding its
// setting; both mark a sandbox child for Main.
const (
	childName = "distroless-sandbox"
	childEnv  = "DISTROLESS_SANDBOX"
)

// mainCalled says Main ran (and returned): only then can Run start this
// executable as a sandbox child.
var mainCalled atomic.Bool

// childSetting is what the child is told.
type childSetting struct {
	Root   string
	Argv   []string
	Env    []string
	Limits Limits
}

// Main sets up the sandbox and runs the program when this process is a
// sandbox child (it then never returns); otherwise it returns at once.
// Call it first thing in main.
func Main() {
	if len(os.Args) == 0 || os.Args[0] != childName || os.Getenv(childEnv) == "" {
		mainCalled.Store(true)
		return
	}
	// Every step below applies to this thread (capabilities, the
	// bounding set) or must be the one that calls execve.
	runtime.LockOSThread()
	status := os.NewFile(4, "status")
	err := child(os.Getenv(childEnv))
	// Only a failure gets here.
	if status != nil {
		fmt.Fprintf(status, "%v", err)
	}
	os.Exit(127)
}

// child sets up the sandbox in the new namespaces and executes the
// program.
func child(setting string) error {
	var s childSetting
	if err := json.Unmarshal([]byte(setting), &s); err != nil {
		return fmt.Errorf("reading the sandbox setting: %w", err)
	}
	if len(s.Argv) == 0 {
		return errors.New("no program")
	}
	filter, err := seccompFilter()
	if err != nil {
		return err
	}
	step := func(what string, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	if err := step("making the mounts private", unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")); err != nil {
		return err
	}
	if err := step("binding the root", unix.Mount(s.Root, s.Root, "", unix.MS_BIND|unix.MS_REC, "")); err != nil {
		return err
	}
	if err := step("entering the root", unix.Chdir(s.Root)); err != nil {
		return err
	}
	// The old root goes on top of the new one, and is detached from it.
	if err := step("pivot_root", unix.PivotRoot(".", ".")); err != nil {
		return err
	}
	if err := step("detaching the old root", unix.Unmount(".", unix.MNT_DETACH)); err != nil {
		return err
	}
	if err := step("chdir /", unix.Chdir("/")); err != nil {
		return err
	}
	// Read-only, nosuid, nodev, keeping the flags the mount had (a user
	// namespace may not clear them).
	var st unix.Statfs_t
	if err := step("statfs /", unix.Statfs("/", &st)); err != nil {
		return err
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV)
	for _, f := range [][2]uintptr{{unix.ST_NOEXEC, unix.MS_NOEXEC}, {unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME}} {
		if uintptr(st.Flags)&f[0] != 0 {
			flags |= f[1]
		}
	}
	if err := step("remounting the root read-only", unix.Mount("", "/", "", flags, "")); err != nil {
		return err
	}
	l := s.Limits.WithDefaults()
	cpu := uint64((l.CPU + time.Second - 1) / time.Second)
	for _, r := range []struct {
		res      int
		cur, max uint64
	}{
		{unix.RLIMIT_AS, uint64(l.AddressSpace), uint64(l.AddressSpace)},
		{unix.RLIMIT_NPROC, uint64(l.Processes), uint64(l.Processes)},
		{unix.RLIMIT_FSIZE, uint64(l.FileSize), uint64(l.FileSize)},
		// SIGXCPU at the limit, SIGKILL cpuGrace seconds later (at a
		// hard limit equal to the soft one, the kernel sends SIGKILL
		// only, which would not say which limit it was).
		{unix.RLIMIT_CPU, cpu, cpu + cpuGrace},
		{unix.RLIMIT_NOFILE, uint64(l.OpenFiles), uint64(l.OpenFiles)},
		{unix.RLIMIT_CORE, 0, 0},
		{unix.RLIMIT_MEMLOCK, 0, 0},
		{unix.RLIMIT_MSGQUEUE, 0, 0},
	} {
		if err := step("setrlimit", unix.Setrlimit(r.res, &unix.Rlimit{Cur: r.cur, Max: r.max})); err != nil {
			return err
		}
	}
	if err := dropCapabilities(); err != nil {
		return err
	}
	// Every descriptor but 0, 1 and 2 closes on execve (the status pipe
	// among them, which tells the parent the program started).
	if err := step("close_range", unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)); err != nil {
		return err
	}
	if err := step("no_new_privs", unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)); err != nil {
		return err
	}
	if err := loadSeccomp(filter); err != nil {
		return err
	}
	return fmt.Errorf("executing %s: %w", s.Argv[0], unix.Exec(s.Argv[0], s.Argv, s.Env))
}

// cpuGrace is the seconds a program may run past its CPU-time limit
// (RLIMIT_CPU's soft limit, where it gets SIGXCPU) before the hard limit
// kills it: one that ignores SIGXCPU.
const cpuGrace = 1

// reachable checks that uid 65534 can reach dir: it and every directory
// above it searchable by everyone.
func reachable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for d := abs; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("the sandbox's user (uid 65534) cannot reach %s: %s is not searchable by everyone", abs, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// dropCapabilities empties the bounding and ambient sets, locks the
// securebits that would give uid 0 capabilities on execve, and clears the
// effective, permitted and inheritable sets.
func dropCapabilities() error {
	for c := 0; c <= 63; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if errors.Is(err, unix.EINVAL) {
				break // past the kernel's last capability
			}
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clearing the ambient capabilities: %w", err)
	}
	const (
		secbitNoroot             = 1 << 0
		secbitNorootLocked       = 1 << 1
		secbitNoSetuidFixup      = 1 << 2
		secbitNoSetuidFixupLock  = 1 << 3
		secbitKeepCapsLocked     = 1 << 5
		secbitNoCapAmbientRaise  = 1 << 6
		secbitNoCapAmbientLocked = 1 << 7
	)
	bits := secbitNoroot | secbitNorootLocked | secbitNoSetuidFixup | secbitNoSetuidFixupLock | secbitKeepCapsLocked |
		secbitNoCapAmbientRaise | secbitNoCapAmbientLocked
	if err := unix.Prctl(unix.PR_SET_SECUREBITS, uintptr(bits), 0, 0, 0); err != nil {
		return fmt.Errorf("setting the securebits: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("clearing the capabilities: %w", err)
	}
	return nil
}

// Run runs c.Argv in the sandbox and waits for it. It fails wrapping
// ErrUnavailable when the sandbox cannot be set up (the program did not
// run), with an *OutputError past c.MaxStdout, with a *LimitError when a
// time limit stopped it, and with the end of its standard error when it
// exits other than 0.
func Run(ctx context.Context, c Cmd) error {
	if len(c.Argv) == 0 {
		return errors.New("sandbox: no program")
	}
	prog := c.Argv[0]
	if !mainCalled.Load() {
		return fmt.Errorf("%w: this executable does not call sandbox.Main first", ErrUnavailable)
	}
	if _, err := seccompFilter(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		// Not the host's root, even should it get out.
		uid, gid = 65534, 65534
		if err := reachable(c.Root); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	l := c.Limits.WithDefaults()
	setting, err := json.Marshal(childSetting{Root: c.Root, Argv: c.Argv, Env: c.Env, Limits: l})
	if err != nil {
		return err
	}
	// The child is this executable, opened now: it is started through
	// the descriptor, so the directories above it need not be searchable
	// by the sandbox's user.
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer exe.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer statusR.Close()
	wctx, cancel := context.WithTimeout(ctx, l.Wall)
	defer cancel()
	cmd := exec.CommandContext(wctx, "/proc/self/fd/3")
	cmd.Args = []string{childName}
	cmd.Env = []string{childEnv + "=" + string(setting)}
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{exe, statusW}
	cmd.Stdin = c.Stdin
	errTail := &tail{n: stderrKeep}
	cmd.Stderr = errTail
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		statusW.Close()
		return err
	}
	// Ended, the sandbox's init takes every process of its PID namespace
	// with it.
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	cmd.WaitDelay = 5 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET |
			syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS | syscall.CLONE_NEWCGROUP,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}},
		GidMappingsEnableSetgroups: false,
		// Without it the child keeps the caller's credentials (the
		// host's root, seen from inside as the overflow uid): setuid(0)
		// in the namespace makes it the mapped uid.
		Credential: &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
		Pdeathsig:  syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		statusW.Close()
		return fmt.Errorf("%w: starting %s in new namespaces: %v", ErrUnavailable, prog, err)
	}
	statusW.Close()
	// The status pipe closes at the program's execve, or carries why the
	// setup failed.
	setupErr, _ := io.ReadAll(io.LimitReader(statusR, 4096))
	// The output, as a stream, up to its bound.
	outErr := func() error {
		w := c.Stdout
		if w == nil {
			w = io.Discard
		}
		buf := make([]byte, 64<<10)
		var n int64
		for {
			k, err := stdout.Read(buf)
			if n+int64(k) > c.MaxStdout {
				return &OutputError{Program: prog, Max: c.MaxStdout}
			}
			n += int64(k)
			if k > 0 {
				if _, werr := w.Write(buf[:k]); werr != nil {
					return werr
				}
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}()
	if outErr != nil {
		// Whatever else it writes is not read: it is ended.
		cmd.Process.Kill()
	}
	werr := cmd.Wait()
	if len(setupErr) > 0 {
		return fmt.Errorf("%w: %s", ErrUnavailable, bytes.TrimSpace(setupErr))
	}
	if outErr != nil {
		return outErr
	}
	msg := strings.TrimSpace(errTail.String())
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if wctx.Err() != nil {
		return &LimitError{Program: prog, Limit: "wall-clock time " + l.Wall.String(), Stderr: msg}
	}
	if werr != nil {
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			if cpuLimited(ee.ProcessState, l.CPU) {
				return &LimitError{Program: prog, Limit: "CPU time " + l.CPU.String(), Stderr: msg}
			}
		}
		if msg != "" {
			return fmt.Errorf("%s: %v: %s", prog, werr, msg)
		}
		return fmt.Errorf("%s: %v", prog, werr)
	}
	return nil
}

// cpuLimited says whether the program ended at its CPU-time limit:
// killed by SIGXCPU, or by SIGKILL (the hard limit, or anything else)
// having used at least that much CPU time.
func cpuLimited(ps *os.ProcessState, limit time.Duration) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return false
	}
	switch ws.Signal() {
	case syscall.SIGXCPU:
		return true
	case syscall.SIGKILL:
		return ps.UserTime()+ps.SystemTime() >= limit
	}
	return false
}
