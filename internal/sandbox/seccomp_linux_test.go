package sandbox

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/sys/unix"
)

// evalFilter runs the filter on one system call (a classic BPF machine
// for the instructions the filter uses).
func evalFilter(t *testing.T, prog []unix.SockFilter, auditArch uint32, nr int, arg0 uint64) uint32 {
	t.Helper()
	data := make([]byte, 64)
	binary.LittleEndian.PutUint32(data[0:], uint32(nr))
	binary.LittleEndian.PutUint32(data[4:], auditArch)
	binary.LittleEndian.PutUint64(data[16:], arg0)
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			a = binary.LittleEndian.Uint32(data[in.K:])
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			var c bool
			switch in.Code &^ (unix.BPF_JMP | unix.BPF_K) {
			case unix.BPF_JEQ:
				c = a == in.K
			case unix.BPF_JGE:
				c = a >= in.K
			case unix.BPF_JSET:
				c = a&in.K != 0
			}
			if c {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		default:
			t.Fatalf("instruction %d: code %#x", pc, in.Code)
		}
	}
	t.Fatal("the filter ran off its end")
	return 0
}

// TestSeccompFilter checks the filter's verdicts for each ABI the host
// runs, the compat one included (i386 programs run natively on amd64;
// this kernel may not run them, so the verdicts are checked here).
func TestSeccompFilter(t *testing.T) {
	prog, err := seccompFilter()
	if err != nil {
		t.Fatal(err)
	}
	infos, _ := abis()
	const (
		allow  = unix.SECCOMP_RET_ALLOW
		eperm  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	)
	for _, a := range infos {
		id := uint32(a.ID)
		for _, c := range []struct {
			name string
			arg0 uint64
			want uint32
		}{
			{"chroot", 0, eperm}, {"mount", 0, eperm}, {"umount2", 0, eperm}, {"pivot_root", 0, eperm},
			{"unshare", 0, eperm}, {"setns", 0, eperm}, {"ptrace", 0, eperm}, {"keyctl", 0, eperm},
			{"bpf", 0, eperm}, {"init_module", 0, eperm}, {"process_vm_writev", 0, eperm},
			{"clone3", 0, enosys},
			{"clone", unix.CLONE_NEWUSER, eperm}, {"clone", unix.CLONE_NEWNS | unix.CLONE_VM, eperm},
			{"clone", unix.CLONE_NEWPID, eperm}, {"clone", unix.CLONE_NEWNET, eperm},
			{"clone", unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND | unix.CLONE_FS | unix.CLONE_FILES, allow},
			{"clone", uint64(unix.SIGCHLD), allow},
			{"read", 0, allow}, {"write", 0, allow}, {"execve", 0, allow}, {"exit_group", 0, allow},
		} {
			nr, ok := a.SyscallNames[c.name]
			if !ok {
				t.Fatalf("%s: no %s", a.Name, c.name)
			}
			if got := evalFilter(t, prog, id, nr, c.arg0); got != c.want {
				t.Errorf("%s %s(%#x): %#x, want %#x", a.Name, c.name, c.arg0, got, c.want)
			}
		}
	}
	if runtime.GOARCH == "amd64" {
		// The x32 ABI: nothing.
		if got := evalFilter(t, prog, uint32(arch.X86_64.ID), arch.X32.SyscallNames["read"]|arch.X32.SeccompMask, 0); got != enosys {
			t.Errorf("x32 read: %#x", got)
		}
	}
	// Another ABI is killed.
	if got := evalFilter(t, prog, uint32(arch.MIPS.ID), 0, 0); got != unix.SECCOMP_RET_KILL_PROCESS {
		t.Errorf("another ABI: %#x", got)
	}
}
