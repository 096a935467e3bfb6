package sandbox

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/distroless-dev/distroless/internal/units"
)

// Limits bound a sandboxed program. A zero field takes DefaultLimits'.
type Limits struct {
	// Wall is the wall-clock time the program may run; past it the whole
	// sandbox is killed and Run fails naming the program and the limit.
	Wall time.Duration
	// CPU is its CPU time (RLIMIT_CPU, per process).
	CPU time.Duration
	// AddressSpace is each process's virtual memory in bytes
	// (RLIMIT_AS). qemu-user reserves the whole 4 GiB address space of a
	// 32-bit guest (armhf) up front, so this must leave room for that.
	AddressSpace int64
	// Processes is the processes and threads it may have at once
	// (RLIMIT_NPROC, counted in its own user namespace).
	Processes int
	// FileSize is the largest file it may write (RLIMIT_FSIZE); its root
	// is read-only in any case.
	FileSize int64
	// OpenFiles is its descriptors (RLIMIT_NOFILE).
	OpenFiles int
}

// DefaultLimits leave a real compile plenty of room. Measured on an amd64
// host, python3.13 (trixie) compiling its standard library (598 modules)
// through qemu-user: arm64 took 1.5 minutes of CPU time and 284 MB of
// address space at most, armhf 4.4 GB (qemu reserves the 32-bit guest's
// 4 GiB up front); on two cores shared with a load of 20, arm64 took 10
// to 18 minutes of wall-clock time, armhf 5.6. The CPU-time limit ends a
// program that spins, the wall-clock one a program that waits.
var DefaultLimits = Limits{
	Wall:         time.Hour,
	CPU:          15 * time.Minute,
	AddressSpace: 8 << 30,
	Processes:    128,
	FileSize:     64 << 20,
	OpenFiles:    256,
}

// WithDefaults returns l with its zero fields set from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	if l.Wall > 0 {
		d.Wall = l.Wall
	}
	if l.CPU > 0 {
		d.CPU = l.CPU
	}
	if l.AddressSpace > 0 {
		d.AddressSpace = l.AddressSpace
	}
	if l.Processes > 0 {
		d.Processes = l.Processes
	}
	if l.FileSize > 0 {
		d.FileSize = l.FileSize
	}
	if l.OpenFiles > 0 {
		d.OpenFiles = l.OpenFiles
	}
	return d
}

// Cmd is a program to run in the sandbox.
type Cmd struct {
	// Root is the directory that becomes the program's root filesystem
	// (read-only). It and every directory above it must be searchable by
	// everyone and its files readable by everyone: when the caller is
	// root, the program is uid 65534 to the host.
	Root string
	// Argv is the program (a path in Root) and its arguments.
	Argv []string
	// Env is its whole environment.
	Env []string
	// Stdin is its standard input; nil is empty.
	Stdin io.Reader
	// Stdout gets its standard output as it is written, at most
	// MaxStdout bytes: past that the sandbox is killed and Run fails with
	// an *OutputError.
	Stdout    io.Writer
	MaxStdout int64
	Limits    Limits
}

// ErrUnavailable says the sandbox could not be set up here (no user
// namespaces, no seccomp, a setup step refused): the program did not run.
var ErrUnavailable = errors.New("cannot set up the sandbox to run an image's program")

// OutputError says a program wrote more to its standard output than its
// bound.
type OutputError struct {
	Program string
	Max     int64
}

func (e *OutputError) Error() string {
	return fmt.Sprintf("%s wrote more than %s to its standard output, the bound for its input; stopped", e.Program, units.Size(e.Max))
}

// LimitError says the program was stopped by one of its limits.
type LimitError struct {
	Program string
	Limit   string // "wall-clock time 10m0s", "CPU time 10m0s"
	Stderr  string // the end of its standard error
}

func (e *LimitError) Error() string {
	msg := fmt.Sprintf("%s was stopped at its limit of %s (a sandbox setting)", e.Program, e.Limit)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

// stderrKeep is how much of the end of a program's standard error is
// kept.
const stderrKeep = 64 << 10

// tail keeps the last n bytes written to it.
type tail struct {
	n   int
	buf []byte
	cut bool
}

func (t *tail) Write(p []byte) (int, error) {
	w := len(p)
	if len(p) >= t.n {
		t.buf = append(t.buf[:0], p[len(p)-t.n:]...)
		t.cut = true
		return w, nil
	}
	if over := len(t.buf) + len(p) - t.n; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.cut = true
	}
	t.buf = append(t.buf, p...)
	return w, nil
}

func (t *tail) String() string {
	if t.cut {
		return "…" + string(t.buf)
	}
	return string(t.buf)
}
