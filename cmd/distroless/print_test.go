package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/pipeline"
	"golang.org/x/sys/unix"
)

// TestIsTerminal: progress is rewritten in place only on a terminal. A
// character device that is not one (/dev/null), a regular file and a pipe
// get plain lines; a pseudo-terminal gets the rewritten line.
func TestIsTerminal(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Errorf("%s is taken for a terminal", os.DevNull)
	}
	file, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if isTerminal(file) {
		t.Error("a regular file is taken for a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(w) {
		t.Error("a pipe is taken for a terminal")
	}

	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer pts.Close()
	if !isTerminal(pts) {
		t.Error("a pseudo-terminal is not taken for a terminal")
	}
}

// TestFormatSize: sizes in messages are in decimal units, one unit each.
func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 160_900: "160.9 kB",
		15_000_000: "15.0 MB", 2_500_000_000: "2.5 GB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// gen's stdout: the bare digest for files and layouts, REPO@DIGEST per
// repository pushed, the digest first.
func TestWriteGenRefs(t *testing.T) {
	const d = "sha256:0123"
	push := func(refs ...string) []pipeline.GenPushed {
		var out []pipeline.GenPushed
		for _, r := range refs {
			out = append(out, pipeline.GenPushed{Ref: r, Tags: []string{"t"}})
		}
		return out
	}
	for _, tc := range []struct {
		outputs []string
		pushed  []pipeline.GenPushed
		want    string
	}{
		{[]string{"oci:./x"}, nil, d + "\n"},
		{[]string{"oci-archive:x.tar", "docker-archive:y.tar"}, nil, d + "\n"},
		{[]string{"r.example/a:t", "r.example/a:u"}, push("r.example/a@" + d), "r.example/a@" + d + "\n"},
		{[]string{"r.example/a:t", "r.example/a@" + d}, push("r.example/a@" + d), "r.example/a@" + d + "\n"},
		{[]string{"r.example/a:t", "oci:./x", "r.example/b:t"}, push("r.example/a@"+d, "r.example/b@"+d), d + "\nr.example/a@" + d + "\nr.example/b@" + d + "\n"},
	} {
		var b strings.Builder
		if err := writeGenRefs(&b, &pipeline.GenResult{Digest: d, Outputs: tc.outputs, Pushed: tc.pushed}); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("outputs %v: stdout %q, want %q", tc.outputs, b.String(), tc.want)
		}
	}
}

func TestWriteWhyChoices(t *testing.T) {
	choice := pipeline.JSONChoice{Dep: "awk", RequiredBy: []string{"app"}, Layer: "app", Chosen: "mawk",
		Why: "the smallest added closure",
		Options: []pipeline.JSONOption{
			{Name: "mawk", Version: "1.3", AddedSize: 300 * 1024, AddedPackages: 1},
			{Name: "gawk", Version: "5", AddedSize: 6100 * 1024, AddedPackages: 3},
			{Name: "busybox", Pruned: true},
			{Name: "mawk-conflicting", Rejected: "mawk-conflicting conflicts with libx (libx: Conflicts: mawk-conflicting), in through app → libx"},
		}}
	var b strings.Builder
	if err := writeWhy(&b, &pipeline.WhyResult{Profile: "p", Distro: "d", Package: "gawk", Choices: []pipeline.JSONChoice{choice}}); err != nil {
		t.Fatal(err)
	}
	want := `gawk is not in p on d; it was a candidate of:
  awk, required by app (layer app): took mawk: the smallest added closure
    * mawk 1.3: adds 307.2 kB installed in 1 packages
      gawk 5: adds 6.2 MB installed in 3 packages
      busybox: pruned, adds nothing
      mawk-conflicting: mawk-conflicting conflicts with libx (libx: Conflicts: mawk-conflicting), in through app → libx
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
