package assemble

import (
	"archive/tar"
	"context"
	"slices"
	"strings"
	"testing"
)

// fakeBusybox is a file with an applet name table among other data, the
// way a busybox binary holds one.
func fakeBusybox(before string, applets ...string) []byte {
	var b strings.Builder
	b.WriteString("\x7fELF\x02\x01\x01\x00junk\x00")
	// Decoys: a shorter sorted run, an unterminated longer one, text.
	b.WriteString("abc\x00abd\x00abe\x00\x00")
	b.WriteString("a\x00b\x00c\x00d\x00e\x00f\x00g\x00h\x00i\x00j\x00k\x00l\x00Z")
	b.WriteString("Usage: busybox [function [arguments]...]\x00\x00")
	b.WriteString(before)
	for _, a := range applets {
		b.WriteString(a + "\x00")
	}
	b.WriteString("\x00\x13\x21\x00more data\x00")
	return []byte(b.String())
}

var testApplets = []string{"[", "[[", "ash", "busybox", "cat", "ls", "mkfs.vfat", "run-parts", "sh", "ssl_client", "zcat"}

func TestBusyboxApplets(t *testing.T) {
	for _, tc := range []struct {
		name, before string
	}{
		{"after a NUL", "\x00"},
		// The table may follow other data directly: trixie's busybox has
		// " " (0x20) right before "[".
		{"after a space", "\xc0\xae "},
		{"after digits", "\x0e\"\xc03"},
		{"after letters", "\x0e\"xyz"},
		{"after a bracket", "\x01["},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := busyboxApplets(fakeBusybox(tc.before, testApplets...))
			if err != nil || !slices.Equal(got, testApplets) {
				t.Fatalf("got %q, %v; want %q", got, err, testApplets)
			}
		})
	}
	// Without "[": the first name follows a NUL.
	noTest := []string{"ash", "cat", "ls", "sh"}
	if got, err := busyboxApplets(fakeBusybox("\x00", noTest...)); err != nil || !slices.Equal(got, noTest) {
		t.Fatalf("got %q, %v; want %q", got, err, noTest)
	}
	for _, bad := range [][]byte{nil, []byte("no table here"), []byte("sh\x00\x00")} {
		if got, err := busyboxApplets(bad); err == nil {
			t.Errorf("busyboxApplets(%q) = %q", bad, got)
		}
	}
	// Two tables of one length: which is busybox's is unknown.
	two := append(fakeBusybox("\x00", "ash", "cat", "sh"), fakeBusybox("\x00", "bsh", "dog", "ta")...)
	if got, err := busyboxApplets(two); err == nil || !strings.Contains(err.Error(), "two applet name tables") {
		t.Errorf("two tables: %q, %v", got, err)
	}
}

func TestBusyboxLinksGenerator(t *testing.T) {
	fx := newFixture()
	base := layer("base", fx.pkg("base-files", reg("./etc/debian_version", 0o644, "12\n")))
	debug := layer("debug", fx.pkg("busybox-static",
		regBytes("./bin/busybox", 0o755, fakeBusybox("\x00", testApplets...)),
		reg("./usr/share/initramfs-tools/hooks/zz-busybox", 0o755, "#!/bin/sh\n"),
	))
	debug.Generate = []string{"busybox-links"}
	img, _ := mustBuild(t, fx.spec(base, debug))
	root := rootfs(t, img)
	if d, ok := root["busybox"]; !ok || d.h.Typeflag != tar.TypeDir || d.h.Mode != 0o755 {
		t.Fatalf("/busybox: %+v", d.h)
	}
	if l := root["busybox/busybox"]; l.h == nil || l.h.Typeflag != tar.TypeSymlink || l.h.Linkname != "../usr/bin/busybox" {
		t.Fatalf("/busybox/busybox: %+v", l.h)
	}
	var links []string
	for p, f := range root {
		if name, ok := strings.CutPrefix(p, "busybox/"); ok && name != "busybox" {
			if f.h.Typeflag != tar.TypeSymlink || f.h.Linkname != "busybox" {
				t.Errorf("/%s: %c -> %s", p, f.h.Typeflag, f.h.Linkname)
			}
			links = append(links, name)
		}
	}
	slices.Sort(links)
	want := slices.DeleteFunc(slices.Clone(testApplets), func(a string) bool { return a == "busybox" })
	if !slices.Equal(links, want) {
		t.Errorf("applet links %q, want %q", links, want)
	}
	// The links are in the layer of the generator, and the image is the
	// same every time.
	ls, _ := img.Layers()
	inDebug := false
	for _, f := range layerFiles(t, ls[1]) {
		inDebug = inDebug || f.h.Name == "busybox/sh"
	}
	if !inDebug {
		t.Error("/busybox/sh is not in the debug layer")
	}
	img2, _ := mustBuild(t, fx.spec(base, debug))
	if digestOf(t, img) != digestOf(t, img2) {
		t.Error("two builds, two digests")
	}

	// No busybox: an error saying where it was looked for.
	bad := layer("debug", fx.pkg("other", reg("./usr/bin/other", 0o755, "x")))
	bad.Generate = []string{"busybox-links"}
	_, _, err := Build(context.Background(), fx.spec(base, bad))
	if err == nil || !strings.Contains(err.Error(), "generator busybox-links: no busybox binary") || !strings.Contains(err.Error(), "/bin/busybox") {
		t.Fatalf("no busybox: %v", err)
	}
	// A file that is no busybox.
	bad = layer("debug", fx.pkg("fake", reg("./bin/busybox", 0o755, "#!/bin/sh\necho hi\n")))
	bad.Generate = []string{"busybox-links"}
	_, _, err = Build(context.Background(), fx.spec(base, bad))
	if err == nil || !strings.Contains(err.Error(), "no applet name table") {
		t.Fatalf("not a busybox: %v", err)
	}
}
