package assemble

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/internal/trust/trusttest"
	"software.sslmate.com/src/go-pkcs12"
)

// HostFiles copies a tree: regular files (set-id bits dropped, or the
// entry's mode), directories, relative links inside the tree; the owner
// is the entry's.
func TestHostFilesTree(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "bin"), 0o755)
	os.WriteFile(filepath.Join(src, "bin", "tool"), []byte("#!x"), 0o755)
	os.Chmod(filepath.Join(src, "bin", "tool"), 0o4755|os.ModeSetuid)
	os.WriteFile(filepath.Join(src, "conf"), []byte("a=1"), 0o600)
	os.Symlink("bin/tool", filepath.Join(src, "tool"))
	os.Symlink("../conf", filepath.Join(src, "bin", "conf"))
	os.Symlink("bin", filepath.Join(src, "bin2")) // a link to a directory, no loop
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	os.Chtimes(filepath.Join(src, "conf"), old, old)
	files, err := HostFiles(src, "/opt/app", HostOptions{UID: 10001, GID: 10002})
	if err != nil {
		t.Fatal(err)
	}
	spec := newFixture().spec(Layer{Name: "top", Files: files})
	spec.ClampMTimes = true
	img, _ := mustBuild(t, spec)
	fsys := rootfs(t, img)
	for p, want := range map[string]struct {
		mode int64
		link string
		data string
	}{
		"opt/app":          {mode: 0o755},
		"opt/app/bin/tool": {mode: 0o755, data: "#!x"},
		"opt/app/conf":     {mode: 0o600, data: "a=1"},
		"opt/app/tool":     {mode: 0o777, link: "bin/tool"},
		"opt/app/bin/conf": {mode: 0o777, link: "../conf"},
		"opt/app/bin2":     {mode: 0o777, link: "bin"},
	} {
		f, ok := fsys[p]
		if !ok {
			t.Errorf("no /%s in %v", p, names(fsys))
			continue
		}
		if f.h.Mode&0o7777 != want.mode || f.h.Linkname != want.link || string(f.data) != want.data {
			t.Errorf("/%s: mode %o link %q data %q, want %o %q %q", p, f.h.Mode, f.h.Linkname, f.data, want.mode, want.link, want.data)
		}
		if f.h.Uid != 10001 || f.h.Gid != 10002 {
			t.Errorf("/%s: owner %d:%d", p, f.h.Uid, f.h.Gid)
		}
	}
	// mtimes: the host's, clamped to Created (SOURCE_DATE_EPOCH's rule).
	if got := fsys["opt/app/conf"].h.ModTime.UTC(); !got.Equal(old) {
		t.Errorf("conf mtime %v, want the host's %v", got, old)
	}
	if got := fsys["opt/app/bin/tool"].h.ModTime.UTC(); !got.Equal(spec.Created) {
		t.Errorf("tool mtime %v, want it clamped to %v", got, spec.Created)
	}
	// The entry's mode applies to every regular file.
	files, err = HostFiles(src, "/opt/app", HostOptions{Mode: 0o640})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Mode.IsRegular() && f.Mode != 0o640 {
			t.Errorf("%s: mode %v with mode 0640", f.Path, f.Mode)
		}
	}
	// One file to one path.
	files, err = HostFiles(filepath.Join(src, "conf"), "/etc/app.conf", HostOptions{})
	if err != nil || len(files) != 1 || files[0].Path != "/etc/app.conf" || files[0].Source == "" {
		t.Errorf("a file: %+v %v", files, err)
	}
}

