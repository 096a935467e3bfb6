package assemble

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
)

// Parallel compiling. The sources of one interpreter are cut into
// contiguous runs of about equal bytes, one per core; each run is compiled
// by its own interpreter process, each in the sandbox with its limits and
// its own output bound, and their outputs are joined in path order into
// the stream one process would have written. A .pyc depends only on its
// source (marshal's output does not depend on what else the process
// compiled): TestPycParallelSame and the image digests, the same as with
// one process, show it.

// pycProcs is how many interpreter processes compile at once (0: one per
// core); tests set it.
var pycProcs = 0

// minPycRun is the fewest sources worth a process of their own (starting
// the interpreter costs about as much as compiling a few dozen modules).
const minPycRun = 64

// pycRuns cuts srcs into at most n contiguous runs of about equal size
// (size(s) bytes each), none shorter than minPycRun sources unless it is
// the only one.
func pycRuns(srcs []string, n int, size func(string) int64) [][]string {
	if m := len(srcs) / minPycRun; m < n {
		n = m
	}
	if n <= 1 {
		return [][]string{srcs}
	}
	var total int64
	sizes := make([]int64, len(srcs))
	for i, s := range srcs {
		sizes[i] = size(s) + 512 // a module costs something whatever its size
		total += sizes[i]
	}
	var runs [][]string
	start, acc := 0, int64(0)
	for i := range srcs {
		acc += sizes[i]
		// Close run k once its share of the total is reached.
		if len(runs) < n-1 && acc*int64(n) >= total*int64(len(runs)+1) && i+1-start >= 1 {
			runs = append(runs, srcs[start:i+1])
			start = i + 1
		}
	}
	if start < len(srcs) {
		runs = append(runs, srcs[start:])
	}
	return runs
}

// compilePyc runs the interpreter in (a path of the root filesystem at
// root) on srcs, in several processes at once, and returns the driver's
// output for all of them in srcs' order, as one process writes it, in
// parts (read one after the other).
func (t *tree) compilePyc(ctx context.Context, root, in string, srcs []string, limits SandboxLimits) ([][]byte, error) {
	n := pycProcs
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	runs := pycRuns(srcs, n, func(s string) int64 {
		if rp, err := t.realpath(s, true); err == nil && t.view[rp] != nil {
			return t.view[rp].c.size()
		}
		return 0
	})
	outs := make([]*parts, len(runs))
	errs := make([]error, len(runs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i, run := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var list bytes.Buffer
			for _, s := range run {
				list.WriteString("/" + s + "\n")
			}
			outs[i], errs[i] = runSandboxedParts(ctx, root, []string{"/" + in, "-s", "-S", "-B", "-c", pycDriver}, pycEnv, list.Bytes(), t.pycOutputBound(run), limits)
			if errs[i] != nil {
				cancel() // the others' work is wasted
			}
		}()
	}
	wg.Wait()
	// The first run's error, not the cancellations it caused.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Each ends with its "D\n" (parsePyc checks the whole); the joined
	// stream has one, at its end.
	var all [][]byte
	for i, o := range outs {
		body, ok := cutSuffix(o.bufs, "D\n")
		if !ok {
			return nil, errors.New("the compiler's output ends early")
		}
		if i == len(outs)-1 {
			body = o.bufs
		}
		all = append(all, body...)
	}
	return all, nil
}

// cutSuffix returns bufs (read one after the other) without suffix, and
// whether they end with it; bufs is left as it is.
func cutSuffix(bufs [][]byte, suffix string) ([][]byte, bool) {
	bufs = slices.Clone(bufs)
	for len(suffix) > 0 {
		if len(bufs) == 0 {
			return nil, false
		}
		last := bufs[len(bufs)-1]
		k := min(len(last), len(suffix))
		if string(last[len(last)-k:]) != suffix[len(suffix)-k:] {
			return nil, false
		}
		bufs[len(bufs)-1] = last[:len(last)-k]
		suffix = suffix[:len(suffix)-k]
		if len(bufs[len(bufs)-1]) == 0 {
			bufs = bufs[:len(bufs)-1]
		}
	}
	return bufs, true
}
