package publish

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestCleanStale(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * staleTemp)
	mk := func(name string, isDir bool, at time.Time) string {
		p := filepath.Join(dir, name)
		if isDir {
			os.MkdirAll(filepath.Join(p, "blobs"), 0o755)
		} else {
			os.WriteFile(p, []byte("half"), 0o644)
		}
		os.Chtimes(p, at, at)
		return p
	}
	staleDir := mk(".out.tmp-123", true, old)
	staleOld := mk(".out.old-9", true, old)
	fresh := mk(".out.tmp-456", true, time.Now())
	other := mk(".other.tmp-1", true, old)
	staleTar := mk(".img.tar.tmp-77", false, old)
	got := CleanStale("oci:"+filepath.Join(dir, "out")+":v1", WriteOptions{})
	slices.Sort(got)
	if want := []string{staleOld, staleDir}; !slices.Equal(got, want) {
		t.Errorf("removed %v, want %v", got, want)
	}
	for _, p := range []string{fresh, other, staleTar} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed", p)
		}
	}
	if got := CleanStale("docker-archive:"+filepath.Join(dir, "img.tar"), WriteOptions{DefaultRef: "x/y:latest"}); !slices.Equal(got, []string{staleTar}) {
		t.Errorf("archive: removed %v", got)
	}
	if got := CleanStale("registry.example/x:1", WriteOptions{}); got != nil {
		t.Errorf("registry: %v", got)
	}
}