// Hostile trees are refused, naming the host path.
func TestHostFilesRefused(t *testing.T) {
	cases := map[string]struct {
		make func(d string) error
		want string
	}{
		"absolute link": {func(d string) error { return os.Symlink("/etc/shadow", filepath.Join(d, "s")) }, "absolute path /etc/shadow"},
		"escape":        {func(d string) error { return os.Symlink("../x", filepath.Join(d, "s")) }, "leads out of the tree"},
		"deep escape": {func(d string) error {
			os.Mkdir(filepath.Join(d, "a"), 0o755)
			return os.Symlink("../../etc", filepath.Join(d, "a", "s"))
		}, "leads out of the tree"},
		"escape through a link": {func(d string) error {
			os.Symlink("..", filepath.Join(d, "up"))
			return os.Symlink("up/etc", filepath.Join(d, "s"))
		}, "leads out of the tree"},
		"dangling":  {func(d string) error { return os.Symlink("nothing", filepath.Join(d, "s")) }, "does not exist"},
		"self loop": {func(d string) error { return os.Symlink("s", filepath.Join(d, "s")) }, "a loop"},
		"two-link loop": {func(d string) error {
			os.Symlink("b", filepath.Join(d, "a"))
			return os.Symlink("a", filepath.Join(d, "b"))
		}, "a loop"},
		"directory cycle": {func(d string) error {
			os.Mkdir(filepath.Join(d, "sub"), 0o755)
			return os.Symlink("..", filepath.Join(d, "sub", "up"))
		}, "a loop"},
		"cycle through two links": {func(d string) error {
			os.Mkdir(filepath.Join(d, "a"), 0o755)
			os.Mkdir(filepath.Join(d, "b"), 0o755)
			os.Symlink("../b", filepath.Join(d, "a", "x"))
			return os.Symlink("../a", filepath.Join(d, "b", "y"))
		}, "a loop"},
		"FIFO": {func(d string) error { return syscall.Mkfifo(filepath.Join(d, "f"), 0o644) }, "a FIFO"},
		"socket": {func(d string) error {
			l, err := net.Listen("unix", filepath.Join(d, "sock"))
			if err == nil {
				t.Cleanup(func() { l.Close() })
			}
			return err
		}, "a socket"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "t")
			os.Mkdir(d, 0o755)
			if err := c.make(d); err != nil {
				t.Fatal(err)
			}
			_, err := HostFiles(d, "/srv", HostOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), d) {
				t.Errorf("got %v, want an error naming %s with %q", err, d, c.want)
			}
		})
	}
	if _, err := HostFiles(t.TempDir(), "srv", HostOptions{}); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("relative destination: %v", err)
	}
}

