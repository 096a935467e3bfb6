package assemble

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDeterminism(t *testing.T) {
	f := newFixture()
	a := f.pkg("alpha", dir("./usr/", 0o755), dir("./usr/bin/", 0o755), reg("./usr/bin/a", 0o755, "a"), reg("./etc/a.conf", 0o644, "x=1"))
	b := f.pkg("beta", dir("./usr/", 0o755), reg("./usr/bin/b", 0o755, "b"), sym("./usr/bin/bb", "b"))
	c := f.pkg("gamma", reg("./usr/lib/c.so", 0o644, strings.Repeat("c", 3<<20)))
	img1, rep1 := mustBuild(t, f.spec(layer("one", a, b), layer("two", c)))
	img2, _ := mustBuild(t, f.spec(layer("one", b, a), layer("two", c)))
	d1, _ := img1.Digest()
	d2, _ := img2.Digest()
	if d1 != d2 {
		t.Errorf("package order changed the digest: %s vs %s", d1, d2)
	}
	if l1, l2 := layerDigests(t, img1), layerDigests(t, img2); !slices.Equal(l1, l2) {
		t.Errorf("layer digests differ: %v vs %v", l1, l2)
	}
	// Again, to be sure nothing depends on scheduling.
	for range 3 {
		img3, _ := mustBuild(t, f.spec(layer("one", a, b), layer("two", c)))
		if d3, _ := img3.Digest(); d3 != d1 {
			t.Fatalf("rebuild gave %s, want %s", d3, d1)
		}
	}
	if len(rep1.Layers) != 3 || rep1.Layers[2].Name != "os-release" {
		t.Errorf("layers = %+v", rep1.Layers)
	}
	if rep1.Size < 3<<20 || rep1.Files == 0 {
		t.Errorf("report size %d files %d", rep1.Size, rep1.Files)
	}
	// Another creation time is another image.
	s := f.spec(layer("one", a, b), layer("two", c))
	s.Created = s.Created.Add(time.Second)
	img4, _ := mustBuild(t, s)
	if d4, _ := img4.Digest(); d4 == d1 {
		t.Error("Created does not change the digest")
	}
	cf, _ := img4.ConfigFile()
	if !cf.Created.Time.Equal(s.Created) {
		t.Errorf("config created %v, want %v", cf.Created, s.Created)
	}
}

func TestLowerLayersShared(t *testing.T) {
	f := newFixture()
	base := f.pkg("base", reg("./etc/base", 0o644, "base"))
	cc := f.pkg("cc", reg("./usr/lib/libcc.so", 0o644, "cc"))
	py := f.pkg("py", reg("./usr/bin/python", 0o755, "py"), reg("./etc/base", 0o644, "base"))
	small, _ := mustBuild(t, f.spec(layer("base", base), layer("cc", cc)))
	big, _ := mustBuild(t, f.spec(layer("base", base), layer("cc", cc), layer("python", py)))
	ls, lb := layerDigests(t, small), layerDigests(t, big)
	if ls[0] != lb[0] || ls[1] != lb[1] {
		t.Errorf("lower layers differ:\n%v\n%v", ls, lb)
	}
	// py's identical /etc/base is not written again.
	bigLayers, _ := big.Layers()
	for _, tf := range layerFiles(t, bigLayers[2]) {
		if tf.h.Name == "etc/base" {
			t.Error("python layer repeats etc/base")
		}
	}
	// A package already in a lower layer is not unpacked again.
	again, rep := mustBuild(t, f.spec(layer("base", base), layer("cc", cc, base)))
	if rep.Layers[1].Packages != 1 {
		t.Errorf("cc layer has %d packages, want 1", rep.Layers[1].Packages)
	}
	if d := layerDigests(t, again); d[1] != ls[1] {
		t.Error("a repeated package changed the cc layer")
	}
}

