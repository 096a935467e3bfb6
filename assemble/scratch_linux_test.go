package assemble

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestIsTmpfs: the compile's root goes to a tmpfs only where programs may
// run from it and it has room; a disk's directory is not one.
func TestIsTmpfs(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounts file systems: needs root (the test command runs as root)")
	}
	dir := t.TempDir()
	mount := func(name, opts string) string {
		p := filepath.Join(dir, name)
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", p, "tmpfs", 0, opts); err != nil {
			t.Fatalf("mount tmpfs %s: %v", opts, err)
		}
		t.Cleanup(func() { unix.Unmount(p, unix.MNT_DETACH) })
		return p
	}
	plain := mount("plain", "size=4m")
	noexec := filepath.Join(dir, "noexec")
	os.Mkdir(noexec, 0o755)
	if err := unix.Mount("tmpfs", noexec, "tmpfs", unix.MS_NOEXEC, "size=4m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(noexec, unix.MNT_DETACH) })
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o755)
	if err := unix.Mount("tmpfs", ro, "tmpfs", unix.MS_RDONLY, "size=4m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(ro, unix.MNT_DETACH) })
	for _, c := range []struct {
		dir  string
		room int64
		want bool
	}{
		{plain, 1 << 20, true},
		{plain, 8 << 20, false}, // no room
		{noexec, 1 << 20, false},
		{ro, 1 << 20, false},
		{filepath.Join(dir, "missing"), 0, false},
	} {
		if got := isTmpfs(c.dir, c.room); got != c.want {
			t.Errorf("isTmpfs(%s, %d) = %v, want %v", filepath.Base(c.dir), c.room, got, c.want)
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err == nil && st.Type != unix.TMPFS_MAGIC && isTmpfs(dir, 0) {
		t.Errorf("%s is not a tmpfs, but isTmpfs says it is", dir)
	}
	// TMPDIR, when set, is where the root goes, tmpfs or not.
	for _, d := range []string{plain, dir} {
		t.Setenv("TMPDIR", d)
		if got := scratchDir(1 << 20); got != "" {
			t.Errorf("scratchDir with TMPDIR=%s = %q, want the temporary directory", d, got)
		}
	}
	// Unset: /tmp, unless it is on a disk and /dev/shm is a tmpfs with room.
	t.Setenv("TMPDIR", "")
	os.Unsetenv("TMPDIR")
	want := ""
	if !isTmpfs("/tmp", 0) && isTmpfs("/dev/shm", 2<<20+64<<20) {
		want = "/dev/shm"
	}
	if got := scratchDir(1 << 20); got != want {
		t.Errorf("scratchDir without TMPDIR = %q, want %q", got, want)
	}
}
