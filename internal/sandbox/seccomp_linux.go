package sandbox

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/sys/unix"
)

// denied are the system calls the sandboxed program may not make (they
// fail with EPERM): what could leave the sandbox's root or namespaces,
// reach another process, or reach the kernel's keyrings, BPF, modules and
// clocks. Names one ABI lacks are skipped for it.
var denied = []string{
	"chroot", "pivot_root", "mount", "umount", "umount2", "mount_setattr", "move_mount", "open_tree",
	"fsopen", "fsconfig", "fsmount", "fspick", "unshare", "setns",
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
	"keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
	"open_by_handle_at", "name_to_handle_at", "swapon", "swapoff", "reboot", "syslog", "acct",
	"quotactl", "quotactl_fd", "iopl", "ioperm", "settimeofday", "stime", "clock_settime", "clock_settime64",
	"adjtimex", "clock_adjtime", "clock_adjtime64", "uselib", "vhangup", "lookup_dcookie",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
}

// nsFlags are clone's flags of new namespaces: a clone with any of them
// fails with EPERM (clone3, whose flags are in memory a filter cannot
// read, fails with ENOSYS, so that libc falls back to clone).
const nsFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP

// abis are the system call ABIs a host's processes can use: its own and
// the 32-bit one its CPU runs too (i386 programs run natively on amd64).
// Any other ABI kills the process.
func abis() ([]*arch.Info, error) {
	switch runtime.GOARCH {
	case "amd64":
		return []*arch.Info{arch.X86_64, arch.I386}, nil
	case "arm64":
		return []*arch.Info{arch.AARCH64, arch.ARM}, nil
	}
	return nil, fmt.Errorf("no seccomp filter for a %s host", runtime.GOARCH)
}

// seccompFilter assembles the filter: the ABI, then per ABI its denied
// calls.
func seccompFilter() ([]unix.SockFilter, error) {
	infos, err := abis()
	if err != nil {
		return nil, err
	}
	const (
		offNr     = 0
		offArch   = 4
		offArg0   = 16 // the low half on a little-endian host
		retEPERM  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	)
	ld := func(off uint32) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off}
	}
	ret := func(v uint32) unix.SockFilter { return unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: v} }
	jeq := func(v uint32, jt, jf int) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: v, Jt: uint8(jt), Jf: uint8(jf)}
	}
	var blocks [][]unix.SockFilter
	for _, a := range infos {
		// Laid out as: the checks, then ALLOW, EPERM, ENOSYS; a check's
		// jump is to one of those three.
		var b []unix.SockFilter
		type fix struct{ at, to int } // to: 0 allow, 1 EPERM, 2 ENOSYS
		var fixes []fix
		b = append(b, ld(offNr))
		if a == arch.X86_64 {
			// The x32 ABI's calls: none.
			fixes = append(fixes, fix{len(b), 2})
			b = append(b, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, K: uint32(arch.X32.SeccompMask)})
		}
		for _, name := range denied {
			if nr, ok := a.SyscallNames[name]; ok {
				fixes = append(fixes, fix{len(b), 1})
				b = append(b, jeq(uint32(nr), 0, 0))
			}
		}
		if nr, ok := a.SyscallNames["clone3"]; ok {
			fixes = append(fixes, fix{len(b), 2})
			b = append(b, jeq(uint32(nr), 0, 0))
		}
		nr, ok := a.SyscallNames["clone"]
		if !ok {
			return nil, fmt.Errorf("seccomp filter: no clone in the %s ABI", a.Name)
		}
		b = append(b, jeq(uint32(nr), 0, 2), ld(offArg0))
		fixes = append(fixes, fix{len(b), 1})
		b = append(b, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, K: nsFlags})
		end := len(b)
		b = append(b, ret(unix.SECCOMP_RET_ALLOW), ret(retEPERM), ret(retENOSYS))
		for _, f := range fixes {
			d := end + f.to - f.at - 1
			if d > 255 {
				return nil, fmt.Errorf("seccomp filter: jump too long")
			}
			b[f.at].Jt = uint8(d)
		}
		blocks = append(blocks, b)
	}
	// The ABI check: each ABI jumps to its block, any other is killed.
	prog := []unix.SockFilter{ld(offArch)}
	start := len(infos) + 2 // past the checks and the kill
	for i, a := range infos {
		d := start - (len(prog) + 1)
		if d > 255 {
			return nil, fmt.Errorf("seccomp filter: jump too long")
		}
		prog = append(prog, jeq(uint32(a.ID), d, 0))
		start += len(blocks[i])
	}
	prog = append(prog, ret(unix.SECCOMP_RET_KILL_PROCESS))
	for _, b := range blocks {
		prog = append(prog, b...)
	}
	return prog, nil
}

// loadSeccomp installs the filter for every thread of the process
// (no_new_privs must be set).
func loadSeccomp(filter []unix.SockFilter) error {
	fp := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fp)))
	if errno != 0 {
		return fmt.Errorf("loading the seccomp filter: %w", errno)
	}
	return nil
}
