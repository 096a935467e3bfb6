package clitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// DefaultTimeout bounds a run whose Cmd sets no Timeout.
const DefaultTimeout = 10 * time.Minute

// Cmd is how a program is run: where, in which environment, through
// which launcher.
type Cmd struct {
	// Dir is the working directory ("" is the test's).
	Dir string
	// Env is added to the test process's environment; with Environ set,
	// to Environ instead.
	Env []string
	// Environ, when not nil, replaces the test process's environment.
	Environ []string
	// Wrap is a launcher and its arguments the program is started
	// through ("prlimit", "--fsize=N", "--"): the program's path and
	// arguments follow them.
	Wrap []string
	// Stdin is the program's standard input (none when nil).
	Stdin io.Reader
	// Timeout bounds the run (DefaultTimeout when 0); the program is
	// killed when it is over.
	Timeout time.Duration
}

// Result is what a finished program gave.
type Result struct {
	Stdout, Stderr string
	Code           int // the exit status
}

// Command is the exec.Cmd for bin args run as c says, for a test that
// needs to hold the process (to signal it, to read its stderr as it
// comes); cancel releases the timeout's context once it has ended.
func Command(bin string, c Cmd, args ...string) (cmd *exec.Cmd, cancel context.CancelFunc) {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	argv := slices.Concat(c.Wrap, []string{bin}, args)
	cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.Dir
	if c.Environ != nil {
		cmd.Env = slices.Concat(c.Environ, c.Env)
	} else if len(c.Env) > 0 {
		cmd.Env = slices.Concat(os.Environ(), c.Env)
	}
	cmd.Stdin = c.Stdin
	// A killed program's children may hold its output open: stop
	// waiting for them a while after it ended.
	cmd.WaitDelay = time.Minute
	return cmd, cancel
}

// Exec runs bin args as c says and returns its output and exit status;
// the error is for a program that could not be started or was killed by
// a signal (the timeout among them), not for a non-zero exit.
func Exec(bin string, c Cmd, args ...string) (Result, error) {
	cmd, cancel := Command(bin, c, args...)
	defer cancel()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() >= 0 {
		r.Code, err = ee.ExitCode(), nil
	}
	return r, err
}

// Run is Exec for a test: a program that cannot be started, or that was
// killed by a signal, fails the test.
func Run(t testing.TB, bin string, c Cmd, args ...string) Result {
	t.Helper()
	r, err := Exec(bin, c, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, Tail(r.Stderr, 20))
	}
	return r
}

// Must is Run for a run that has to succeed: a non-zero exit fails the
// test with the end of stderr.
func Must(t testing.TB, bin string, c Cmd, args ...string) Result {
	t.Helper()
	r := Run(t, bin, c, args...)
	if r.Code != 0 {
		t.Fatalf("%s %s: exit %d\n%s", bin, strings.Join(args, " "), r.Code, Tail(r.Stderr, 40))
	}
	return r
}

// Tail is the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// DecodeOne decodes s as exactly one JSON value, rejecting unknown
// fields and anything after it.
func DecodeOne(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("more than one JSON value (next: %v)", err)
	}
	return nil
}
