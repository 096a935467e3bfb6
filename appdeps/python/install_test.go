package python

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages/fetch"
)

var trixie = Target{Python: "3.13", Arch: "amd64", Glibc: "2.41", Interpreter: "/usr/bin/python3.13",
	Prefix: "/usr/local", Site: "/usr/local/lib/python3.13/dist-packages"}

// wheelSpec describes a wheel a test makes.
type wheelSpec struct {
	name, version, tag string
	files              map[string]string // member → content (RECORD made from them)
	record             func(string) string
	raw                func(w *zip.Writer) // more members, not in RECORD
}

// makeWheel writes the wheel into dir and returns its file name and SHA-256.
func makeWheel(t *testing.T, dir string, s wheelSpec) (string, string) {
	t.Helper()
	di := strings.ReplaceAll(s.name, "-", "_") + "-" + s.version + ".dist-info"
	files := map[string]string{
		di + "/METADATA": fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\nLicense: MIT\n\nDescription\n", s.name, s.version),
		di + "/WHEEL":    "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: " + s.tag + "\n",
	}
	for k, v := range s.files {
		files[k] = v
	}
	var names []string
	for k := range files {
		names = append(names, k)
	}
	sort.Strings(names)
	var rec strings.Builder
	for _, n := range names {
		h := sha256.Sum256([]byte(files[n]))
		fmt.Fprintf(&rec, "%s,sha256=%s,%d\n", n, base64.RawURLEncoding.EncodeToString(h[:]), len(files[n]))
	}
	fmt.Fprintf(&rec, "%s/RECORD,,\n", di)
	record := rec.String()
	if s.record != nil {
		record = s.record(record)
	}
	files[di+"/RECORD"] = record
	names = append(names, di+"/RECORD")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(files[n]))
	}
	if s.raw != nil {
		s.raw(zw)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	file := fmt.Sprintf("%s-%s-%s.whl", strings.ReplaceAll(s.name, "-", "_"), s.version, s.tag)
	if err := os.WriteFile(filepath.Join(dir, file), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return file, hex.EncodeToString(sum[:])
}

// listTree lists every path under dir with its size, for "untouched" checks.
func listTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, _ := d.Info()
		fmt.Fprintf(&b, "%s %d\n", strings.TrimPrefix(p, dir), info.Size())
		return nil
	})
	return b.String()
}

func good(name string) wheelSpec {
	mod := strings.ReplaceAll(name, "-", "_")
	return wheelSpec{name: name, version: "1.0", tag: "py3-none-any", files: map[string]string{
		mod + "/__init__.py":                    "def main():\n    print('hi')\n",
		mod + "-1.0.dist-info/entry_points.txt": "[console_scripts]\n" + name + " = " + mod + ":main\n",
		mod + "-1.0.data/scripts/tool":          "#!python -u\nprint('tool')\n",
	}}
}

func TestInstallDirectory(t *testing.T) {
	dir, cacheDir := t.TempDir(), t.TempDir()
	makeWheel(t, dir, good("hello"))
	set, err := Install(context.Background(), Options{Wheels: dir, Cache: &fetch.Cache{Dir: cacheDir}}, trixie)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range set.Files {
		got[f.Path] = string(f.Data)
		if strings.HasPrefix(f.Path, "/usr/local/bin/") && f.Mode != 0o755 {
			t.Errorf("%s: mode %v, want 0755", f.Path, f.Mode)
		}
	}
	site := trixie.Site
	for _, want := range []string{site + "/hello/__init__.py", site + "/hello-1.0.dist-info/METADATA", site + "/hello-1.0.dist-info/INSTALLER",
		site + "/hello-1.0.dist-info/direct_url.json", site + "/hello-1.0.dist-info/RECORD", "/usr/local/bin/hello", "/usr/local/bin/tool"} {
		if _, ok := got[want]; !ok {
			t.Errorf("no %s in %v", want, got)
		}
	}
	if s := got["/usr/local/bin/hello"]; !strings.HasPrefix(s, "#!/usr/bin/python3.13\n") || !strings.Contains(s, "from hello import main") {
		t.Errorf("console script:\n%s", s)
	}
	if s := got["/usr/local/bin/tool"]; s != "#!/usr/bin/python3.13 -u\nprint('tool')\n" {
		t.Errorf("data script's #!python not rewritten:\n%s", s)
	}
	if rec := got[site+"/hello-1.0.dist-info/RECORD"]; !strings.Contains(rec, "../../../bin/hello,sha256=") || !strings.Contains(rec, "hello-1.0.dist-info/INSTALLER,sha256=") {
		t.Errorf("RECORD:\n%s", rec)
	}
	if len(set.Components) != 1 || set.Components[0].PURL != "pkg:pypi/hello@1.0" || set.Components[0].License != "MIT" || !strings.HasPrefix(set.Components[0].Hash, "sha256:") {
		t.Errorf("components %+v", set.Components)
	}
}

