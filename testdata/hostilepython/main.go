// Command hostilepython stands in for an image's python3.X in
// TestSandboxHostileInterpreter: run as the compiler, it tries the attack
// that /etc/attack names ("ATTACK MARKER"), writing files named MARKER
// wherever on the host it can reach, and says on stderr what it got:
// "ESCAPED: …" for anything that worked.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

var marker string

// hostDirs are where it tries to leave its marker, as the host sees them.
var hostDirs = []string{"/tmp", "/var/tmp", "/dev/shm", "/root", "/"}

var escaped []string

func try(what string, err error) {
	if err == nil {
		escaped = append(escaped, what)
		fmt.Fprintf(os.Stderr, "ESCAPED: %s\n", what)
	} else {
		fmt.Fprintf(os.Stderr, "blocked: %s: %v\n", what, err)
	}
}

// writeMarkers writes the marker under each host directory, below prefix.
func writeMarkers(prefix string) {
	for _, d := range hostDirs {
		p := filepath.Join(prefix, d, marker)
		try("write "+p, os.WriteFile(p, []byte("escaped\n"), 0o644))
	}
}

func main() {
	// Descriptors are counted before this program opens any of its own.
	var open []string
	for fd := 3; fd < 4096; fd++ {
		var st syscall.Stat_t
		if syscall.Fstat(fd, &st) == nil {
			open = append(open, fmt.Sprint(fd))
		}
	}
	name := filepath.Base(os.Args[0])
	b, err := os.ReadFile("/etc/attack")
	if err != nil {
		fmt.Fprintln(os.Stderr, "no /etc/attack:", err)
		os.Exit(2)
	}
	f := strings.Fields(string(b))
	attack := f[0]
	marker = f[1]
	switch name {
	case "suid":
		// The set-uid copy: what it is, and what it can do.
		var st syscall.Stat_t
		syscall.Stat("/usr/bin/suid", &st)
		fmt.Fprintf(os.Stderr, "suid: uid %d euid %d, mode %o\n", os.Getuid(), os.Geteuid(), st.Mode)
		writeMarkers("/")
		try("unshare", syscall.Unshare(syscall.CLONE_NEWUSER|syscall.CLONE_NEWNS))
		try("mount", syscall.Mount("none", "/tmp", "tmpfs", 0, ""))
		try("chroot", syscall.Chroot("/"))
		os.Exit(0)
	case "bomb":
		bomb()
	case "ptracer":
		// A child of the interpreter: attach to its parent.
		pp := os.Getppid()
		try(fmt.Sprintf("ptrace attach of the parent (pid %d)", pp), ptraceAttach(pp))
		try("ptrace traceme", errno(syscall.Syscall(syscall.SYS_PTRACE, syscall.PTRACE_TRACEME, 0, 0)))
		os.Exit(0)
	}
	switch attack {
	case "chroot":
		try("mkdir /x", os.Mkdir("/x", 0o755))
		for _, d := range []string{"/x", "/tmp", "/"} {
			if err := syscall.Chroot(d); err != nil {
				try("chroot "+d, err)
				continue
			}
			escaped = append(escaped, "chroot "+d)
			for i := 0; i < 64; i++ {
				syscall.Chdir("..")
			}
			try("chroot .", syscall.Chroot("."))
		}
		writeMarkers("/")
	case "proc":
		try("mount proc", syscall.Mount("proc", "/proc", "proc", 0, ""))
		for _, p := range []string{"/proc/self/root", "/proc/1/root", "/proc/2/root"} {
			writeMarkers(p)
		}
	case "ptrace":
		try("ptrace attach of pid 1", ptraceAttach(1))
		pid, err := syscall.ForkExec("/usr/bin/python3.13", []string{"ptracer"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
		if err == nil {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
		} else {
			fmt.Fprintln(os.Stderr, "fork:", err)
		}
	case "fd":
		for _, s := range open {
			var fd int
			fmt.Sscan(s, &fd)
			// A directory of the host: escape through it.
			if syscall.Fchdir(fd) == nil {
				for i := 0; i < 64; i++ {
					syscall.Chdir("..")
				}
				writeMarkers(".")
			}
			syscall.Write(fd, []byte("escaped "+marker+"\n"))
		}
		if len(open) > 0 {
			try("inherited descriptors "+strings.Join(open, ","), nil)
		} else {
			fmt.Fprintln(os.Stderr, "blocked: no descriptor beyond 0, 1 and 2")
		}
	case "bomb":
		bomb()
	case "output":
		buf := make([]byte, 1<<20)
		for i := range buf {
			buf[i] = 'P'
		}
		for i := 0; i < 3<<10; i++ { // 3 GiB
			if _, err := os.Stdout.Write(buf); err != nil {
				fmt.Fprintln(os.Stderr, "stdout:", err)
				os.Exit(1)
			}
		}
		os.Exit(0)
	case "sleep":
		fmt.Fprintln(os.Stderr, "sleeping forever")
		for {
			time.Sleep(time.Hour)
		}
	case "setuid":
		pid, err := syscall.ForkExec("/usr/bin/suid", []string{"/usr/bin/suid"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
		if err == nil {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
		} else {
			fmt.Fprintln(os.Stderr, "exec /usr/bin/suid:", err)
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown attack", attack)
	}
	fmt.Fprintf(os.Stderr, "RESULT %s: %d escapes\n", attack, len(escaped))
	os.Exit(3)
}

func bomb() {
	for {
		syscall.ForkExec("/usr/bin/python3.13", []string{"bomb"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	}
}

func ptraceAttach(pid int) error {
	return errno(syscall.Syscall(syscall.SYS_PTRACE, syscall.PTRACE_ATTACH, uintptr(pid), 0))
}

func errno(_, _ uintptr, e syscall.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}
