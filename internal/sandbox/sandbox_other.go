//go:build !linux

package sandbox

import (
	"context"
	"fmt"
	"runtime"
)

// Main returns at once: there is no sandbox child off Linux.
func Main() {}

// Run fails: the sandbox needs Linux.
func Run(ctx context.Context, c Cmd) error {
	return fmt.Errorf("%w: it needs Linux, not %s", ErrUnavailable, runtime.GOOS)
}
