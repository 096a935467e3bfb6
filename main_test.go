package distroless

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/distroless-dev/distroless/internal/sandbox"
)

// Shared by the integration tests of this package: one download cache per
// test run (cold at the start, so a run measures a fresh machine) and the
// distroless binary built from this tree.
var (
	testCache string
	testBin   string
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
	testBin = filepath.Join(dir, "distroless")
	build := exec.Command("go", "build", "-o", testBin, "./cmd/distroless")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		panic("building the distroless binary: " + err.Error())
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
