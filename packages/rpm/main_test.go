package rpm

import (
	"os"
	"sync"
	"testing"

	"github.com/distroless-dev/distroless/packages/rpm/rpmtest"
)

// The test repositories, copied once per test run from the build
// rpmtest.BuildShared keeps (rpmbuild, createrepo_c and gpg take tens of
// seconds of CPU) and removed at the end.
var (
	fixtureOnce sync.Once
	fixture     *rpmtest.Fixture
	fixtureErr  error
	fixtureDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// needFixture returns the built repositories. The tools they need are
// installed by scripts/test.sh: a missing one fails the test.
func needFixture(t testing.TB) *rpmtest.Fixture {
	t.Helper()
	if testing.Short() {
		t.Skip("the test repositories (rpmbuild): skipped with -short; the full test command runs it")
	}
	fixtureOnce.Do(func() {
		if why := rpmtest.Supported(); why != "" {
			fixtureErr = errorString(why)
			return
		}
		fixtureDir, fixtureErr = os.MkdirTemp("", "distroless-rpmtest-")
		if fixtureErr == nil {
			fixture, fixtureErr = rpmtest.BuildShared(fixtureDir)
		}
	})
	if fixtureErr != nil {
		t.Fatalf("building the test repositories: %v", fixtureErr)
	}
	return fixture
}

type errorString string

func (e errorString) Error() string { return string(e) }