// A 10 GiB sparse file is refused on its size, without reading it; the
// image limit counts host files too.
func TestHostFilesLimits(t *testing.T) {
	d := t.TempDir()
	f, err := os.Create(filepath.Join(d, "big"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(10 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	files, err := HostFiles(d, "/srv", HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := newFixture().spec(Layer{Name: "top", Files: files})
	_, _, err = Build(context.Background(), spec)
	var le *LimitError
	if !errors.As(err, &le) || le.Image || le.Size != 10<<30 || !strings.Contains(err.Error(), filepath.Join(d, "big")) {
		t.Fatalf("got %v, want the file limit naming the file", err)
	}
	os.WriteFile(filepath.Join(d, "big"), make([]byte, 3000), 0o644)
	os.WriteFile(filepath.Join(d, "big2"), make([]byte, 3000), 0o644)
	files, _ = HostFiles(d, "/srv", HostOptions{})
	spec = newFixture().spec(Layer{Name: "top", Files: files})
	spec.MaxImageSize = 5000
	if _, _, err = Build(context.Background(), spec); !errors.As(err, &le) || !le.Image {
		t.Fatalf("got %v, want the image limit", err)
	}
}

// Accounts: users and groups go into /etc/passwd and /etc/group with a
// home owned by the user; clashes are errors naming both.
func TestAccounts(t *testing.T) {
	uid := 10001
	gid := 20000
	base := Layer{Name: "base"}
	top := Layer{Name: "top", Accounts: []Account{
		{Name: "staff", GID: gid},
		{Name: "app", UID: &uid, GID: uid},
		{Name: "svc", UID: intp(10002), GID: gid, Home: "/srv/svc", Shell: "/bin/false"},
	}}
	img, _ := mustBuild(t, newFixture().spec(base, top))
	fsys := rootfs(t, img)
	pw, gr := string(fsys["etc/passwd"].data), string(fsys["etc/group"].data)
	for _, l := range []string{"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n", "app:x:10001:10001:app:/home/app:/sbin/nologin\n", "svc:x:10002:20000:svc:/srv/svc:/bin/false\n"} {
		if !strings.Contains(pw, l) {
			t.Errorf("/etc/passwd lacks %q:\n%s", l, pw)
		}
	}
	for _, l := range []string{"staff:x:20000:\n", "app:x:10001:\n"} {
		if !strings.Contains(gr, l) {
			t.Errorf("/etc/group lacks %q:\n%s", l, gr)
		}
	}
	for p, o := range map[string][2]int{"home/app": {10001, 10001}, "srv/svc": {10002, 20000}} {
		h := fsys[p].h
		if h == nil || h.Typeflag != '5' || h.Uid != o[0] || h.Gid != o[1] || h.Mode&0o777 != 0o700 {
			t.Errorf("/%s: %+v, want a directory 0700 of %d:%d", p, h, o[0], o[1])
		}
	}
	for _, c := range []struct {
		a    Account
		want string
	}{
		{Account{Name: "nonroot", UID: intp(1000), GID: 1000}, "has a user nonroot already, with UID 65532"},
		{Account{Name: "x", UID: intp(65534), GID: 1}, "UID 65534 is the image's user nobody"},
		{Account{Name: "root", GID: 5}, "has a group root already, with GID 0"},
		{Account{Name: "grp", GID: 65532}, "GID 65532 is the image's group nonroot"},
		{Account{Name: "Bad:name", UID: intp(5), GID: 5}, "not a valid user name"},
		{Account{Name: "rel", UID: intp(5), GID: 5, Home: "home"}, "absolute"},
	} {
		l := Layer{Name: "top", Accounts: []Account{c.a}}
		if _, _, err := Build(context.Background(), newFixture().spec(base, l)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.a, err, c.want)
		}
	}
	// The image's own user, exactly: nothing added.
	same := Layer{Name: "top", Accounts: []Account{{Name: "nonroot", UID: intp(65532), GID: 65532}}}
	if _, _, err := Build(context.Background(), newFixture().spec(base, same)); err != nil {
		t.Errorf("nonroot again: %v", err)
	}
}

func intp(n int) *int { return &n }

// A CA a later layer adds under /usr/local/share/ca-certificates is in
// that layer's bundle, hash links and Java trust store (the generators of
// the lower layers run again there); bad ones fail naming the file.
func TestLocalCARerun(t *testing.T) {
	a := trusttest.CA(t, pkix.Name{CommonName: "A Root"}, 1)
	corp := trusttest.CA(t, pkix.Name{CommonName: "Corp Root"}, 7)
	fx := newFixture()
	static := layer("static", fx.pkg("ca-certificates",
		regBytes("./usr/share/ca-certificates/mozilla/A_Root.crt", 0o644, trusttest.PEM(a))))
	static.Generate = []string{"ca-certificates"}
	java := layer("java", fx.pkg("jre", reg("./usr/lib/jvm/j/release", 0o644, "x")))
	java.Generate = []string{"java-cacerts"}
	top := Layer{Name: "corp", Files: []File{{Path: "/usr/local/share/ca-certificates/corp.crt", Mode: 0o644, Data: trusttest.PEM(corp)}}}
	img, _ := mustBuild(t, fx.spec(static, java, top))
	ls, _ := img.Layers()
	got := map[string]tarFile{}
	for _, f := range layerFiles(t, ls[2]) {
		got[strings.TrimPrefix(f.h.Name, "./")] = f
	}
	bundle := string(got["etc/ssl/certs/ca-certificates.crt"].data)
	if strings.Count(bundle, "BEGIN CERTIFICATE") != 2 || !strings.HasSuffix(bundle, string(trusttest.PEM(corp))) {
		t.Errorf("the corp layer's bundle:\n%s", bundle)
	}
	if l := got["etc/ssl/certs/corp.pem"].h; l == nil || l.Linkname != "/usr/local/share/ca-certificates/corp.crt" {
		t.Errorf("corp.pem link: %+v", l)
	}
	hashLinks := 0
	for p, f := range got {
		if isHashLink(filepath.Base(p)) {
			hashLinks++
			if f.h.Linkname != "corp.pem" {
				t.Errorf("%s -> %s in the corp layer", p, f.h.Linkname)
			}
		}
	}
	if hashLinks != 1 {
		t.Errorf("%d hash links in the corp layer, want corp's", hashLinks)
	}
	store, err := pkcs12.DecodeTrustStore(got["etc/ssl/certs/java/cacerts"].data, "")
	if err != nil || len(store) != 2 || !store[1].Equal(corp) {
		t.Errorf("the corp layer's cacerts: %d certificates (%v)", len(store), err)
	}
	// Without a CA added, no layer above static has a bundle.
	img, _ = mustBuild(t, fx.spec(static, java))
	ls, _ = img.Layers()
	for _, f := range layerFiles(t, ls[1]) {
		if strings.HasSuffix(f.h.Name, "ca-certificates.crt") {
			t.Errorf("java layer has %s", f.h.Name)
		}
	}

	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"junk":      {[]byte("hello\n"), "not a PEM certificate"},
		"key":       {[]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "private key"},
		"duplicate": {trusttest.PEM(a), "duplicate: /usr/share/ca-certificates/mozilla/A_Root.crt has it already"},
		"der":       {a.Raw, "a DER certificate"},
	} {
		top := Layer{Name: "corp", Files: []File{{Path: "/usr/local/share/ca-certificates/" + name + ".crt", Mode: 0o644, Data: c.data}}}
		_, _, err := Build(context.Background(), fx.spec(static, top))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "/usr/local/share/ca-certificates/"+name+".crt") {
			t.Errorf("%s: got %v, want %q naming the file", name, err, c.want)
		}
	}
}
