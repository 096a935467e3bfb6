package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFileFlagIsTheProfile: -f/--file is the profile file; a value shaped
// SRC:DEST that names no file is a usage error pointing at --add-file,
// before anything is fetched; a profile file whose name has that shape is
// still read as one.
func TestFileFlagIsTheProfile(t *testing.T) {
	for _, args := range [][]string{
		{"gen", "python3", "--file", "app.py:/app/app.py"},
		{"gen", "-f", "conf:/etc/app"},
		{"resolve", "--file=x:/y"},
	} {
		_, err := run(t, append(args, "--offline", "--cache-dir", t.TempDir())...)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "use --add-file SRC:DEST") || !strings.Contains(err.Error(), "-f names a profile file") {
			t.Errorf("%q: %v, want a usage error pointing at --add-file", args, err)
		}
	}
	// A missing profile file of an ordinary name: the error of reading it.
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	if _, err := run(t, "gen", "-f", missing, "--offline", "--cache-dir", t.TempDir()); err == nil || strings.Contains(err.Error(), "--add-file") || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("-f missing.yaml: %v", err)
	}
	// A profile file named like SRC:DEST is read (and its content judged).
	dir := t.TempDir()
	odd := filepath.Join(dir, "a:")
	if err := os.MkdirAll(odd, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(odd, "p.yaml"), []byte("name: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "gen", "-f", filepath.Join(odd, "p.yaml"), "--offline", "--cache-dir", t.TempDir()); err == nil || strings.Contains(err.Error(), "--add-file") {
		t.Errorf("-f a:/p.yaml: %v, want the profile's own error", err)
	}
}
