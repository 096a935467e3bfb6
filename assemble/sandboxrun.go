package assemble

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/distroless-dev/distroless/internal/sandbox"
)

// SandboxLimits bound a program of the image the build runs (the Python
// compiler): wall-clock and CPU time, address space, processes, file
// size, descriptors. A zero field takes DefaultSandboxLimits'.
type SandboxLimits = sandbox.Limits

// DefaultSandboxLimits are the limits a zero SandboxLimits field means.
var DefaultSandboxLimits = sandbox.DefaultLimits

// SandboxMain must be called first thing in main by a program that builds
// images with Python bytecode (Spec's layers with PythonBytecode): the
// sandbox's first process is that program started again, and this is
// where it turns into the sandboxed program. Otherwise it returns at once.
// Without it, no program of an image is run and those layers get no
// bytecode (with a warning).
func SandboxMain() { sandbox.Main() }

// runSandboxed runs argv (a program of the root filesystem at dir) in the
// sandbox (internal/sandbox) with stdin as its standard input, and
// returns its standard output, refused past maxOut bytes. An error
// wrapping errCannotRun means it could not be started at all.
func runSandboxed(ctx context.Context, dir string, argv, env []string, stdin []byte, maxOut int64, limits SandboxLimits) ([]byte, error) {
	out, err := runSandboxedParts(ctx, dir, argv, env, stdin, maxOut, limits)
	if err != nil {
		return nil, err
	}
	return bytes.Join(out.bufs, nil), nil
}

// runSandboxedParts is runSandboxed with the output kept as the parts it
// was read in, not copied again as it grows.
func runSandboxedParts(ctx context.Context, dir string, argv, env []string, stdin []byte, maxOut int64, limits SandboxLimits) (*parts, error) {
	out := &parts{}
	err := sandbox.Run(ctx, sandbox.Cmd{Root: dir, Argv: argv, Env: env, Stdin: bytes.NewReader(stdin),
		Stdout: out, MaxStdout: maxOut, Limits: limits})
	if errors.Is(err, sandbox.ErrUnavailable) {
		return nil, fmt.Errorf("%w: %v", errCannotRun, err)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// partSize is the size of a parts buffer.
const partSize = 1 << 20

// parts is a program's output as written, in buffers of partSize bytes,
// rather than one buffer copied again each time it doubles.
type parts struct {
	bufs [][]byte
}

func (p *parts) Write(b []byte) (int, error) {
	k := len(b)
	for len(b) > 0 {
		if len(p.bufs) == 0 || len(p.bufs[len(p.bufs)-1]) == partSize {
			p.bufs = append(p.bufs, make([]byte, 0, partSize))
		}
		last := &p.bufs[len(p.bufs)-1]
		c := min(len(b), partSize-len(*last))
		*last = append(*last, b[:c]...)
		b = b[c:]
	}
	return k, nil
}

// pycOutputBound is the most output the compiler may write for srcs:
// four times their bytes, 16 KiB more each (a line such as x = "a"*4096
// compiles to a 4 kB constant) and 1 MiB.
func (t *tree) pycOutputBound(srcs []string) int64 {
	n := int64(1 << 20)
	for _, s := range srcs {
		n += 16 << 10
		if rp, err := t.realpath(s, true); err == nil && t.view[rp] != nil {
			n += 4 * t.view[rp].c.size()
		}
	}
	return n
}
