package distroless

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/internal/sandbox"
)

// Shared by the integration tests of this package: one download cache per
// test run (cold at the start, so a run measures a fresh machine) and the
// distroless binary built from this tree.
var (
	testCache string
	testBin   string
	// testMaxRSS is testdata/maxrss, a launcher that prints the peak RSS
	// of the command it starts (read it with peakRSS; start the binary
	// through it with clitest.Cmd.Wrap): a process the test binary starts
	// itself inherits the test binary's peak with its memory (the kernel
	// keeps the peak across execve), which would hide the command's own.
	testMaxRSS string
)

func TestMain(m *testing.M) {
	// Gen in this process runs the image's programs through the sandbox.
	sandbox.Main()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "distroless-test-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	testCache = filepath.Join(dir, "cache")
	testBin = filepath.Join(binDir(dir), "distroless")
	build := exec.Command("go", "build", "-o", testBin, "./cmd/distroless")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		panic("building the distroless binary: " + err.Error())
	}
	testMaxRSS = filepath.Join(binDir(dir), "maxrss")
	build = exec.Command("go", "build", "-o", testMaxRSS, "./testdata/maxrss")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		panic("building testdata/maxrss: " + err.Error())
	}
	return m.Run()
}

// integration marks a test that needs the network (a real Debian mirror)
// or podman: `go test -short` skips it, the full test command runs it.
func integration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test (network or podman): skipped with -short")
	}
}

// peakRSS is the peak resident set size in bytes that testdata/maxrss
// printed in stderr, or -1 when it printed none.
func peakRSS(stderr string) int64 {
	var kib int64 = -1
	for _, line := range strings.Split(stderr, "\n") {
		fmt.Sscanf(line, "maxrss: %d KiB", &kib)
	}
	if kib < 0 {
		return -1
	}
	return kib << 10
}

// runBin runs the distroless binary in dir ("" = the current directory);
// err is for a binary that could not run or was killed.
func runBin(dir string, args ...string) (stdout, stderr string, code int, err error) {
	r, err := clitest.Exec(testBin, clitest.Cmd{Dir: dir}, args...)
	return r.Stdout, r.Stderr, r.Code, err
}

// cli runs the distroless binary and returns stdout, stderr and the exit
// status; a binary that cannot run fails the test.
func cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	r := clitest.Run(t, testBin, clitest.Cmd{}, args...)
	return r.Stdout, r.Stderr, r.Code
}
