//go:build !linux

package assemble

import (
	"context"
	"fmt"
	"runtime"
)

func runChrooted(ctx context.Context, dir string, argv, env []string, stdin []byte) ([]byte, error) {
	return nil, fmt.Errorf("%w: running a program chrooted needs Linux, not %s", errCannotRun, runtime.GOOS)
}
