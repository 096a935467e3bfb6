package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/pipeline"
)

// TestReleaseAndLockUsage: release and lock update refuse what cannot
// work before touching the network, usage errors (exit 2) for how they
// were called, errors naming the line for a bad release file.
func TestReleaseAndLockUsage(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("registry: r.example.com\nimages:\n  - profile: static\n    users: [admin]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknown, []byte("registry: r.example.com\nimages:\n  - nosuchprofile\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args  []string
		usage bool
		want  string
	}{
		{[]string{"release"}, true, "release takes one release file"},
		{[]string{"release", "a.yaml", "b.yaml"}, true, "got 2 arguments"},
		{[]string{"release", filepath.Join(dir, "missing.yaml")}, true, "missing.yaml"},
		{[]string{"release", "--distro", "debian:trixie", bad}, true, "not --distro or --arch"},
		{[]string{"release", bad}, false, "bad.yaml: line 4: users: \"admin\""},
		{[]string{"release", "--sandbox-timeout", "0s", bad}, true, "--sandbox-timeout 0s: want a positive duration"},
		{[]string{"release", unknown}, false, "unknown.yaml: line 3"},
		{[]string{"lock"}, true, "lock takes a subcommand"},
		{[]string{"lock", "update", "static"}, true, "needs --lock FILE"},
		{[]string{"lock", "update", "--lock", "x.lock"}, true, "name at least one PROFILE"},
		{[]string{"lock", "update", "--release", bad, "static"}, true, "not both"},
		{[]string{"lock", "update", "--release", bad, "--lock", "x"}, true, "drop --lock"},
		{[]string{"lock", "update", "--release", bad, "--arch", "arm64"}, true, "not --distro or --arch"},
		{[]string{"lock", "update", "--release", bad}, false, "line 4"},
		{[]string{"lock", "update", "--lock", filepath.Join(dir, "x.lock"), "--distro", "debian:trixie", "nosuchprofile"}, true, "nosuchprofile"},
	} {
		root := newRoot()
		root.SetArgs(append(c.args, "--cache-dir", dir, "--offline"))
		root.SetOut(io.Discard)
		err := root.Execute()
		var ue *usageError
		var lue *pipeline.UsageError
		isUsage := errors.As(err, &ue) || errors.As(err, &lue)
		if err == nil || isUsage != c.usage || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v (usage error: %v), want %q (usage error: %v)", c.args, err, isUsage, c.want, c.usage)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.lock")); !os.IsNotExist(err) {
		t.Error("a refused lock update wrote its lockfile")
	}
}

// TestReleaseMissingProfileFile: a profile file the release names that
// is not there is an error naming the image, its line and the file.
func TestReleaseMissingProfileFile(t *testing.T) {
	dir := t.TempDir()
	rf := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(rf, []byte("registry: r.example.com\nimages:\n  - file: nothere.yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"release", rf}, {"lock", "update", "--release", rf}} {
		root := newRoot()
		root.SetArgs(append(args, "--cache-dir", dir, "--offline"))
		root.SetOut(io.Discard)
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), "image nothere (line 3)") || !strings.Contains(err.Error(), filepath.Join(dir, "nothere.yaml")) {
			t.Errorf("%v: %v", args, err)
		}
	}
}
