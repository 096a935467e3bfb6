// Command maxrss runs a command and then prints "maxrss: N KiB", its peak
// resident set size, on stderr, exiting with its exit code. The tests
// start the command through it because a process started by the test
// binary itself inherits the test binary's peak RSS with its memory
// (the kernel keeps the peak across execve), which would hide the
// command's own.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintln(os.Stderr, "maxrss:", err)
		os.Exit(125)
	}
	fmt.Fprintf(os.Stderr, "maxrss: %d KiB\n", cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	os.Exit(cmd.ProcessState.ExitCode())
}
