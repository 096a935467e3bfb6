package assemble

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func pycFrame(cache string, flags byte, body string) string {
	data := "\xf3\x0d\x0d\x0a" + string([]byte{flags, 0, 0, 0}) + "12345678" + body
	return fmt.Sprintf("P %d %d\n%s%s", len(cache), len(data), cache, data)
}

// TestParsePyc: the interpreter's output is trusted no further than it
// must be: only the cache files of the sources asked for, hash-based,
// and a complete stream.
func TestParsePyc(t *testing.T) {
	srcs := []string{"usr/lib/python3.13/json/__init__.py", "usr/lib/python3.13/foo.bar.py", "usr/lib/python3.13/bad.py"}
	bad := "/usr/lib/python3.13/bad.py"
	good := pycFrame("/usr/lib/python3.13/json/__pycache__/__init__.cpython-313.pyc", 3, "code") +
		pycFrame("/usr/lib/python3.13/__pycache__/foo.bar.cpython-313.pyc", 3, "") +
		fmt.Sprintf("E %d\n%s", len(bad), bad) + "D\n"
	files, failed, err := parsePyc([]byte(good), srcs)
	if err != nil || failed != 1 || len(files) != 2 || files[0].Path != "/usr/lib/python3.13/json/__pycache__/__init__.cpython-313.pyc" || !strings.HasSuffix(string(files[0].Data), "code") {
		t.Fatalf("good output: %v, %d failed, %v", files, failed, err)
	}
	for name, out := range map[string]string{
		"empty":          "",
		"no end":         pycFrame("/usr/lib/python3.13/json/__pycache__/__init__.cpython-313.pyc", 3, "x"),
		"after the end":  "D\nmore",
		"escape":         pycFrame("/usr/lib/python3.13/json/__pycache__/../../../../etc/passwd.cpython-313.pyc", 3, "x") + "D\n",
		"not asked":      pycFrame("/usr/lib/python3.13/__pycache__/os.cpython-313.pyc", 3, "x") + "D\n",
		"not a cache":    pycFrame("/usr/lib/python3.13/json/__init__.pyc", 3, "x") + "D\n",
		"timestamp pyc":  pycFrame("/usr/lib/python3.13/json/__pycache__/__init__.cpython-313.pyc", 0, "x") + "D\n",
		"unchecked hash": pycFrame("/usr/lib/python3.13/json/__pycache__/__init__.cpython-313.pyc", 1, "x") + "D\n",
		"short length":   "P 10 99999\n/usr/lib/x",
		"negative":       "P -1 3\nabc",
		"garbage":        "hello\n",
	} {
		if files, _, err := parsePyc([]byte(out), srcs); err == nil {
			t.Errorf("%s: accepted, %v", name, files)
		}
		// Cut in three anywhere: refused all the same.
		for i := 0; i <= len(out); i++ {
			for j := i; j <= len(out); j += 3 {
				if files, _, err := parsePycParts([][]byte{[]byte(out[:i]), []byte(out[i:j]), []byte(out[j:])}, srcs); err == nil {
					t.Fatalf("%s cut at %d and %d: accepted, %v", name, i, j, files)
				}
			}
		}
	}
	// The good output cut in three anywhere (parts empty too) reads as
	// the whole: the same files, the same bytes.
	for i := 0; i <= len(good); i++ {
		for j := i; j <= len(good); j++ {
			parts := [][]byte{[]byte(good[:i]), []byte(good[i:j]), {}, []byte(good[j:])}
			got, gotFailed, err := parsePycParts(parts, srcs)
			if err != nil || gotFailed != failed || len(got) != len(files) {
				t.Fatalf("cut at %d and %d: %d files, %d failed, %v", i, j, len(got), gotFailed, err)
			}
			for k := range got {
				if got[k].Path != files[k].Path || string(got[k].Data) != string(files[k].Data) {
					t.Fatalf("cut at %d and %d: file %d is %s %q, want %s %q", i, j, k, got[k].Path, got[k].Data, files[k].Path, files[k].Data)
				}
			}
			if string(bytes.Join(parts, nil)) != good {
				t.Fatalf("cut at %d and %d: parsing changed the parts", i, j)
			}
		}
	}
}

// TestCutSuffix: a run's output loses its end marker across parts, and
// one that does not end with it is told.
func TestCutSuffix(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
		ok   bool
	}{
		{[]string{"abD", "\n"}, "ab", true}, {[]string{"abD\n"}, "ab", true}, {[]string{"a", "D", "\n"}, "a", true},
		{[]string{"D\n"}, "", true}, {[]string{"a", "", "D\n", ""}, "a", true},
		{nil, "", false}, {[]string{"\n"}, "", false}, {[]string{"abX", "\n"}, "", false}, {[]string{"aD"}, "", false},
	} {
		var in [][]byte
		for _, s := range c.in {
			in = append(in, []byte(s))
		}
		got, ok := cutSuffix(in, "D\n")
		if ok != c.ok || ok && string(bytes.Join(got, nil)) != c.want || string(bytes.Join(in, nil)) != strings.Join(c.in, "") {
			t.Errorf("cutSuffix(%q) = %q, %v, want %q, %v (input left as it was)", c.in, got, ok, c.want, c.ok)
		}
	}
}

