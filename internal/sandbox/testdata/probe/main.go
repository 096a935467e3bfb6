// Command probe runs inside the sandbox in its tests: "check" tries what
// the sandbox must refuse and prints what happened, one "name: result"
// line each; the other modes misbehave.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func raw(nr uintptr, args ...uintptr) error {
	var a [6]uintptr
	copy(a[:], args)
	_, _, e := syscall.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	if e != 0 {
		return e
	}
	return nil
}

func main() {
	mode := "check"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	switch mode {
	case "flood":
		b := make([]byte, 1<<20)
		for {
			if _, err := os.Stdout.Write(b); err != nil {
				os.Exit(1)
			}
		}
	case "sleep":
		fmt.Fprintln(os.Stderr, "sleeping")
		for {
			time.Sleep(time.Hour)
		}
	case "stderr":
		for i := 0; i < 20000; i++ {
			fmt.Fprintf(os.Stderr, "line %d of a long complaint\n", i)
		}
		os.Exit(3)
	case "forkbomb":
		for {
			syscall.ForkExec("/probe", []string{"/probe", "forkbomb"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
		}
	case "spin":
		// CPU time, never ending; SIGXCPU ignored (the hard limit then
		// ends it).
		signal.Ignore(syscall.SIGXCPU)
		for {
		}
	case "procs":
		// Processes that stay, until the process limit refuses one.
		n := 0
		var err error
		for ; n < 1000; n++ {
			if _, err = syscall.ForkExec("/probe", []string{"/probe", "sleep"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}}); err != nil {
				break
			}
		}
		fmt.Printf("forked %d: %s\n", n, errString(err))
		return
	case "alloc":
		// 4 GiB of address space at once.
		_, err := syscall.Mmap(-1, 0, 4<<30, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		fmt.Printf("mmap 4 GiB: %s\n", errString(err))
		return
	case "echo":
		b := make([]byte, 1<<16)
		for {
			n, err := os.Stdin.Read(b)
			os.Stdout.Write(b[:n])
			if err != nil {
				return
			}
		}
	}
	p := func(name, res string) { fmt.Printf("%s: %s\n", name, res) }
	p("uid", fmt.Sprint(os.Getuid(), os.Geteuid(), os.Getgid()))
	p("pid", fmt.Sprint(os.Getpid()))
	ents, _ := os.ReadDir("/")
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	p("root", strings.Join(names, ","))
	p("env", strings.Join(os.Environ(), ","))
	p("write", errString(os.WriteFile("/written", []byte("x"), 0o644)))
	p("chroot", errString(syscall.Chroot("/")))
	p("mount", errString(syscall.Mount("none", "/", "tmpfs", 0, "")))
	p("umount", errString(syscall.Unmount("/", syscall.MNT_DETACH)))
	p("pivot_root", errString(raw(syscall.SYS_PIVOT_ROOT, uintptr(unsafe.Pointer(&[]byte("/\x00")[0])), uintptr(unsafe.Pointer(&[]byte("/\x00")[0])))))
	p("unshare", errString(syscall.Unshare(syscall.CLONE_NEWUSER)))
	p("unshare-ns", errString(syscall.Unshare(syscall.CLONE_NEWNS)))
	p("setns", errString(raw(unix.SYS_SETNS, 0, 0)))
	p("clone-newuser", errString(raw(syscall.SYS_CLONE, syscall.CLONE_NEWUSER|uintptr(syscall.SIGCHLD), 0, 0, 0, 0)))
	p("clone3", errString(raw(unix.SYS_CLONE3, 0, 0)))
	p("ptrace", errString(raw(syscall.SYS_PTRACE, syscall.PTRACE_ATTACH, uintptr(os.Getppid()))))
	p("ptrace-self", errString(raw(syscall.SYS_PTRACE, syscall.PTRACE_TRACEME)))
	p("keyctl", errString(raw(unix.SYS_KEYCTL, 0, 0)))
	p("add_key", errString(raw(unix.SYS_ADD_KEY, 0, 0)))
	p("bpf", errString(raw(unix.SYS_BPF, 0, 0)))
	p("perf_event_open", errString(raw(unix.SYS_PERF_EVENT_OPEN, 0, 0)))
	p("process_vm_readv", errString(raw(unix.SYS_PROCESS_VM_READV, 1, 0, 0, 0, 0, 0)))
	var hdr = struct{ v, pid uint32 }{0x20080522, 0}
	var data [2]struct{ eff, perm, inh uint32 }
	capErr := raw(syscall.SYS_CAPGET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])))
	p("caps", fmt.Sprint(errString(capErr), data))
	nnp, _, _ := syscall.Syscall(syscall.SYS_PRCTL, 39, 0, 0) // PR_GET_NO_NEW_PRIVS
	p("no_new_privs", fmt.Sprint(nnp))
	var open []string
	for fd := 3; fd < 1024; fd++ {
		if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0); e == 0 {
			open = append(open, fmt.Sprint(fd))
		}
	}
	p("fds", strings.Join(open, ","))
	var rl syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_AS, &rl)
	p("rlimit-as", fmt.Sprint(rl.Cur))
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	p("rlimit-nofile", fmt.Sprint(rl.Cur))
	syscall.Getrlimit(6, &rl) // RLIMIT_NPROC
	p("rlimit-nproc", fmt.Sprint(rl.Cur))
	syscall.Getrlimit(syscall.RLIMIT_CORE, &rl)
	p("rlimit-core", fmt.Sprint(rl.Cur))
	syscall.Getrlimit(syscall.RLIMIT_FSIZE, &rl)
	p("rlimit-fsize", fmt.Sprint(rl.Cur))
	syscall.Getrlimit(syscall.RLIMIT_CPU, &rl)
	p("rlimit-cpu", fmt.Sprint(rl.Cur, " ", rl.Max))
	_, err := os.Stat("/proc/self")
	p("proc", errString(err))
	s, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err == nil {
		err = syscall.Connect(s, &syscall.SockaddrInet4{Port: 53, Addr: [4]byte{1, 1, 1, 1}})
	}
	p("connect", errString(err))
}