func TestTarFormat(t *testing.T) {
	f := newFixture()
	p := f.pkg("p",
		dir("./usr/", 0o755), dir("./usr/share/", 0o755),
		reg("./usr/share/p-data", 0o644, "data"),
		reg("./usr/share/p/"+strings.Repeat("long/", 30)+"file", 0o644, "deep"),
		reg("./usr/share/p/a-b", 0o644, "dash sorts before slash"),
	)
	s := f.spec(layer("only", p))
	img, _ := mustBuild(t, s)
	ls, _ := img.Layers()
	var prev string
	seen := map[string]bool{}
	for _, tf := range layerFiles(t, ls[0]) {
		h := tf.h
		name := strings.TrimSuffix(h.Name, "/")
		// The fake entries have no mtime: each gets the floor.
		if h.ModTime.Unix() != minMTime || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: times %v %v %v", h.Name, h.ModTime, h.AccessTime, h.ChangeTime)
		}
		if h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: names %q %q", h.Name, h.Uname, h.Gname)
		}
		if (h.Typeflag == tar.TypeDir) != strings.HasSuffix(h.Name, "/") {
			t.Errorf("%s: type %c", h.Name, h.Typeflag)
		}
		if strings.HasPrefix(h.Name, "/") || strings.HasPrefix(h.Name, "./") {
			t.Errorf("%s: not a plain relative name", h.Name)
		}
		if i := strings.LastIndex(name, "/"); i >= 0 && !seen[name[:i]] {
			t.Errorf("%s comes before its parent", h.Name)
		}
		if prev != "" && !pathLess(prev, name) {
			t.Errorf("%s after %s: not sorted", name, prev)
		}
		seen[name], prev = true, name
	}
	for _, want := range []string{"usr/share/p-data", "var/lib/fakedb/p", "etc/passwd", "bin", "tmp"} {
		if !seen[want] {
			t.Errorf("layer lacks %s", want)
		}
	}
	// Fixed gzip header: no mtime, no name, OS unknown.
	rc, _ := ls[0].Compressed()
	head := make([]byte, 10)
	rc.Read(head)
	rc.Close()
	if !bytes.Equal(head, gzipHeader) {
		t.Errorf("gzip header % x", head)
	}
	mt, _ := ls[0].MediaType()
	if mt != "application/vnd.oci.image.layer.v1.tar+gzip" {
		t.Errorf("layer media type %s", mt)
	}
}

func TestConfig(t *testing.T) {
	f := newFixture()
	s := f.spec(layer("base", f.pkg("p", reg("./etc/p", 0o644, "p"))))
	s.Entrypoint = []string{"/usr/bin/python3"}
	s.Cmd = []string{"-c", "print(1)"}
	s.Env = []string{"LANG=en_US.UTF-8", "FOO=bar"}
	s.User = "65532"
	s.WorkDir = "/home/nonroot"
	s.Labels = map[string]string{"org.example": "yes"}
	s.Annotations = map[string]string{"org.opencontainers.image.title": "t"}
	s.Arch = "arm64"
	img, _ := mustBuild(t, s)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	wantEnv := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "LANG=en_US.UTF-8", "FOO=bar"}
	if !slices.Equal(c.Env, wantEnv) {
		t.Errorf("env %q", c.Env)
	}
	if !slices.Equal(c.Entrypoint, s.Entrypoint) || !slices.Equal(c.Cmd, s.Cmd) || c.User != "65532" || c.WorkingDir != "/home/nonroot" || c.Labels["org.example"] != "yes" {
		t.Errorf("config %+v", c)
	}
	if cf.OS != "linux" || cf.Architecture != "arm64" || cf.Variant != "v8" {
		t.Errorf("platform %s/%s/%s", cf.OS, cf.Architecture, cf.Variant)
	}
	if len(cf.History) != 2 || cf.History[0].CreatedBy != "distroless: layer base" || !cf.History[1].Created.Time.Equal(s.Created) {
		t.Errorf("history %+v", cf.History)
	}
	m, _ := img.Manifest()
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" || m.Config.MediaType != "application/vnd.oci.image.config.v1+json" {
		t.Errorf("media types %s %s", m.MediaType, m.Config.MediaType)
	}
	if m.Annotations["org.opencontainers.image.title"] != "t" {
		t.Errorf("annotations %v", m.Annotations)
	}
	// arm64 has no /lib64.
	if _, ok := rootfs(t, img)["lib64"]; ok {
		t.Error("arm64 image has /lib64")
	}
}

