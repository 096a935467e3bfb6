package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFileFlagIsTheProfile: -f/--file is the profile file; on gen a
// value shaped SRC:DEST that names no file is a host file to copy (as
// --add-file), and elsewhere a usage error saying so; a profile file whose
// name has that shape is still read as one.
func TestFileFlagIsTheProfile(t *testing.T) {
	// gen: the host file is judged (its SRC does not exist here).
	_, err := run(t, "gen", "python3", "--file", "nosuch.py:/app/app.py", "--offline", "--cache-dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "nosuch.py") || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("gen --file nosuch.py:/app/app.py: %v, want the added file's error", err)
	}
	// gen with a host file and no profile: the PROFILE is missing.
	var ue *usageError
	if _, err := run(t, "gen", "-f", "conf:/etc/app", "--offline", "--cache-dir", t.TempDir()); !errors.As(err, &ue) || !strings.Contains(err.Error(), "takes 1 argument(s)") {
		t.Errorf("gen -f conf:/etc/app: %v, want a usage error asking for the PROFILE", err)
	}
	// Not gen: a usage error.
	if _, err := run(t, "resolve", "--file=x:/y", "--offline", "--cache-dir", t.TempDir()); !errors.As(err, &ue) || !strings.Contains(err.Error(), "is gen's") {
		t.Errorf("resolve --file=x:/y: %v, want a usage error: host files are gen's", err)
	}
	// Two profile files.
	if _, err := run(t, "gen", "-f", "a.yaml", "-f", "b.yaml", "--offline", "--cache-dir", t.TempDir()); !errors.As(err, &ue) || !strings.Contains(err.Error(), "one profile file") {
		t.Errorf("gen -f a.yaml -f b.yaml: %v, want a usage error", err)
	}
	// The sorting itself: order kept, the one profile file apart.
	pf := profileFlags{fileArgs: []string{"p.yaml", "a:/x", "b:/y"}}
	if err := pf.sortFiles(true); err != nil || pf.file != "p.yaml" || !slices.Equal(pf.hostFiles, []string{"a:/x", "b:/y"}) {
		t.Errorf("sortFiles: %v %q %q", err, pf.file, pf.hostFiles)
	}
	// A missing profile file of an ordinary name: the error of reading it.
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	if _, err := run(t, "gen", "-f", missing, "--offline", "--cache-dir", t.TempDir()); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
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
	if _, err := run(t, "gen", "-f", filepath.Join(odd, "p.yaml"), "--offline", "--cache-dir", t.TempDir()); err == nil || strings.Contains(err.Error(), "added file") {
		t.Errorf("-f a:/p.yaml: %v, want the profile's own error", err)
	}
}
