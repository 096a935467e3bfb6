// Package sandbox runs a program taken from an image (an interpreter of
// the image, directly or through qemu-user) so that it cannot act on the
// host: in new user, mount, PID, network, IPC, UTS and cgroup
// namespaces, its root the image's directory entered with pivot_root
// (read-only, nosuid, nodev; the host's root detached, no /proc), never as
// the host's uid 0 (the namespace's root is uid 65534 outside when the
// caller is root, the caller otherwise), with no_new_privs, no
// capabilities, a seccomp filter that refuses what could leave or widen
// the sandbox (chroot, mount, unshare, setns, namespaces in clone,
// ptrace, keyctl, bpf, …), no descriptors but 0, 1 and 2, only the
// environment it is given, resource limits (Limits) and no network.
// Its standard output is read as a stream and refused past a bound; its
// standard error is kept to its last 64 KiB.
//
// The child is this same executable, started again: a program that uses
// Run must call Main first thing in main (and a test binary that runs
// one, in TestMain). Where the sandbox cannot be set up, Run fails with
// an error wrapping ErrUnavailable and the program has not run.
package sandbox