func TestRequirements(t *testing.T) {
	h := strings.Repeat("ab", 32)
	reqs, err := parseRequirements("r.txt", []byte("# c\nFoo_Bar==1.2 \\\n    --hash=sha256:"+h+" \\\n    --hash sha256:"+strings.ToUpper(h)+"\n\nbaz[x] == 2 --hash=sha256:"+h+"  # trailing\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 || reqs[0].Name != "Foo_Bar" || reqs[0].Version != "1.2" || len(reqs[0].Hashes) != 2 || reqs[1].Line != 6 || reqs[1].Name != "baz" {
		t.Fatalf("%+v", reqs)
	}
	for in, want := range map[string]string{
		"foo>=1 --hash=sha256:" + h: "is not pinned",
		"foo==1":                    "has no --hash",
		"foo==1 --hash=md5:abc":     "is not sha256",
		"foo==1 --hash=sha256:" + h + " --no-binary":                "option --no-binary",
		"--index-url https://x/":                                    "option --index-url",
		"foo==1; python_version<'3' --hash=sha256:" + h:             "environment markers",
		"https://example.com/x.whl":                                 "is not pinned",
		"foo==1 --hash=sha256:" + h + "\nFOO==2 --hash=sha256:" + h: "line 1 already",
	} {
		if _, err := parseRequirements("r.txt", []byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func TestTags(t *testing.T) {
	ts, err := trixie.supported()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file string
		ok   bool
		why  string
	}{
		{"a-1-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", true, ""},
		{"a-1-cp313-cp313-manylinux_2_41_x86_64.whl", true, ""},
		{"a-1-cp37-abi3-manylinux1_x86_64.whl", true, ""},
		{"a-1-cp313-cp313-linux_x86_64.whl", true, ""},
		{"a-1-py3-none-any.whl", true, ""},
		{"a-1-py2.py3-none-any.whl", true, ""},
		{"a-1-cp313-cp313-manylinux_2_42_x86_64.whl", false, "needs glibc"},
		{"a-1-cp313-cp313-musllinux_1_2_x86_64.whl", false, "musl"},
		{"a-1-cp313-cp313-manylinux_2_17_aarch64.whl", false, "platform manylinux_2_17_aarch64"},
		{"a-1-cp311-cp311-manylinux_2_17_x86_64.whl", false, "not for python 3.13"},
		{"a-1-cp313-cp313t-manylinux_2_17_x86_64.whl", false, "not for python 3.13"},
		{"a-1-cp313-cp313-win_amd64.whl", false, "platform win_amd64"},
		{"a-1-py2-none-any.whl", false, "not for python 3.13"},
	} {
		w, err := parseWheelName(c.file)
		if err != nil {
			t.Fatal(err)
		}
		if got := ts.rank(w) >= 0; got != c.ok {
			t.Errorf("%s: accepted %v, want %v", c.file, got, c.ok)
		}
		if !c.ok && !strings.Contains(trixie.whyNot(w), c.why) {
			t.Errorf("%s: %q, want %q", c.file, trixie.whyNot(w), c.why)
		}
	}
	// Best first: the interpreter's own ABI over abi3 over pure.
	best, err := choose("a", "1", []candidate{
		{File: "a-1-py3-none-any.whl", Name: mustName(t, "a-1-py3-none-any.whl")},
		{File: "a-1-cp38-abi3-manylinux_2_17_x86_64.whl", Name: mustName(t, "a-1-cp38-abi3-manylinux_2_17_x86_64.whl")},
		{File: "a-1-cp313-cp313-manylinux_2_28_x86_64.whl", Name: mustName(t, "a-1-cp313-cp313-manylinux_2_28_x86_64.whl")},
	}, ts, trixie, "test")
	if err != nil || best.File != "a-1-cp313-cp313-manylinux_2_28_x86_64.whl" {
		t.Errorf("chose %s, %v", best.File, err)
	}
}

func mustName(t *testing.T, f string) wheelName {
	w, err := parseWheelName(f)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestHostile: each wheel is refused with an error naming what is wrong,
// and neither the host (the wheel directory) nor the cache changes.
func TestHostile(t *testing.T) {
	cases := []struct {
		name string
		spec wheelSpec
		want string
	}{
		{"traversal", wheelSpec{name: "evil", version: "1.0", tag: "py3-none-any", files: map[string]string{"evil/../../../../etc/cron.d/x": "x"}}, "climbs out"},
		{"dotdot", wheelSpec{name: "evil", version: "1.0", tag: "py3-none-any", files: map[string]string{"../evil.py": "x"}}, "climbs out"},
		{"absolute", wheelSpec{name: "evil", version: "1.0", tag: "py3-none-any", files: map[string]string{"/etc/passwd": "root::0:0::/:/bin/sh\n"}}, "absolute path"},
		{"data traversal", wheelSpec{name: "evil", version: "1.0", tag: "py3-none-any", files: map[string]string{"evil-1.0.data/data/../../../../etc/shadow": "x"}}, "climbs out"},
		{"symlink", wheelSpec{name: "evil", version: "1.0", tag: "py3-none-any", raw: func(w *zip.Writer) {
			h := &zip.FileHeader{Name: "evil/link", Method: zip.Store}
			h.SetMode(fs.ModeSymlink | 0o777)
			fw, _ := w.CreateHeader(h)
			fw.Write([]byte("/etc/passwd"))
		}}, "is a symlink"},
		{"record lies", wheelSpec{name: "evil", version: "1.0", tag: "py3-none-any", files: map[string]string{"evil/__init__.py": "import os\n"},
			record: func(r string) string {
				h := sha256.Sum256([]byte("harmless\n"))
				lines := strings.Split(r, "\n")
				for i, l := range lines {
					if strings.HasPrefix(l, "evil/__init__.py,") {
						lines[i] = "evil/__init__.py,sha256=" + base64.RawURLEncoding.EncodeToString(h[:]) + ",9"
					}
				}
				return strings.Join(lines, "\n")
			}}, "RECORD lies: evil/__init__.py"},
		{"unlisted member", wheelSpec{name: "evil", version: "1.0", tag: "py3-none-any", raw: func(w *zip.Writer) {
			fw, _ := w.Create("evil/extra.py")
			fw.Write([]byte("x"))
		}}, "RECORD does not list evil/extra.py"},
		{"other abi", wheelSpec{name: "evil", version: "1.0", tag: "cp311-cp311-manylinux_2_17_x86_64"}, "not for python 3.13"},
		{"other platform", wheelSpec{name: "evil", version: "1.0", tag: "cp313-cp313-manylinux_2_17_aarch64"}, "is for platform manylinux_2_17_aarch64"},
		{"musl", wheelSpec{name: "evil", version: "1.0", tag: "cp313-cp313-musllinux_1_2_x86_64"}, "musl"},
		{"2 GiB member", wheelSpec{name: "evil", version: "1.0", tag: "py3-none-any", raw: func(w *zip.Writer) {
			// A member that declares 2 GiB: its header is what is read,
			// nothing of that size is ever written.
			h := &zip.FileHeader{Name: "evil/big.bin", Method: zip.Store, CRC32: 0, CompressedSize64: 4, UncompressedSize64: 2 << 30}
			fw, err := w.CreateRaw(h)
			if err != nil {
				panic(err)
			}
			fw.Write([]byte("abcd"))
		}}, "declares 2147483648 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, cacheDir := t.TempDir(), t.TempDir()
			makeWheel(t, dir, c.spec)
			beforeDir, beforeCache := listTree(t, dir), listTree(t, cacheDir)
			_, err := Install(context.Background(), Options{Wheels: dir, Cache: &fetch.Cache{Dir: cacheDir}, MaxFileSize: 1 << 30}, trixie)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
			t.Log(err)
			if after := listTree(t, dir); after != beforeDir {
				t.Errorf("the wheel directory changed:\n%s\nwas\n%s", after, beforeDir)
			}
			if after := listTree(t, cacheDir); strings.Contains(after, "blobs/sha256/") && after != beforeCache {
				t.Errorf("the cache changed:\n%s\nwas\n%s", after, beforeCache)
			}
		})
	}
}

// serveIndex serves dir as a PEP 503 simple index (HTML, or PEP 691 JSON
// when asked for) on 127.0.0.1; hashes maps a file to the sha256 the
// index gives for it ("" for none).
func serveIndex(t *testing.T, dir string, hashes map[string]string, asJSON bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/simple/{project}/", func(w http.ResponseWriter, r *http.Request) {
		p := r.PathValue("project")
		ents, _ := os.ReadDir(dir)
		var links, files []string
		for _, e := range ents {
			w, err := parseWheelName(e.Name())
			if err != nil || normalize(w.Name) != p {
				continue
			}
			frag := ""
			if h := hashes[e.Name()]; h != "" {
				frag = "#sha256=" + h
			}
			links = append(links, fmt.Sprintf(`<a href="../../files/%s%s">%s</a><br/>`, e.Name(), frag, e.Name()))
			files = append(files, fmt.Sprintf(`{"filename": %q, "url": "../../files/%s", "hashes": {"sha256": %q}}`, e.Name(), e.Name(), hashes[e.Name()]))
		}
		if len(links) == 0 {
			http.NotFound(w, r)
			return
		}
		if asJSON {
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			fmt.Fprintf(w, `{"meta": {"api-version": "1.0"}, "name": %q, "files": [%s]}`, p, strings.Join(files, ","))
			return
		}
		fmt.Fprintf(w, "<!DOCTYPE html><html><body>%s</body></html>", strings.Join(links, "\n"))
	})
	mux.Handle("/files/", http.StripPrefix("/files/", http.FileServer(http.Dir(dir))))
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/simple/"
}

func TestIndex(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprint("json=", asJSON), func(t *testing.T) {
			dir, cacheDir, reqDir := t.TempDir(), t.TempDir(), t.TempDir()
			f1, h1 := makeWheel(t, dir, good("hello-app"))
			f2, h2 := makeWheel(t, dir, wheelSpec{name: "hello-app", version: "1.0", tag: "cp313-cp313-musllinux_1_2_x86_64"})
			idx := serveIndex(t, dir, map[string]string{f1: h1, f2: ""}, asJSON)
			req := filepath.Join(reqDir, "requirements.txt")
			os.WriteFile(req, []byte("Hello.App==1.0 --hash=sha256:"+h1+" --hash=sha256:"+h2+"\n"), 0o644)
			set, err := Install(context.Background(), Options{Requirements: req, Index: idx, Cache: &fetch.Cache{Dir: cacheDir}}, trixie)
			if err != nil {
				t.Fatal(err)
			}
			if len(set.Components) != 1 || set.Components[0].Hash != "sha256:"+h1 || !strings.HasSuffix(set.Components[0].Source, "/files/"+f1) {
				t.Fatalf("%+v", set.Components)
			}
			if _, ok := (&fetch.Cache{Dir: cacheDir}).Blob(h1); !ok {
				t.Error("the wheel is not in the cache")
			}
			// A pin the index's file does not have: refused, nothing cached.
			cache2 := t.TempDir()
			os.WriteFile(req, []byte("hello-app==1.0 --hash=sha256:"+strings.Repeat("0", 64)+"\n"), 0o644)
			_, err = Install(context.Background(), Options{Requirements: req, Index: idx, Cache: &fetch.Cache{Dir: cache2}}, trixie)
			if err == nil || !strings.Contains(err.Error(), "hash mismatch") {
				t.Fatalf("got %v, want a hash mismatch", err)
			}
			if strings.Contains(listTree(t, cache2), "blobs/sha256/") {
				t.Errorf("the cache holds a blob of a refused wheel:\n%s", listTree(t, cache2))
			}
			// A project the index lacks, a version it lacks.
			os.WriteFile(req, []byte("nothere==1.0 --hash=sha256:"+h1+"\n"), 0o644)
			if _, err = Install(context.Background(), Options{Requirements: req, Index: idx, Cache: &fetch.Cache{Dir: cache2}}, trixie); err == nil || !strings.Contains(err.Error(), "nothere==1.0") || !strings.Contains(err.Error(), "sdists are not built") {
				t.Errorf("missing project: %v", err)
			}
			os.WriteFile(req, []byte("hello-app==2.0 --hash=sha256:"+h1+"\n"), 0o644)
			if _, err = Install(context.Background(), Options{Requirements: req, Index: idx, Cache: &fetch.Cache{Dir: cache2}}, trixie); err == nil || !strings.Contains(err.Error(), "has no wheel of version 2.0 (it has 1.0)") {
				t.Errorf("missing version: %v", err)
			}
		})
	}
}

