package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile of the whole run to the file
// $DISTROLESS_CPUPROFILE names, and the run's allocations (pprof's
// "allocs": every allocation, by bytes and count) to the file
// $DISTROLESS_MEMPROFILE names, when they are set; the returned function
// stops them. For measuring (scripts/bench.sh), not for users.
func startProfile() func() {
	stop := func() {}
	if path := os.Getenv("DISTROLESS_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "distroless: cpu profile:", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "distroless: cpu profile:", err)
			f.Close()
		} else {
			stop = func() { pprof.StopCPUProfile(); f.Close() }
		}
	}
	path := os.Getenv("DISTROLESS_MEMPROFILE")
	if path == "" {
		return stop
	}
	return func() {
		stop()
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "distroless: allocation profile:", err)
			return
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			fmt.Fprintln(os.Stderr, "distroless: allocation profile:", err)
		}
	}
}
