package assemble

import (
	"context"
	"io/fs"
	"strings"
	"testing"
)

// longPath returns a clean relative path under dir of exactly n bytes,
// made of components of at most 255 bytes.
func longPath(t *testing.T, dir string, n int) string {
	t.Helper()
	p := dir
	for i := 0; len(p) < n; i++ {
		left := n - len(p) - 1 // after the "/"
		c := min(left, 255)
		if left-c == 1 {
			c-- // a last component needs a slash and a byte
		}
		p += "/" + strings.Repeat(string(rune('a'+i%26)), c)
	}
	if len(p) != n {
		t.Fatalf("longPath made %d bytes, want %d", len(p), n)
	}
	return p
}

// TestPathLimits: an entry whose path, name or symlink target is longer
// than unpackers can create is refused, naming the package and the path
// (shortened); entries at the limits are kept. The limits are checked on
// the path an entry lands at (through symlinks), and not on pruned files.
func TestPathLimits(t *testing.T) {
	atLimit := longPath(t, "usr/share/long", maxImagePath-1) // "/" + it = the limit
	name255 := "usr/share/" + strings.Repeat("n", 255)
	target4095 := "/" + strings.Repeat("t", 4094)
	t.Run("at the limits", func(t *testing.T) {
		f := newFixture()
		p := f.pkg("edge", reg("./"+atLimit, 0o644, "deep\n"), reg("./"+name255, 0o644, "wide\n"),
			sym("./usr/share/farlink", target4095))
		img, _ := mustBuild(t, f.spec(layer("l", p)))
		fs := rootfs(t, img)
		for _, p := range []string{atLimit, name255} {
			if _, ok := fs[p]; !ok {
				t.Errorf("%s… (%d bytes) missing", p[:40], len(p))
			}
		}
		if e := fs["usr/share/farlink"]; e.h == nil || e.h.Linkname != target4095 {
			t.Error("the 4095-byte symlink target is not kept")
		}
	})
	tooLong := longPath(t, "usr/share/long", maxImagePath)
	for _, tc := range []struct {
		name    string
		entries []fakeEntry
		want    []string
	}{
		{"path one byte too long", []fakeEntry{reg("./"+tooLong, 0o644, "x")},
			[]string{"hostile 1.0: path \"/usr/share/long/", "…", "is 3840 bytes long, more than the 3839"}},
		{"directory too long", []fakeEntry{dir("./"+tooLong+"/", 0o755)},
			[]string{"hostile 1.0: path", "is 3840 bytes long"}},
		{"4096-byte path", []fakeEntry{reg("./"+longPath(t, "usr/share/long", 4095), 0o644, "x")},
			[]string{"hostile 1.0: path", "is 4096 bytes long"}},
		{"name of 256 bytes", []fakeEntry{reg("./usr/share/"+strings.Repeat("n", 256), 0o644, "x")},
			[]string{"hostile 1.0: path \"/usr/share/nnn", "has a name of 256 bytes", "more than the 255"}},
		{"name of 256 bytes in a directory", []fakeEntry{reg("./usr/"+strings.Repeat("d", 256)+"/x", 0o644, "x")},
			[]string{"hostile 1.0: path \"/usr/ddd", "has a name of 256 bytes"}},
		{"symlink target of 4096 bytes", []fakeEntry{sym("./usr/bin/far", "/"+strings.Repeat("t", 4095))},
			[]string{"hostile 1.0: symlink \"/usr/bin/far\"", "is 4096 bytes long, more than the 4095"}},
		{"hard link too long", []fakeEntry{reg("./usr/bin/a", 0o755, "x"), hard("./"+tooLong, "./usr/bin/a")},
			[]string{"hostile 1.0: path", "is 3840 bytes long"}},
		{"long through a symlink", []fakeEntry{sym("./usr/share/s", longPath(t, "/usr/share/target", 3800)),
			reg("./usr/share/s/"+strings.Repeat("f", 100), 0o644, "x")},
			[]string{"hostile 1.0: path \"/usr/share/target/", "bytes long, more than the 3839"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			ok := f.pkg("fine", reg("./usr/bin/fine", 0o755, "x"))
			bad := f.pkg("hostile", tc.entries...)
			_, _, err := Build(context.Background(), f.spec(layer("a", ok), layer("b", bad)))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%s", w, err)
				}
			}
			if len(err.Error()) > 1000 {
				t.Errorf("error of %d bytes: the path is not shortened", len(err.Error()))
			}
		})
	}
	t.Run("pruned", func(t *testing.T) {
		f := newFixture()
		p := f.pkg("docs", reg("./"+longPath(t, "usr/share/doc/docs", 4200), 0o644, "x"), reg("./usr/bin/docs", 0o755, "x"))
		mustBuild(t, f.spec(layer("l", p)))
	})
	t.Run("generated file", func(t *testing.T) {
		f := newFixture()
		l := layer("l", f.pkg("fine", reg("./usr/bin/fine", 0o755, "x")))
		l.Files = []File{{Path: "/" + tooLong, Mode: 0o644, Data: []byte("x")}}
		_, _, err := Build(context.Background(), f.spec(l))
		if err == nil || !strings.Contains(err.Error(), "generated file") || !strings.Contains(err.Error(), "is 3840 bytes long") {
			t.Errorf("err = %v", err)
		}
		l.Files = []File{{Path: "/usr/bin/far", Mode: fs.ModeSymlink | 0o777, Link: "/" + strings.Repeat("t", 4095)}}
		_, _, err = Build(context.Background(), f.spec(l))
		if err == nil || !strings.Contains(err.Error(), "generated file \"/usr/bin/far\"") || !strings.Contains(err.Error(), "4096 bytes long") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestShortPath(t *testing.T) {
	if got := shortPath("/usr/bin/x"); got != "/usr/bin/x" {
		t.Errorf("short path changed: %q", got)
	}
	long := "/" + strings.Repeat("é", 200) // two bytes each
	got := shortPath(long)
	if len(got) > 120 || !strings.Contains(got, "…") || !strings.HasPrefix(got, "/é") || !strings.HasSuffix(got, "é") {
		t.Errorf("shortPath = %q", got)
	}
	if !strings.Contains(got, "…") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("shortPath cut a character: %q", got)
	}
}