// TestPythonSources: the layer's own modules (and symlinks to modules)
// under a version's directory go to that version's interpreter, those
// under usr/lib/python3 to every interpreter; lower layers' and
// generated files are left alone.
func TestPythonSources(t *testing.T) {
	tr := newTree(nil)
	tr.startLayer()
	tr.add("usr/bin/python3.11", &node{typ: tar.TypeReg, owner: "py311"})
	tr.add("usr/lib/python3.11/lower.py", &node{typ: tar.TypeReg, owner: "py311"})
	tr.startLayer()
	tr.add("usr/bin/python3.13", &node{typ: tar.TypeReg, owner: "py313"})
	tr.add("usr/lib/python3.13/os.py", &node{typ: tar.TypeReg, owner: "py313"})
	tr.add("usr/lib/python3.13/site.py", &node{typ: tar.TypeSymlink, link: "/etc/site.py", owner: "py313"})
	tr.add("etc/site.py", &node{typ: tar.TypeReg, owner: "py313"})
	tr.add("usr/lib/python3.13/dangling.py", &node{typ: tar.TypeSymlink, link: "nowhere.py", owner: "py313"})
	tr.add("usr/lib/python3.13/gen.py", &node{typ: tar.TypeReg, owner: generatedOwner})
	tr.add("usr/lib/python3.13/data.txt", &node{typ: tar.TypeReg, owner: "py313"})
	tr.add("usr/lib/python3/dist-packages/m.py", &node{typ: tar.TypeReg, owner: "pkg"})
	tr.add("usr/lib/python3.12/orphan.py", &node{typ: tar.TypeReg, owner: "pkg"})
	tr.add("usr/share/x.py", &node{typ: tar.TypeReg, owner: "pkg"})
	got := tr.pythonSources()
	want := map[string]string{
		"usr/bin/python3.11": "usr/lib/python3/dist-packages/m.py",
		"usr/bin/python3.13": "usr/lib/python3.13/os.py usr/lib/python3.13/site.py usr/lib/python3/dist-packages/m.py",
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for in, w := range want {
		if g := strings.Join(got[in], " "); g != w {
			t.Errorf("%s: %s, want %s", in, g, w)
		}
	}
}

// TestBytecodeShare: a build takes from the donor's bytecode only the
// .pyc of a source with the same path and content, compiled by the same
// interpreter package; a source the donor could not compile is counted
// as such; the others are left to compile; and a taker waits until the
// donor closes the share, or its context ends.
func TestBytecodeShare(t *testing.T) {
	mk := func(interpOwner string, srcs map[string]string) *tree {
		tr := newTree(nil)
		tr.startLayer()
		tr.add("usr/bin/python3.13", &node{typ: tar.TypeReg, owner: interpOwner})
		for p, data := range srcs {
			tr.add(p, &node{typ: tar.TypeReg, owner: "stdlib", c: memContent([]byte(data))})
		}
		return tr
	}
	const in = "usr/bin/python3.13"
	donor := mk("python3.13-minimal 3.13.5-2", map[string]string{
		"usr/lib/python3.13/os.py": "os", "usr/lib/python3.13/bad.py": "(", "usr/lib/python3.13/_sysconfigdata_x86.py": "x86"})
	s := NewBytecodeShare()
	srcs := []string{"usr/lib/python3.13/_sysconfigdata_x86.py", "usr/lib/python3.13/bad.py", "usr/lib/python3.13/os.py"}
	s.put(donor.interpID(in), donor, srcs, []File{
		{Path: "/usr/lib/python3.13/__pycache__/os.cpython-313.pyc", Data: []byte("os-pyc")},
		{Path: "/usr/lib/python3.13/__pycache__/_sysconfigdata_x86.cpython-313.pyc", Data: []byte("x86-pyc")},
	})

	// Before Close, a taker waits: its context ends first.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, _, err := s.get(ctx, donor.interpID(in), donor, srcs); err == nil {
		t.Fatal("get before Close did not wait")
	}
	s.Close()
	s.Close() // twice is fine

	taker := mk("python3.13-minimal 3.13.5-2", map[string]string{
		"usr/lib/python3.13/os.py": "os", "usr/lib/python3.13/bad.py": "(", "usr/lib/python3.13/_sysconfigdata_arm.py": "arm",
		"usr/lib/python3.13/patched.py": "other"})
	tsrcs := []string{"usr/lib/python3.13/_sysconfigdata_arm.py", "usr/lib/python3.13/bad.py", "usr/lib/python3.13/os.py", "usr/lib/python3.13/patched.py"}
	files, failed, rest, err := s.get(context.Background(), taker.interpID(in), taker, tsrcs)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Path != "/usr/lib/python3.13/__pycache__/os.cpython-313.pyc" || string(files[0].Data) != "os-pyc" || failed != 1 ||
		strings.Join(rest, " ") != "usr/lib/python3.13/_sysconfigdata_arm.py usr/lib/python3.13/patched.py" {
		t.Errorf("taken %v, %d failed, rest %v", files, failed, rest)
	}
	// The same source with different content is not taken.
	changed := mk("python3.13-minimal 3.13.5-2", map[string]string{"usr/lib/python3.13/os.py": "os changed"})
	if files, _, rest, _ := s.get(context.Background(), changed.interpID(in), changed, []string{"usr/lib/python3.13/os.py"}); len(files) != 0 || len(rest) != 1 {
		t.Errorf("changed source: taken %v", files)
	}
	// Another interpreter version takes nothing.
	other := mk("python3.13-minimal 3.13.6-1", map[string]string{"usr/lib/python3.13/os.py": "os"})
	if files, _, rest, _ := s.get(context.Background(), other.interpID(in), other, []string{"usr/lib/python3.13/os.py"}); len(files) != 0 || len(rest) != 1 {
		t.Errorf("another interpreter: taken %v", files)
	}
	// Without a kept root, the share compiles nothing.
	if _, ok, err := s.compile(context.Background(), taker.interpID(in), in, taker, rest, nil, SandboxLimits{}); ok || err != nil {
		t.Errorf("compile without a root: %v, %v", ok, err)
	}
}