func TestUnsafeEntries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []fakeEntry
		err     string            // Build fails with this
		want    map[string]string // path -> "mode type [link]"
		absent  []string
		warning string
	}{
		{name: "absolute path", entries: []fakeEntry{reg("/etc/abs", 0o644, "x")}, want: map[string]string{"etc/abs": "644 0"}},
		{name: "dot-dot inside", entries: []fakeEntry{reg("./usr/../etc/in", 0o644, "x")}, want: map[string]string{"etc/in": "644 0"}},
		{name: "dot-dot escape", entries: []fakeEntry{reg("./usr/../../etc/out", 0o644, "x")}, err: "escapes the root"},
		{name: "bare dot-dot", entries: []fakeEntry{reg("../x", 0o644, "x")}, err: "escapes the root"},
		{name: "escaping symlink", entries: []fakeEntry{sym("./usr/bin/evil", "../../../../etc/shadow")},
			want: map[string]string{"usr/bin/evil": "777 2 ../../etc/shadow"}, warning: "leaves the root"},
		{name: "absolute symlink", entries: []fakeEntry{sym("./usr/bin/abs", "/usr/lib/x")}, want: map[string]string{"usr/bin/abs": "777 2 /usr/lib/x"}},
		{name: "absolute symlink with dot-dot", entries: []fakeEntry{sym("./usr/bin/abs", "/../../etc/x")}, want: map[string]string{"usr/bin/abs": "777 2 /etc/x"}},
		{name: "relative symlink", entries: []fakeEntry{sym("./usr/bin/rel", "../lib/x")}, want: map[string]string{"usr/bin/rel": "777 2 ../lib/x"}},
		{name: "escaping hard link", entries: []fakeEntry{hard("./usr/bin/h", "../../etc/shadow")}, err: "escapes the root"},
		{name: "hard link to nothing", entries: []fakeEntry{hard("./usr/bin/h", "./usr/bin/none")}, err: "no earlier regular file"},
		{name: "hard link", entries: []fakeEntry{reg("./usr/bin/t", 0o755, "t"), hard("./usr/bin/h", "./usr/bin/t")},
			// The first path in tar order holds the content.
			want: map[string]string{"usr/bin/h": "755 0", "usr/bin/t": "755 1 usr/bin/t"}},
		{name: "path named twice", entries: []fakeEntry{reg("./etc/twice", 0o644, "one"), reg("./etc/twice", 0o600, "two")}, want: map[string]string{"etc/twice": "600 0"}},
		{name: "device and fifo", entries: []fakeEntry{
			{h: tar.Header{Name: "./dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3}},
			{h: tar.Header{Name: "./dev/sda", Typeflag: tar.TypeBlock, Mode: 0o660}},
			{h: tar.Header{Name: "./run/fifo", Typeflag: tar.TypeFifo, Mode: 0o644}},
		}, absent: []string{"dev/null", "dev/sda", "run/fifo"}, warning: "character device dropped"},
		{name: "setuid and setgid", entries: []fakeEntry{reg("./usr/bin/su", 0o4755, "su"), reg("./usr/bin/wall", 0o2755, "w"), reg("./usr/bin/st", 0o1755, "s"), dir("./var/mail/", 0o2775), dir("./var/tmp/", 0o1777)},
			want: map[string]string{"usr/bin/su": "755 0", "usr/bin/wall": "755 0", "usr/bin/st": "755 0", "var/mail": "775 5", "var/tmp": "1777 5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			img, rep, err := Build(context.Background(), f.spec(layer("l", f.pkg("pkg", tc.entries...))))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "pkg 1.0") {
					t.Fatalf("err = %v, want one naming pkg 1.0 and %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fs := rootfs(t, img)
			for p, want := range tc.want {
				e, ok := fs[p]
				if !ok {
					t.Errorf("%s missing; have %v", p, names(fs))
					continue
				}
				got := fmt.Sprintf("%o %c", e.h.Mode, e.h.Typeflag)
				if e.h.Linkname != "" {
					got += " " + e.h.Linkname
				}
				if e.h.Typeflag == tar.TypeLink {
					got = fmt.Sprintf("%o %c %s", e.h.Mode, e.h.Typeflag, p)
					if fs[e.h.Linkname].h.Typeflag != tar.TypeReg {
						t.Errorf("%s links to %s, not a regular file", p, e.h.Linkname)
					}
				}
				if got != want {
					t.Errorf("%s = %q, want %q", p, got, want)
				}
			}
			for _, p := range tc.absent {
				if _, ok := fs[p]; ok {
					t.Errorf("%s present", p)
				}
			}
			if tc.warning != "" && !strings.Contains(strings.Join(rep.Warnings, "\n"), tc.warning) {
				t.Errorf("warnings %q lack %q", rep.Warnings, tc.warning)
			}
		})
	}
}

func TestMergedUsr(t *testing.T) {
	f := newFixture()
	libc := f.pkg("libc6",
		dir("./", 0o755), dir("./bin/", 0o755), dir("./lib/", 0o755), dir("./lib64/", 0o755),
		reg("./bin/sh", 0o755, "sh"),
		reg("./sbin/init", 0o755, "init"),
		reg("./lib/x86_64-linux-gnu/libc.so.6", 0o755, "libc"),
		sym("./lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
		sym("./bin", "usr/bin"), // a package shipping the merged-/usr symlink itself
	)
	x32 := f.pkg("libx32", reg("./libx32/libfoo.so", 0o644, "foo"))
	img, _ := mustBuild(t, f.spec(layer("base", libc), layer("extra", x32)))
	fs := rootfs(t, img)
	for p, want := range map[string]string{
		"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64", "libx32": "usr/libx32",
		"usr/lib64/ld-linux-x86-64.so.2": "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
	} {
		if e := fs[p]; e.h == nil || e.h.Typeflag != tar.TypeSymlink || e.h.Linkname != want {
			t.Errorf("%s is not a symlink to %s", p, want)
		}
	}
	for _, p := range []string{"usr/bin/sh", "usr/sbin/init", "usr/lib/x86_64-linux-gnu/libc.so.6", "usr/libx32/libfoo.so"} {
		if e := fs[p]; e.h == nil || e.h.Typeflag != tar.TypeReg {
			t.Errorf("%s is not a regular file", p)
		}
	}
	// /libx32 appears in the layer that needs it, not in the base.
	ls, _ := img.Layers()
	for _, tf := range layerFiles(t, ls[0]) {
		if tf.h.Name == "libx32" {
			t.Error("libx32 symlink in the base layer")
		}
	}
	// lib32 is made only when needed.
	if _, ok := fs["lib32"]; ok {
		t.Error("lib32 made though unused")
	}
}

func TestConflicts(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []fakeEntry
		err  string
	}{
		{name: "same content", a: []fakeEntry{reg("./etc/x", 0o644, "same")}, b: []fakeEntry{reg("./etc/x", 0o644, "same")}},
		{name: "directories merge", a: []fakeEntry{dir("./usr/share/x/", 0o755), reg("./usr/share/x/a", 0o644, "a")}, b: []fakeEntry{dir("./usr/share/x/", 0o700), reg("./usr/share/x/b", 0o644, "b")}},
		{name: "different content", a: []fakeEntry{reg("./etc/x", 0o644, "one")}, b: []fakeEntry{reg("./etc/x", 0o644, "two")}, err: "/etc/x is shipped by both aaa 1.0 and bbb 1.0 with different content"},
		{name: "merged-usr clash", a: []fakeEntry{reg("./bin/x", 0o755, "one")}, b: []fakeEntry{reg("./usr/bin/x", 0o755, "two")}, err: "/usr/bin/x is shipped by both aaa 1.0 and bbb 1.0"},
		{name: "file and symlink", a: []fakeEntry{reg("./etc/x", 0o644, "one")}, b: []fakeEntry{sym("./etc/x", "y")}, err: "as a symlink and as a regular file"},
		{name: "different symlinks", a: []fakeEntry{sym("./etc/x", "y")}, b: []fakeEntry{sym("./etc/x", "z")}, err: `as symlinks to "y" and to "z"`},
		{name: "same symlinks", a: []fakeEntry{sym("./etc/x", "y")}, b: []fakeEntry{sym("./etc/x", "y")}},
		{name: "file and directory", a: []fakeEntry{reg("./etc/x", 0o644, "one")}, b: []fakeEntry{dir("./etc/x/", 0o755)}, err: "shipped by both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			a, b := f.pkg("aaa", tc.a...), f.pkg("bbb", tc.b...)
			_, _, err := Build(context.Background(), f.spec(layer("l", b, a)))
			if tc.err == "" && err != nil {
				t.Fatal(err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			// Across layers too.
			_, _, err = Build(context.Background(), f.spec(layer("one", a), layer("two", b)))
			if (tc.err == "") != (err == nil) {
				t.Errorf("across layers: err = %v", err)
			}
		})
	}
}

func TestSymlinkedParents(t *testing.T) {
	f := newFixture()
	// One package makes a directory a symlink; another ships files below
	// it, and a directory entry for it.
	a := f.pkg("zlinker", sym("./usr/lib/jvm/default", "java-17"), dir("./usr/lib/jvm/java-17/", 0o755))
	b := f.pkg("afiles", dir("./usr/lib/jvm/default/", 0o755), reg("./usr/lib/jvm/default/bin/java", 0o755, "java"))
	img, _ := mustBuild(t, f.spec(layer("l", a, b)))
	fs := rootfs(t, img)
	if e := fs["usr/lib/jvm/default"]; e.h == nil || e.h.Typeflag != tar.TypeSymlink {
		t.Errorf("usr/lib/jvm/default is not a symlink any more")
	}
	if _, ok := fs["usr/lib/jvm/java-17/bin/java"]; !ok {
		t.Errorf("file not placed through the symlink; have %v", names(fs))
	}
	// A loop is an error, not a hang.
	f2 := newFixture()
	c := f2.pkg("loop", sym("./a", "b"), sym("./b", "a"), reg("./a/x", 0o644, "x"))
	if _, _, err := Build(context.Background(), f2.spec(layer("l", c))); err == nil || !strings.Contains(err.Error(), "symbolic links") {
		t.Errorf("loop: err = %v", err)
	}
}

func TestPrune(t *testing.T) {
	f := newFixture()
	p := f.pkg("tool",
		dir("./usr/share/doc/", 0o755), dir("./usr/share/doc/tool/", 0o755),
		reg("./usr/share/doc/tool/copyright", 0o644, "GPL"),
		reg("./usr/share/doc/tool/changelog.gz", 0o644, "log"),
		dir("./usr/share/doc/tool/examples/", 0o755),
		reg("./usr/share/doc/tool/examples/x", 0o644, "ex"),
		sym("./usr/share/doc/tool-extra", "tool"),
		reg("./usr/share/man/man1/tool.1.gz", 0o644, "man"),
		sym("./usr/share/man/man1/t.1.gz", "tool.1.gz"),
		reg("./usr/share/locale/de/LC_MESSAGES/tool.mo", 0o644, "mo"),
		reg("./usr/share/info/tool.info.gz", 0o644, "info"),
		reg("./usr/bin/tool", 0o755, "tool"),
		sym("./usr/bin/tool-readme", "../share/doc/tool/README"),
		sym("./usr/bin/dangling", "nothing-here"),
		reg("./usr/share/tool/data", 0o644, "keep"),
	)
	img, _ := mustBuild(t, f.spec(layer("l", p)))
	fs := rootfs(t, img)
	// usr/share/doc/tool-extra, a link to another doc directory, stays:
	// its copyright is reachable through it (TestDocLinksKept).
	for _, keep := range []string{"usr/share/doc/tool/copyright", "usr/bin/tool", "usr/share/tool/data", "usr/bin/dangling", "usr/share/doc/tool-extra"} {
		if _, ok := fs[keep]; !ok {
			t.Errorf("%s pruned", keep)
		}
	}
	for _, gone := range []string{"usr/share/doc/tool/changelog.gz", "usr/share/doc/tool/examples",
		"usr/share/man", "usr/share/man/man1/t.1.gz", "usr/share/locale", "usr/share/info", "usr/bin/tool-readme"} {
		if _, ok := fs[gone]; ok {
			t.Errorf("%s kept", gone)
		}
	}
	// Without prune patterns everything stays.
	s := f.spec(layer("l", p))
	s.PruneFiles = nil
	img, _ = mustBuild(t, s)
	if _, ok := rootfs(t, img)["usr/share/man/man1/t.1.gz"]; !ok {
		t.Error("pruned without patterns")
	}
	// Bad patterns are refused.
	s.PruneFiles = []string{"/usr/[share"}
	if _, _, err := Build(context.Background(), s); err == nil {
		t.Error("bad pattern accepted")
	}
}

func TestPrunerMatch(t *testing.T) {
	pr, err := newPruner([]string{"/usr/share/doc/**", "!/usr/share/doc/*/copyright", "/usr/share/man", "/opt/*/cache", "**/__pycache__"})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		"usr/share/doc":                     true,
		"usr/share/doc/x":                   true,
		"usr/share/doc/x/copyright":         false,
		"usr/share/doc/x/y/copyright":       true,
		"usr/share/man":                     true,
		"usr/share/man/man1/ls.1.gz":        true,
		"usr/share/manual":                  false,
		"usr/share":                         false,
		"opt/a/cache/x":                     true,
		"opt/a/b/cache":                     false,
		"usr/lib/python3/__pycache__/x.pyc": true,
		"__pycache__":                       true,
		"usr/bin/ls":                        false,
	} {
		if got := pr.match(p); got != want {
			t.Errorf("match(%q) = %v, want %v", p, got, want)
		}
	}
	for _, bad := range []string{"/", "!", "/usr/../etc", "/usr/[x"} {
		if _, err := newPruner([]string{bad}); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
}

func TestCleanLink(t *testing.T) {
	for _, tc := range []struct{ link, target, want string }{
		{"usr/bin/x", "../lib/y", "../lib/y"},
		{"usr/bin/x", "../../etc/y", "../../etc/y"},
		{"usr/bin/x", "../../../etc/y", "../../etc/y"},
		{"usr/bin/x", "../../../../../../y", "../../y"},
		{"x", "../y", "y"},
		{"x", "..", "."},
		{"usr/bin/x", "/etc/y", "/etc/y"},
		{"usr/bin/x", "/../etc/y", "/etc/y"},
		{"usr/bin/x", "a/../../../..", "../.."},
	} {
		if got, _ := cleanLink(tc.link, tc.target); got != tc.want {
			t.Errorf("cleanLink(%q, %q) = %q, want %q", tc.link, tc.target, got, tc.want)
		}
	}
}

func TestGeneratedFiles(t *testing.T) {
	f := newFixture()
	base := f.pkg("base-files", reg("./etc/debian_version", 0o644, "12.5\n"),
		reg("./usr/lib/os-release", 0o644, "ID=debian\n"), sym("./etc/os-release", "../usr/lib/os-release"))
	ca := f.pkg("ca-certificates",
		reg("./usr/share/ca-certificates/mozilla/B.crt", 0o644, "-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n"),
		reg("./usr/share/ca-certificates/mozilla/A.crt", 0o644, "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----"),
		reg("./usr/share/ca-certificates/other/C.crt", 0o644, "-----BEGIN CERTIFICATE-----\nC\n-----END CERTIFICATE-----\n"),
		reg("./usr/share/ca-certificates/mozilla/README", 0o644, "not a cert"),
		dir("./etc/ssl/certs/", 0o755),
	)
	app := f.pkg("app", reg("./usr/bin/app", 0o755, "app"))
	s := f.spec(layer("static", base), layer("certs", ca), layer("app", app))
	s.Layers[1].Generate = []string{"ca-certificates"}
	s.Layers[2].Files = []File{
		{Path: "/etc/app.conf", Mode: 0o600, UID: 65532, GID: 65532, Data: []byte("conf")},
		{Path: "/usr/bin/app-link", Mode: fs.ModeSymlink, Link: "app"},
		{Path: "/var/lib/app", Mode: fs.ModeDir | 0o750, UID: 65532},
	}
	img, _ := mustBuild(t, s)
	ls, _ := img.Layers()
	if len(ls) != 4 {
		t.Fatalf("%d layers", len(ls))
	}
	in := func(i int) map[string]tarFile {
		m := map[string]tarFile{}
		for _, tf := range layerFiles(t, ls[i]) {
			m[strings.TrimSuffix(tf.h.Name, "/")] = tf
		}
		return m
	}
	static, certs, appl, top := in(0), in(1), in(2), in(3)

	if got := string(static["etc/passwd"].data); got != passwdFile || !strings.Contains(got, "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n") {
		t.Errorf("passwd = %q", got)
	}
	if got := string(static["etc/group"].data); got != "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n" {
		t.Errorf("group = %q", got)
	}
	if !strings.Contains(string(static["etc/nsswitch.conf"].data), "hosts:          files dns") {
		t.Errorf("nsswitch.conf = %q", static["etc/nsswitch.conf"].data)
	}
	for p, want := range map[string]string{"root": "700 0 0", "home/nonroot": "700 65532 65532", "tmp": "1777 0 0", "etc/passwd": "644 0 0"} {
		h := static[p].h
		if h == nil {
			t.Errorf("%s missing from the bottom layer", p)
			continue
		}
		if got := fmt.Sprintf("%o %d %d", h.Mode, h.Uid, h.Gid); got != want {
			t.Errorf("%s = %s, want %s", p, got, want)
		}
	}

	bundle := certs["etc/ssl/certs/ca-certificates.crt"]
	want := "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nC\n-----END CERTIFICATE-----\n"
	if string(bundle.data) != want {
		t.Errorf("bundle in the ca-certificates layer = %q, want %q", bundle.data, want)
	}
	if _, ok := static["etc/ssl/certs/ca-certificates.crt"]; ok {
		t.Error("bundle in the static layer")
	}

	// The package database: each layer that adds packages has the files
	// of its own packages; a lower layer's, unchanged, are not repeated.
	if got := string(certs["var/lib/fakedb/ca-certificates"].data); !strings.HasPrefix(got, "ca-certificates 1.0\nmd5sums: d41d8cd98f00b204e9800998ecf8427e  ") {
		t.Errorf("package database = %q", got)
	}
	if _, ok := static["var/lib/fakedb/base-files"]; !ok {
		t.Error("fakedb/base-files not in the static layer")
	}
	for name, l := range map[string]map[string]tarFile{"certs": certs, "app": appl} {
		if _, ok := l["var/lib/fakedb/base-files"]; ok {
			t.Errorf("fakedb/base-files repeated in the %s layer", name)
		}
	}

	if h := appl["etc/app.conf"].h; h == nil || h.Mode != 0o600 || h.Uid != 65532 {
		t.Errorf("etc/app.conf = %+v", h)
	}
	if h := appl["usr/bin/app-link"].h; h == nil || h.Linkname != "app" {
		t.Errorf("app-link = %+v", h)
	}
	if h := appl["var/lib/app"].h; h == nil || h.Typeflag != tar.TypeDir || h.Mode != 0o750 {
		t.Errorf("var/lib/app = %+v", h)
	}

	osr := "PRETTY_NAME=\"Distroless (Debian GNU/Linux 12 (bookworm))\"\nVERSION_ID=\"12\"\nID=\"debian\"\n"
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		if e := top[p]; e.h == nil || e.h.Typeflag != tar.TypeReg || string(e.data) != osr {
			t.Errorf("%s in the top layer = %q", p, e.data)
		}
	}
	if len(top) > 6 {
		t.Errorf("top layer holds %v", names(top))
	}
}

func TestOSReleaseQuoting(t *testing.T) {
	got := string(osRelease(map[string]string{"NAME": `a "b" $c`, "ZZZ": "z", "ID": "x", "bad key": "no"}))
	want := "NAME=\"a \\\"b\\\" \\$c\"\nID=\"x\"\nZZZ=\"z\"\n"
	if got != want {
		t.Errorf("osRelease = %q, want %q", got, want)
	}
}

func TestBuildErrors(t *testing.T) {
	f := newFixture()
	ok := f.spec(layer("l", f.pkg("p", reg("./x", 0o644, "x"))))
	for name, mod := range map[string]func(*Spec){
		"no layers":     func(s *Spec) { s.Layers = nil },
		"unknown arch":  func(s *Spec) { s.Arch = "pdp11" },
		"no payload":    func(s *Spec) { s.Payload = nil },
		"nil package":   func(s *Spec) { s.Layers[0].Packages[0].Pkg = nil },
		"missing file":  func(s *Spec) { s.Layers[0].Packages[0].File = "nope.deb" },
		"bad generated": func(s *Spec) { s.Layers[0].Files = []File{{Path: "/../x", Data: []byte("x")}} },
		"dir over file": func(s *Spec) { s.Layers[0].Files = []File{{Path: "/x", Mode: fs.ModeDir | 0o755}} },
		"merged dir":    func(s *Spec) { s.Layers[0].Files = []File{{Path: "/bin", Mode: fs.ModeDir | 0o755}} },
	} {
		t.Run(name, func(t *testing.T) {
			s := ok
			s.Layers = []Layer{{Name: "l", Packages: []Unpack{ok.Layers[0].Packages[0]}}}
			mod(&s)
			if _, _, err := Build(context.Background(), s); err == nil {
				t.Error("no error")
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Build(ctx, ok); err == nil {
		t.Error("cancelled context: no error")
	}
}
