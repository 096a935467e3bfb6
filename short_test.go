package distroless

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// heavy marks a hermetic test that mostly waits (retry backoff, stalls) or
// needs the RPM test repositories (rpmbuild): `go test -short` skips it,
// the full test command (scripts/test.sh, without -short) runs it.
func heavy(t *testing.T, why string) {
	t.Helper()
	if testing.Short() {
		t.Skip(why + ": skipped with -short; the full test command runs it")
	}
}

// TestTimeoutUsage: a --timeout that is not a duration is a usage error
// naming the flag and the value.
func TestTimeoutUsage(t *testing.T) {
	_, stderr, code := cli(t, "resolve", "static", "--timeout", "soon")
	if code != 2 || !strings.Contains(stderr, `--timeout "soon"`) {
		t.Fatalf("bad --timeout: exit %d\n%s", code, stderr)
	}
}

// binDir is where TestMain builds the binaries the tests run: a directory
// of the user's cache kept for this source tree, where go build finds them
// up to date and links nothing when the tree has not changed (a link of
// the distroless binary is seconds of CPU); tmp without a user cache.
func binDir(tmp string) string {
	base, err := os.UserCacheDir()
	wd, werr := os.Getwd()
	if err != nil || werr != nil {
		return tmp
	}
	sum := sha256.Sum256([]byte(wd))
	dir := filepath.Join(base, "distroless-tests", "bin-"+hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return tmp
	}
	return dir
}
