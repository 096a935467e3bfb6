package distroless

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAppUsage: application flags that cannot work are usage errors
// (exit 2) before anything is fetched.
func TestAppUsage(t *testing.T) {
	dir := t.TempDir()
	req := filepath.Join(dir, "r.txt")
	os.WriteFile(req, nil, 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--python-index", "http://127.0.0.1:9/simple/"}, "--python-index needs --python-requirements"},
		{[]string{"--python-requirements", req}, "--python-requirements needs a source"},
		{[]string{"--python-requirements", req, "--python-wheels", dir, "--python-index", "http://127.0.0.1:9/"}, "give one source of wheels"},
		{[]string{"--python-requirements", filepath.Join(dir, "none.txt"), "--python-wheels", dir}, "--python-requirements: stat"},
	} {
		_, stderr, code := cli(t, append([]string{"gen", "python3", "--offline", "--cache-dir", filepath.Join(dir, "cache"), "-o", "oci:" + filepath.Join(dir, "out")}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %s", c.args, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "cache")); err == nil {
		t.Errorf("a usage error made the cache")
	}
}
