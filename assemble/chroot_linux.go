package assemble

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// runChrooted runs argv with dir as its root directory and returns its
// standard output. It runs in a new user namespace whose root is the
// caller, so no privilege is needed, and in new mount, network (none),
// IPC and UTS namespaces; where the kernel refuses user namespaces, root
// falls back to a chroot as UID and GID 65534. dir must be readable by
// that user. An error
// wrapping errCannotRun means the program could not be started at all.
func runChrooted(ctx context.Context, dir string, argv, env []string, stdin []byte) ([]byte, error) {
	run := func(userns bool) ([]byte, error, bool) {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env, cmd.Dir = env, "/"
		cmd.Stdin = bytes.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		// No network, no shared IPC or host name, whichever way it runs.
		attr := &syscall.SysProcAttr{Chroot: dir, Pdeathsig: syscall.SIGKILL,
			Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS}
		if userns {
			attr.Cloneflags |= syscall.CLONE_NEWUSER
			attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
			attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
			attr.GidMappingsEnableSetgroups = false
		} else {
			// Root without user namespaces: not as root, which a chroot
			// would not contain.
			attr.Credential = &syscall.Credential{Uid: 65534, Gid: 65534}
		}
		cmd.SysProcAttr = attr
		if err := cmd.Start(); err != nil {
			return nil, err, false
		}
		err := cmd.Wait()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err(), true
			}
			msg := strings.TrimSpace(errb.String())
			if len(msg) > 2000 {
				msg = "…" + msg[len(msg)-2000:]
			}
			return nil, fmt.Errorf("%s: %v: %s", argv[0], err, msg), true
		}
		return out.Bytes(), nil, true
	}
	out, err, started := run(true)
	if !started && os.Geteuid() == 0 {
		var err2 error
		if out, err2, started = run(false); started {
			return out, err2
		}
	}
	if !started {
		return nil, fmt.Errorf("%w: starting %s in a user namespace chrooted to the image: %v", errCannotRun, argv[0], err)
	}
	return out, err
}
