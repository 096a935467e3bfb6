package assemble

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// An unreadable host file is refused by HostFiles, naming it. Under root
// (who reads any mode-000 file) a write-only sysctl stands in for it.
func TestHostFilesUnreadable(t *testing.T) {
	src := "/proc/sys/vm/drop_caches" // --w-------: not even root reads it
	if os.Geteuid() != 0 {
		d := t.TempDir()
		src = filepath.Join(d, "secret")
		if err := os.WriteFile(src, []byte("x"), 0o000); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.ReadFile(src); err == nil {
		t.Fatalf("%s is readable here; the test needs a file this user cannot read", src)
	}
	_, err := HostFiles(src, "/etc/x", HostOptions{})
	if err == nil || !strings.Contains(err.Error(), src+": cannot be read") {
		t.Errorf("got %v, want %s: cannot be read", err, src)
	}
}

// A host file swapped after HostFiles listed it (for a symlink to a file
// outside the tree, or a FIFO) fails the build naming it: the link is not
// followed, the FIFO does not block, nothing of either is read.
func TestHostFilesSwapped(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(outside, []byte("SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, swap := range map[string]func(p string) error{
		"symlink": func(p string) error { return os.Symlink(outside, p) },
		"FIFO":    func(p string) error { return syscall.Mkfifo(p, 0o644) },
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			p := filepath.Join(d, "conf")
			if err := os.WriteFile(p, []byte("a=1"), 0o644); err != nil {
				t.Fatal(err)
			}
			files, err := HostFiles(d, "/etc/app", HostOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := swap(p); err != nil {
				t.Fatal(err)
			}
			img, _, err := Build(context.Background(), newFixture().spec(Layer{Name: "top", Files: files}))
			if err == nil || !strings.Contains(err.Error(), p) {
				t.Fatalf("got %v (image %v), want an error naming %s", err, img != nil, p)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("the error holds the other file's content: %v", err)
			}
		})
	}
}

// A device is refused, naming it: given as src itself (/dev/null), and
// inside a tree (a character device made with mknod, where this user may).
func TestHostFilesDevice(t *testing.T) {
	if _, err := HostFiles("/dev/null", "/etc/x", HostOptions{}); err == nil || !strings.Contains(err.Error(), "/dev/null: a device file") {
		t.Errorf("/dev/null: got %v, want a device file error naming it", err)
	}
	d := t.TempDir()
	dev := filepath.Join(d, "null")
	if err := syscall.Mknod(dev, syscall.S_IFCHR|0o644, 1<<8|3); err != nil {
		if os.Geteuid() == 0 {
			t.Fatalf("mknod under root: %v", err)
		}
		return // no device to put in a tree; /dev/null above was checked
	}
	if _, err := HostFiles(d, "/srv", HostOptions{}); err == nil || !strings.Contains(err.Error(), dev+": a device file") {
		t.Errorf("a tree with a device: got %v, want a device file error naming %s", err, dev)
	}
}
