package npm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/distroless-dev/distroless/appdeps"
	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// tent is one member of a test tarball.
type tent struct {
	name, body, link string
	typ              byte
	mode             int64
	size             int64 // declared size when not len(body); the body is then cut
}

func tgz(t testing.TB, ents ...tent) []byte {
	t.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: e.typ, Linkname: e.link, Size: int64(len(e.body)), Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if e.size != 0 {
			// A header that declares more than follows: write it and
			// stop (the archive is cut, as a hostile one would be).
			h.Size = e.size
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			raw.WriteString(e.body)
			tw = nil
			break
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if tw != nil {
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()
	return z.Bytes()
}

func sri(data []byte) string {
	s := sha512.Sum512(data)
	return "sha512-" + base64.StdEncoding.EncodeToString(s[:])
}

func pkgJSON(name, version string, extra string) tent {
	return tent{name: "package/package.json", body: fmt.Sprintf(`{"name":%q,"version":%q%s}`, name, version, extra)}
}

// registry is a test server of tarballs, counting requests.
type registry struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	hits  map[string]int
}

func newRegistry(t *testing.T) *registry {
	r := &registry{files: map[string][]byte{}, hits: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		data, ok := r.files[req.URL.Path]
		r.hits[req.URL.Path]++
		r.mu.Unlock()
		if !ok {
			http.NotFound(w, req)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(r.Close)
	return r
}

// add serves a tarball and returns its lockfile entry fields.
func (r *registry) add(p string, data []byte) (resolved, integrity string) {
	r.mu.Lock()
	r.files[p] = data
	r.mu.Unlock()
	return r.URL + p, sri(data)
}

type lockPkg map[string]any

func lockJSON(t testing.TB, version int, pkgs map[string]lockPkg) []byte {
	t.Helper()
	m := map[string]any{"name": "app", "lockfileVersion": version, "requires": true, "packages": pkgs}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newCache(t *testing.T) *fetch.Cache {
	return &fetch.Cache{Dir: t.TempDir(), RetryFor: -1}
}

var linuxX64 = Platform{OS: "linux", CPU: "x64", Libc: "glibc"}

func install(t *testing.T, c *fetch.Cache, lock []byte, mod func(*Options)) (*appdeps.Set, error) {
	t.Helper()
	o := Options{Lock: lock, Platform: linuxX64, Cache: c}
	if mod != nil {
		mod(&o)
	}
	return Install(context.Background(), o)
}

func filesOf(s *appdeps.Set) map[string]assemble.File {
	m := map[string]assemble.File{}
	for _, f := range s.Files {
		m[f.Path] = f
	}
	return m
}

// cacheEntries counts the files in a cache directory (temporaries too).
func cacheEntries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestInstallLayout(t *testing.T) {
	reg := newRegistry(t)
	// a: a bin (string form in package.json, object in the lock), a
	// .gitignore, an executable file, a nested dependency.
	aRes, aInt := reg.add("/a/-/a-1.0.0.tgz", tgz(t,
		pkgJSON("a", "1.0.0", `,"license":"MIT","bin":"cli.js","scripts":{"postinstall":"node build.js"}`),
		tent{name: "package/cli.js", body: "#!/usr/bin/env node\r\nconsole.log(1)\n"},
		tent{name: "package/lib/run.sh", body: "#!/bin/sh\n", mode: 0o700},
		tent{name: "package/.gitignore", body: "x\n"},
		tent{name: "package/lib", typ: tar.TypeDir, mode: 0o700},
		tent{name: "package/inside", typ: tar.TypeSymlink, link: "lib/run.sh"},
	))
	bRes, bInt := reg.add("/@s/b/-/b-2.0.0.tgz", tgz(t,
		pkgJSON("@s/b", "2.0.0", `,"license":{"type":"ISC"},"bin":{"bee":"./bin/b.js"}`),
		tent{name: "pkg/bin/b.js", body: "x"},
		tent{name: "pkg/.npmignore", body: "a"},
		tent{name: "pkg/.gitignore", body: "b"},
	))
	b1Res, b1Int := reg.add("/@s/b/-/b-1.0.0.tgz", tgz(t,
		pkgJSON("@s/b", "1.0.0", `,"licenses":[{"type":"MIT"},{"type":"Apache-2.0"}],"bin":{"bee":"b.js"}`),
		tent{name: "package/b.js", body: "old"},
	))
	devRes, devInt := reg.add("/d/-/d-1.0.0.tgz", tgz(t, pkgJSON("d", "1.0.0", "")))
	doRes, doInt := reg.add("/do/-/do-1.0.0.tgz", tgz(t, pkgJSON("do", "1.0.0", "")))
	lock := lockJSON(t, 3, map[string]lockPkg{
		"": {"name": "app", "dependencies": map[string]string{"a": "1", "@s/b": "2"}, "devDependencies": map[string]string{"d": "1"}},
		"node_modules/a": {"version": "1.0.0", "resolved": aRes, "integrity": aInt, "bin": map[string]string{"a": "cli.js"},
			"hasInstallScript": true, "dependencies": map[string]string{"@s/b": "1"}},
		"node_modules/a/node_modules/@s/b": {"version": "1.0.0", "resolved": b1Res, "integrity": b1Int, "bin": map[string]string{"bee": "b.js"}},
		"node_modules/@s/b":                {"version": "2.0.0", "resolved": bRes, "integrity": bInt, "bin": map[string]string{"bee": "bin/b.js"}},
		"node_modules/d":                   {"version": "1.0.0", "resolved": devRes, "integrity": devInt, "dev": true, "dependencies": map[string]string{"do": "1"}},
		"node_modules/do":                  {"version": "1.0.0", "resolved": doRes, "integrity": doInt, "devOptional": true},
	})
	c := newCache(t)
	s, err := install(t, c, lock, nil)
	if err != nil {
		t.Fatal(err)
	}
	fm := filesOf(s)
	want := map[string]string{ // path → mode and link or body
		"/app":                                               "dir",
		"/app/node_modules":                                  "dir",
		"/app/node_modules/.bin":                             "dir",
		"/app/node_modules/.bin/a":                           "link ../a/cli.js",
		"/app/node_modules/.bin/bee":                         "link ../@s/b/bin/b.js",
		"/app/node_modules/a":                                "dir",
		"/app/node_modules/a/cli.js":                         "0755 #!/usr/bin/env node\nconsole.log(1)\n",
		"/app/node_modules/a/lib":                            "dir",
		"/app/node_modules/a/lib/run.sh":                     "0744 #!/bin/sh\n", // npm: (mode | 0666) &^ umask 022
		"/app/node_modules/a/.npmignore":                     "0644 x\n",
		"/app/node_modules/a/package.json":                   "",
		"/app/node_modules/a/node_modules":                   "dir",
		"/app/node_modules/a/node_modules/.bin":              "dir",
		"/app/node_modules/a/node_modules/.bin/bee":          "link ../@s/b/b.js",
		"/app/node_modules/a/node_modules/@s":                "dir",
		"/app/node_modules/a/node_modules/@s/b":              "dir",
		"/app/node_modules/a/node_modules/@s/b/b.js":         "0755 old",
		"/app/node_modules/a/node_modules/@s/b/package.json": "",
		"/app/node_modules/@s":                               "dir",
		"/app/node_modules/@s/b":                             "dir",
		"/app/node_modules/@s/b/bin":                         "dir",
		"/app/node_modules/@s/b/bin/b.js":                    "0755 x",
		"/app/node_modules/@s/b/.npmignore":                  "0644 a",
		"/app/node_modules/@s/b/package.json":                "",
		"/app/node_modules/do":                               "dir",
		"/app/node_modules/do/package.json":                  "",
	}
	for p, w := range want {
		f, ok := fm[p]
		if !ok {
			t.Errorf("%s missing", p)
			continue
		}
		var got string
		switch {
		case f.Mode.IsDir():
			got = "dir"
		case f.Mode&fs.ModeSymlink != 0:
			got = "link " + f.Link
		case w == "":
			continue
		default:
			got = fmt.Sprintf("%04o %s", f.Mode.Perm(), f.Data)
		}
		if got != w {
			t.Errorf("%s: got %q, want %q", p, got, w)
		}
	}
	for p := range fm {
		if _, ok := want[p]; !ok {
			t.Errorf("unexpected %s", p)
		}
	}
	var comps []string
	for _, c := range s.Components {
		comps = append(comps, fmt.Sprintf("%s %s %s %s", c.PURL, c.License, c.Hash[:10], strings.TrimPrefix(c.Source, reg.URL)))
	}
	wantComps := []string{
		"pkg:npm/%40s/b@1.0.0 (MIT OR Apache-2.0) sha512-" + b1Int[7:10] + " /@s/b/-/b-1.0.0.tgz",
		"pkg:npm/%40s/b@2.0.0 ISC sha512-" + bInt[7:10] + " /@s/b/-/b-2.0.0.tgz",
		"pkg:npm/a@1.0.0 MIT sha512-" + aInt[7:10] + " /a/-/a-1.0.0.tgz",
		"pkg:npm/do@1.0.0  sha512-" + doInt[7:10] + " /do/-/do-1.0.0.tgz",
	}
	if strings.Join(comps, "\n") != strings.Join(wantComps, "\n") {
		t.Errorf("components:\n%s\nwant:\n%s", strings.Join(comps, "\n"), strings.Join(wantComps, "\n"))
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "a@1.0.0 (postinstall: node build.js)") {
		t.Errorf("warnings: %q", s.Warnings)
	}
	if reg.hits["/d/-/d-1.0.0.tgz"] != 0 {
		t.Error("the dev package was downloaded")
	}

	// Again from the cache alone: the same set, nothing downloaded.
	c2 := &fetch.Cache{Dir: c.Dir, Offline: true}
	s2, err := install(t, c2, lock, nil)
	if err != nil {
		t.Fatalf("offline from the cache: %v", err)
	}
	if fmt.Sprint(s2) != fmt.Sprint(s) {
		t.Error("the set from the cache differs")
	}
}

func TestPlatformChoice(t *testing.T) {
	reg := newRegistry(t)
	entry := func(name string, extra lockPkg) lockPkg {
		res, in := reg.add("/"+name+".tgz", tgz(t, pkgJSON(name, "1.0.0", "")))
		e := lockPkg{"version": "1.0.0", "resolved": res, "integrity": in}
		for k, v := range extra {
			e[k] = v
		}
		return e
	}
	pkgs := map[string]lockPkg{
		"": {"dependencies": map[string]string{"native": "1"}},
		"node_modules/native": entry("native", lockPkg{"optionalDependencies": map[string]string{
			"@n/linux-x64-gnu": "1", "@n/linux-x64-musl": "1", "@n/linux-arm64-gnu": "1", "@n/darwin-x64": "1", "@n/wasm": "1", "@n/not-win": "1"}}),
		"node_modules/@n/linux-x64-gnu":   entry("@n/linux-x64-gnu", lockPkg{"optional": true, "os": []string{"linux"}, "cpu": []string{"x64"}, "libc": []string{"glibc"}}),
		"node_modules/@n/linux-x64-musl":  entry("@n/linux-x64-musl", lockPkg{"optional": true, "os": []string{"linux"}, "cpu": []string{"x64"}, "libc": []string{"musl"}}),
		"node_modules/@n/linux-arm64-gnu": entry("@n/linux-arm64-gnu", lockPkg{"optional": true, "os": "linux", "cpu": "arm64", "libc": "glibc"}),
		"node_modules/@n/darwin-x64":      entry("@n/darwin-x64", lockPkg{"optional": true, "os": []string{"darwin"}, "cpu": []string{"x64"}}),
		"node_modules/@n/not-win":         entry("@n/not-win", lockPkg{"optional": true, "os": []string{"!win32"}}),
		// wasm needs runtime, which only it needs; shared is needed by
		// native too and stays.
		"node_modules/@n/wasm": entry("@n/wasm", lockPkg{"optional": true, "cpu": []string{"wasm32"},
			"dependencies": map[string]string{"runtime": "1", "shared": "1"}}),
		"node_modules/runtime": entry("runtime", lockPkg{"optional": true}),
		"node_modules/shared":  entry("shared", lockPkg{"optional": true}),
	}
	pkgs["node_modules/native"]["dependencies"] = map[string]string{"shared": "1"}
	s, err := install(t, newCache(t), lockJSON(t, 3, pkgs), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range s.Components {
		got = append(got, c.Name)
	}
	want := "@n/linux-x64-gnu @n/not-win native shared"
	if strings.Join(got, " ") != want {
		t.Errorf("installed %q, want %q", strings.Join(got, " "), want)
	}
	// For arm64 the arm64 package is taken instead.
	s, err = install(t, newCache(t), lockJSON(t, 3, pkgs), func(o *Options) { o.Platform.CPU = "arm64" })
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, c := range s.Components {
		got = append(got, c.Name)
	}
	if want := "@n/linux-arm64-gnu @n/not-win native shared"; strings.Join(got, " ") != want {
		t.Errorf("arm64: installed %q, want %q", strings.Join(got, " "), want)
	}

	// A required package for another platform is an error.
	pkgs["node_modules/@n/darwin-x64"]["optional"] = false
	_, err = install(t, newCache(t), lockJSON(t, 3, pkgs), nil)
	if err == nil || !strings.Contains(err.Error(), "@n/darwin-x64@1.0.0 (node_modules/@n/darwin-x64) is for os darwin, cpu x64, not linux-x64-glibc, and is not optional") {
		t.Errorf("required darwin package: %v", err)
	}
}

func TestRegistryRewrite(t *testing.T) {
	reg := newRegistry(t)
	data := tgz(t, pkgJSON("a", "1.0.0", ""))
	_, in := reg.add("/mirror/a/-/a-1.0.0.tgz", data)
	lock := lockJSON(t, 2, map[string]lockPkg{
		"node_modules/a": {"version": "1.0.0", "resolved": "https://registry.npmjs.org/a/-/a-1.0.0.tgz", "integrity": in},
	})
	s, err := install(t, newCache(t), lock, func(o *Options) { o.Registry = reg.URL + "/mirror" })
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Components[0].Source; got != reg.URL+"/mirror/a/-/a-1.0.0.tgz" {
		t.Errorf("source %s", got)
	}
	if _, ok := filesOf(s)["/app/node_modules/a/package.json"]; !ok {
		t.Error("a not installed")
	}

	// Without a resolved URL (npm's omit-lockfile-registry-resolved), a
	// package comes from the registry's usual place; an alias by its
	// real name.
	sdata := tgz(t, pkgJSON("@s/real", "2.0.0-rc.1", ""))
	_, sin := reg.add("/mirror/@s/real/-/real-2.0.0-rc.1.tgz", sdata)
	lock = lockJSON(t, 3, map[string]lockPkg{
		"node_modules/a":     {"version": "1.0.0", "integrity": in},
		"node_modules/alias": {"name": "@s/real", "version": "2.0.0-rc.1", "integrity": sin},
	})
	s, err = install(t, newCache(t), lock, func(o *Options) { o.Registry = reg.URL + "/mirror/" })
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range s.Components {
		got = append(got, c.PURL+" "+strings.TrimPrefix(c.Source, reg.URL))
	}
	if want := "pkg:npm/%40s/real@2.0.0-rc.1 /mirror/@s/real/-/real-2.0.0-rc.1.tgz pkg:npm/a@1.0.0 /mirror/a/-/a-1.0.0.tgz"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
	if _, ok := filesOf(s)["/app/node_modules/alias/package.json"]; !ok {
		t.Error("the alias is not at its folder")
	}
	lock = lockJSON(t, 3, map[string]lockPkg{"node_modules/a": {"version": "../../x", "integrity": in}})
	if _, err := install(t, newCache(t), lock, nil); err == nil || !strings.Contains(err.Error(), `version "../../x" is not a registry version`) {
		t.Errorf("bad version: %v", err)
	}
}

func TestAppDir(t *testing.T) {
	reg := newRegistry(t)
	res, in := reg.add("/a.tgz", tgz(t, pkgJSON("a", "1.0.0", "")))
	lock := lockJSON(t, 3, map[string]lockPkg{"node_modules/a": {"version": "1.0.0", "resolved": res, "integrity": in}})
	s, err := install(t, newCache(t), lock, func(o *Options) { o.AppDir = "/srv/app/" })
	if err != nil {
		t.Fatal(err)
	}
	fm := filesOf(s)
	for _, p := range []string{"/srv", "/srv/app", "/srv/app/node_modules/a/package.json"} {
		if _, ok := fm[p]; !ok {
			t.Errorf("%s missing", p)
		}
	}
	for _, bad := range []string{"app", "/"} {
		if _, err := install(t, newCache(t), lock, func(o *Options) { o.AppDir = bad }); err == nil {
			t.Errorf("app dir %q accepted", bad)
		}
	}
}

func TestSHA1Integrity(t *testing.T) {
	reg := newRegistry(t)
	data := tgz(t, pkgJSON("old", "0.1.0", ""))
	res, _ := reg.add("/old.tgz", data)
	s1 := sha1.Sum(data)
	in := "sha1-" + base64.StdEncoding.EncodeToString(s1[:])
	lock := lockJSON(t, 2, map[string]lockPkg{"node_modules/old": {"version": "0.1.0", "resolved": res, "integrity": in}})
	if _, err := install(t, newCache(t), lock, nil); err != nil {
		t.Fatal(err)
	}
	// The strongest algorithm decides: a right sha1 does not save a
	// wrong sha512.
	lock = lockJSON(t, 2, map[string]lockPkg{"node_modules/old": {"version": "0.1.0", "resolved": res,
		"integrity": sri([]byte("other")) + " " + in}})
	if _, err := install(t, newCache(t), lock, nil); err == nil || !strings.Contains(err.Error(), "integrity mismatch") {
		t.Errorf("wrong sha512, right sha1: %v", err)
	}
}

// TestHostile: each hostile input is refused with an error naming what
// is wrong, the cache holds nothing afterwards and nothing is written
// outside it.
func TestHostile(t *testing.T) {
	reg := newRegistry(t)
	good := tgz(t, pkgJSON("x", "1.0.0", ""))
	one := func(data []byte, extra lockPkg) []byte {
		res, in := reg.add(fmt.Sprintf("/%x.tgz", sha512.Sum512(data)), data)
		e := lockPkg{"version": "1.0.0", "resolved": res, "integrity": in}
		for k, v := range extra {
			e[k] = v
		}
		return lockJSON(t, 3, map[string]lockPkg{"node_modules/x": e})
	}
	cases := []struct {
		name string
		lock []byte
		want string
	}{
		{"traversal", one(tgz(t, pkgJSON("x", "1.0.0", ""), tent{name: "package/../../../../tmp/evil", body: "x"}), nil),
			`member "package/../../../../tmp/evil": path leads out of the package`},
		{"absolute", one(tgz(t, pkgJSON("x", "1.0.0", ""), tent{name: "/etc/evil", body: "x"}), nil),
			`member "/etc/evil": absolute path`},
		{"symlink out", one(tgz(t, pkgJSON("x", "1.0.0", ""), tent{name: "package/lib/etc", typ: tar.TypeSymlink, link: "../../../etc"}), nil),
			`symlink "package/lib/etc": points out of the package`},
		{"symlink absolute", one(tgz(t, pkgJSON("x", "1.0.0", ""), tent{name: "package/passwd", typ: tar.TypeSymlink, link: "/etc/passwd"}), nil),
			`symlink "package/passwd": points to the absolute path "/etc/passwd"`},
		{"hard link out", one(tgz(t, pkgJSON("x", "1.0.0", ""), tent{name: "package/h", typ: tar.TypeLink, link: "../etc/passwd"}), nil),
			`hard link "package/h": target "../etc/passwd": path leads out`},
		{"2 GiB member", one(tgz(t, pkgJSON("x", "1.0.0", ""), tent{name: "package/huge.bin", body: "just the start", size: 2 << 30}), nil),
			`member "package/huge.bin" declares 2.1 GB, more than the limit of 1.1 GB for one file`},
		{"integrity mismatch", one(good, lockPkg{"integrity": sri([]byte("something else"))}),
			"integrity mismatch: expected sha512-"},
		{"no integrity", one(good, lockPkg{"integrity": ""}), "no integrity"},
		{"file source", one(good, lockPkg{"resolved": "file:../x"}), `resolved "file:../x" is a file: source`},
		{"git source", one(good, lockPkg{"resolved": "git+ssh://git@github.com/x/x.git#abc"}), `is a git+ssh: source`},
		{"git scheme", one(good, lockPkg{"resolved": "git://github.com/x/x.git"}), `is a git: source`},
		{"link", lockJSON(t, 3, map[string]lockPkg{"node_modules/x": {"resolved": "packages/x", "link": true}}),
			`node_modules/x is a link to "packages/x"`},
		{"workspace folder", lockJSON(t, 3, map[string]lockPkg{"packages/x": {"version": "1.0.0"}}),
			`"packages/x" is not a node_modules path`},
		{"dotdot package", lockJSON(t, 3, map[string]lockPkg{"node_modules/../../etc": {"version": "1.0.0"}}),
			`bad package name ".."`},
		{"lockfile v1", []byte(`{"name":"a","lockfileVersion":1,"dependencies":{}}`), "lockfileVersion 1 (npm 5 and 6) is not supported"},
		{"lockfile v4", []byte(`{"name":"a","lockfileVersion":4,"packages":{}}`), "lockfileVersion 4 is not supported"},
		{"not json", []byte(`<html>`), "not a package-lock.json"},
		{"not gzip", one([]byte("plain text, not a tarball"), nil), "not a gzip tarball"},
		{"no package.json", one(tgz(t, tent{name: "package/index.js", body: "x"}), nil), "the tarball has no package.json"},
		{"another package's tarball", one(tgz(t, pkgJSON("evil", "6.6.6", "")), nil), "the tarball holds evil@6.6.6, not x@1.0.0"},
		{"file over dir", one(tgz(t, pkgJSON("x", "1.0.0", ""), tent{name: "package/lib", body: "f"}, tent{name: "package/lib/a.js", body: "x"}), nil),
			`member "lib/a.js" needs "lib" to be a directory, but it is a file`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache(t)
			_, err := install(t, c, tc.lock, nil)
			if err == nil {
				t.Fatalf("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "npm: package-lock.json: ") {
				t.Errorf("error %q does not name the lockfile", err)
			}
			if left := cacheEntries(t, c.Dir); len(left) > 0 {
				t.Errorf("the cache holds %v", left)
			}
		})
	}
	if _, err := os.Stat("/tmp/evil"); err == nil {
		t.Error("/tmp/evil exists")
	}
}

// TestTotalLimit: all packages together are bounded, even when each
// fits.
func TestTotalLimit(t *testing.T) {
	reg := newRegistry(t)
	pkgs := map[string]lockPkg{}
	for _, n := range []string{"a", "b", "c"} {
		res, in := reg.add("/"+n+".tgz", tgz(t, pkgJSON(n, "1.0.0", ""), tent{name: "package/blob", body: strings.Repeat(n, 400)}))
		pkgs["node_modules/"+n] = lockPkg{"version": "1.0.0", "resolved": res, "integrity": in}
	}
	_, err := install(t, newCache(t), lockJSON(t, 3, pkgs), func(o *Options) { o.MaxTotalSize = 1000 })
	if err == nil || !strings.Contains(err.Error(), "over the limit for all application files") {
		t.Errorf("over the total: %v", err)
	}
	if _, err := install(t, newCache(t), lockJSON(t, 3, pkgs), func(o *Options) { o.MaxTotalSize = 2000 }); err != nil {
		t.Errorf("within the total: %v", err)
	}
}

// TestDamagedCache: a cached tarball that no longer matches its
// integrity is downloaded again.
func TestDamagedCache(t *testing.T) {
	reg := newRegistry(t)
	data := tgz(t, pkgJSON("a", "1.0.0", ""))
	res, in := reg.add("/a.tgz", data)
	lock := lockJSON(t, 3, map[string]lockPkg{"node_modules/a": {"version": "1.0.0", "resolved": res, "integrity": in}})
	c := newCache(t)
	if _, err := install(t, c, lock, nil); err != nil {
		t.Fatal(err)
	}
	pi, _ := parseIntegrity(in)
	if err := c.Put(pi.key(), tgz(t, pkgJSON("a", "6.6.6", ""))); err != nil {
		t.Fatal(err)
	}
	s, err := install(t, c, lock, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Components[0].Version != "1.0.0" || reg.hits["/a.tgz"] != 2 {
		t.Errorf("version %s, %d downloads", s.Components[0].Version, reg.hits["/a.tgz"])
	}
}

func TestCheckList(t *testing.T) {
	for _, c := range []struct {
		v    string
		list []string
		want bool
	}{
		{"linux", []string{"linux"}, true},
		{"linux", []string{"darwin", "linux"}, true},
		{"linux", []string{"darwin"}, false},
		{"linux", []string{"!win32"}, true},
		{"linux", []string{"!linux"}, false},
		{"linux", []string{"!win32", "darwin"}, false},
		{"linux", []string{"any"}, true},
	} {
		if got := checkList(c.v, c.list); got != c.want {
			t.Errorf("checkList(%q, %q) = %v", c.v, c.list, got)
		}
	}
}

func TestBinsNormalize(t *testing.T) {
	got := bins(json.RawMessage(`{"../../evil":"../../../etc/x","a:b":"./x.js","ok":"bin\\ok.js","":"y","n":""}`), "p")
	want := map[string]string{"evil": "etc/x", "b": "x.js", "ok": "bin/ok.js"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("bins = %v, want %v", got, want)
	}
	if got := bins(json.RawMessage(`"cli.js"`), "@s/tool"); fmt.Sprint(got) != "map[tool:cli.js]" {
		t.Errorf("string bin of a scoped package: %v", got)
	}
}

func TestNodeCPU(t *testing.T) {
	for oci, want := range map[string]string{"amd64": "x64", "arm64": "arm64", "arm": "arm", "386": "ia32", "ppc64le": "ppc64", "s390x": "s390x", "riscv64": "riscv64"} {
		if got, err := NodeCPU(oci); err != nil || got != want {
			t.Errorf("NodeCPU(%s) = %s, %v", oci, got, err)
		}
	}
	if _, err := NodeCPU("sparc"); err == nil {
		t.Error("sparc accepted")
	}
}

// TestBinConflicts: of two packages naming one bin in one node_modules,
// the first in npm's order (shallower, then by path) gets it; a bin whose
// target the package lacks is not linked, and its name stays free.
func TestBinConflicts(t *testing.T) {
	reg := newRegistry(t)
	pkgs := map[string]lockPkg{}
	for _, n := range []string{"alpha", "beta", "gamma"} {
		res, in := reg.add("/"+n+".tgz", tgz(t, pkgJSON(n, "1.0.0", ""), tent{name: "package/cli.js", body: n}))
		pkgs["node_modules/"+n] = lockPkg{"version": "1.0.0", "resolved": res, "integrity": in, "bin": map[string]string{"tool": "cli.js"}}
	}
	pkgs["node_modules/alpha"]["bin"] = map[string]string{"tool": "missing.js", "other": "cli.js"}
	s, err := install(t, newCache(t), lockJSON(t, 3, pkgs), nil)
	if err != nil {
		t.Fatal(err)
	}
	fm := filesOf(s)
	if f := fm["/app/node_modules/.bin/tool"]; f.Link != "../beta/cli.js" {
		t.Errorf("tool -> %q, want ../beta/cli.js", f.Link)
	}
	if f := fm["/app/node_modules/.bin/other"]; f.Link != "../alpha/cli.js" {
		t.Errorf("other -> %q", f.Link)
	}
	if m := fm["/app/node_modules/gamma/cli.js"].Mode; m != 0o644 {
		t.Errorf("gamma's cli.js, not linked, has mode %v", m)
	}
	if _, ok := fm["/app/node_modules/alpha/missing.js"]; ok {
		t.Error("a missing bin target was made")
	}
}