// TestIndexLies: the index gives the pinned hash, but serves other bytes.
func TestIndexLies(t *testing.T) {
	dir, cacheDir, reqDir := t.TempDir(), t.TempDir(), t.TempDir()
	f1, _ := makeWheel(t, dir, good("hello"))
	pinned := strings.Repeat("ab", 32)
	idx := serveIndex(t, dir, map[string]string{f1: pinned}, false)
	req := filepath.Join(reqDir, "r.txt")
	os.WriteFile(req, []byte("hello==1.0 --hash=sha256:"+pinned+"\n"), 0o644)
	c := &fetch.Cache{Dir: cacheDir, RetryFor: 1}
	_, err := Install(context.Background(), Options{Requirements: req, Index: idx, Cache: c}, trixie)
	if err == nil || !strings.Contains(err.Error(), "sha256 mismatch") {
		t.Fatalf("got %v, want a sha256 mismatch", err)
	}
	if strings.Contains(listTree(t, cacheDir), "blobs/sha256/") {
		t.Errorf("the cache holds a blob:\n%s", listTree(t, cacheDir))
	}
}

// TestMissingRequirement: a wheel whose unconditional Requires-Dist names
// a project not installed gives a warning; a conditional one does not.
func TestMissingRequirement(t *testing.T) {
	dir, cacheDir := t.TempDir(), t.TempDir()
	makeWheel(t, dir, wheelSpec{name: "needy", version: "1.0", tag: "py3-none-any", files: map[string]string{
		"needy/__init__.py": "",
		"needy-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: needy\nVersion: 1.0\nRequires-Dist: requests (>=2)\n" +
			"Requires-Dist: pytest; extra == 'test'\nRequires-Dist: Needy_Dep\n\n",
	}})
	makeWheel(t, dir, wheelSpec{name: "needy-dep", version: "2", tag: "py3-none-any", files: map[string]string{"needy_dep.py": ""}})
	set, err := Install(context.Background(), Options{Wheels: dir, Cache: &fetch.Cache{Dir: cacheDir}}, trixie)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Warnings) != 1 || set.Warnings[0] != "needy 1.0 requires requests (>=2), which is not installed" {
		t.Errorf("warnings %q", set.Warnings)
	}
}

// TestGarbageWheel: a file named like a wheel that is no zip archive, or
// a truncated one, is refused naming it; the cache keeps nothing.
func TestGarbageWheel(t *testing.T) {
	for name, data := range map[string][]byte{"garbage": []byte("not a zip at all"), "truncated": nil} {
		t.Run(name, func(t *testing.T) {
			dir, cacheDir := t.TempDir(), t.TempDir()
			file := "junk-1.0-py3-none-any.whl"
			if data == nil {
				f, _ := makeWheel(t, dir, good("junk"))
				full, _ := os.ReadFile(filepath.Join(dir, f))
				data = full[:len(full)/2]
				file = f
			}
			os.WriteFile(filepath.Join(dir, file), data, 0o644)
			_, err := Install(context.Background(), Options{Wheels: dir, Cache: &fetch.Cache{Dir: cacheDir}}, trixie)
			if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "zip") {
				t.Fatalf("got %v", err)
			}
			if strings.Contains(listTree(t, cacheDir), "blobs/sha256/") {
				t.Errorf("the cache keeps a blob:\n%s", listTree(t, cacheDir))
			}
		})
	}
}
