package assemble

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/internal/sandbox"
)

func TestMain(m *testing.M) {
	// The sandbox's child is this test binary started again.
	sandbox.Main()
	os.Exit(m.Run())
}

// TestPycRuns: the runs cover every source once, in order, contiguous,
// at most n of them, each of a fair share of the bytes.
func TestPycRuns(t *testing.T) {
	var srcs []string
	sizes := map[string]int64{}
	for i := range 1000 {
		s := strings.Repeat("a", i%7) + string(rune('a'+i%26)) + "/" + strings.Repeat("m", 3) + string(rune('0'+i%10))
		s = filepath.Join("usr/lib/python3.11", s, "x.py")
		srcs = append(srcs, s)
		sizes[s] = int64(100 + (i*7919)%50000)
	}
	slices.Sort(srcs)
	for _, n := range []int{1, 2, 3, 4, 16, 100} {
		runs := pycRuns(srcs, n, func(s string) int64 { return sizes[s] })
		want := min(n, len(srcs)/minPycRun)
		if len(runs) != max(want, 1) {
			t.Errorf("n=%d: %d runs, want %d", n, len(runs), max(want, 1))
		}
		if got := slices.Concat(runs...); !slices.Equal(got, srcs) {
			t.Errorf("n=%d: runs do not join into the sources in order", n)
		}
		var total int64
		for _, s := range srcs {
			total += sizes[s] + 512
		}
		for i, r := range runs {
			var b int64
			for _, s := range r {
				b += sizes[s] + 512
			}
			if len(runs) > 1 && (b > 2*total/int64(len(runs)) || len(r) == 0) {
				t.Errorf("n=%d: run %d has %d of %d bytes", n, i, b, total)
			}
		}
	}
	if runs := pycRuns(srcs[:minPycRun*2-1], 4, func(string) int64 { return 1 }); len(runs) != 1 {
		t.Errorf("%d sources: %d runs, want 1", minPycRun*2-1, len(runs))
	}
}

// hostPythonRoot is a root filesystem holding this host's python3.11
// (Debian's, /usr/bin/python3.11), the libraries it links and its standard library, and a
// tree of the standard library's modules; it fails the test when the host
// has none.
func hostPythonRoot(t *testing.T) (string, *tree, []string) {
	t.Helper()
	exe := "/usr/bin/python3.11"
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("the host's python3.11 (apt-get install python3.11): %v", err)
	}
	dir, err := os.MkdirTemp("", "distroless-pyc-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The sandbox's user must reach it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "root")
	cp := func(src, dst string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cp(exe, filepath.Join(root, "usr/bin/python3.11"))
	out, err := exec.Command("ldd", exe).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", exe, err)
	}
	for _, lib := range regexp.MustCompile(`(/\S+\.so[.\d]*)`).FindAllString(string(out), -1) {
		real, err := filepath.EvalSymlinks(lib)
		if err != nil {
			t.Fatal(err)
		}
		cp(real, filepath.Join(root, lib))
	}
	tr := newTree(nil)
	tr.startLayer()
	tr.add("usr/bin/python3.11", &node{typ: tar.TypeReg, owner: "python3.11"})
	var srcs []string
	lib := "/usr/lib/python3.11"
	err = filepath.WalkDir(lib, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "site-packages" || d.Name() == "dist-packages" || d.Name() == "__pycache__" || d.Name() == "test") {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel := strings.TrimPrefix(p, "/")
		cp(p, filepath.Join(root, rel))
		if strings.HasSuffix(p, ".py") {
			b, _ := os.ReadFile(p)
			tr.add(rel, &node{typ: tar.TypeReg, owner: "python3.11", c: memContent(b)})
			srcs = append(srcs, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(srcs)
	return root, tr, srcs
}

// TestPycParallelSame: the standard library compiled by several
// interpreter processes at once is the same bytes as by one.
func TestPycParallelSame(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the host's standard library (about 10 CPU-s); not in -short")
	}
	root, tr, srcs := hostPythonRoot(t)
	defer func(n int) { pycProcs = n }(pycProcs)
	var outs [][]byte
	for _, n := range []int{1, 4} {
		pycProcs = n
		parts, err := tr.compilePyc(context.Background(), root, "usr/bin/python3.11", srcs, SandboxLimits{})
		if err != nil {
			t.Fatalf("%d processes: %v", n, err)
		}
		out := bytes.Join(parts, nil)
		files, failed, err := parsePycParts(parts, srcs)
		if err != nil || len(files) < 500 {
			t.Fatalf("%d processes: %d files, %d failed, %v", n, len(files), failed, err)
		}
		outs = append(outs, out)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		a, _, _ := parsePyc(outs[0], srcs)
		b, _, _ := parsePyc(outs[1], srcs)
		for i := range min(len(a), len(b)) {
			if a[i].Path != b[i].Path || !bytes.Equal(a[i].Data, b[i].Data) {
				t.Fatalf("first difference: %s (one process) against %s (four)", a[i].Path, b[i].Path)
			}
		}
		t.Fatalf("one process wrote %d bytes, four %d", len(outs[0]), len(outs[1]))
	}
}

// TestParts: the output kept in parts reads back as written, whatever
// the sizes of the writes, and its end is found across a buffer's edge.
func TestParts(t *testing.T) {
	for _, sizes := range [][]int{{}, {1}, {partSize}, {partSize - 1, 2}, {partSize + 1}, {3, partSize*2 + 5, 7}} {
		var p parts
		var want []byte
		for i, n := range sizes {
			b := bytes.Repeat([]byte{byte('a' + i)}, n)
			if k, err := p.Write(b); k != n || err != nil {
				t.Fatalf("Write(%d bytes) = %d, %v", n, k, err)
			}
			want = append(want, b...)
		}
		if got := bytes.Join(p.bufs, nil); !bytes.Equal(got, want) {
			t.Fatalf("sizes %v: read back %d bytes, want %d", sizes, len(got), len(want))
		}
		for i, b := range p.bufs {
			if len(b) > partSize || i < len(p.bufs)-1 && len(b) != partSize {
				t.Fatalf("sizes %v: buffer %d holds %d bytes", sizes, i, len(b))
			}
		}
		for _, suf := range []string{"", "a", "ab", "ba", "bc", "cg"} {
			body, got := cutSuffix(p.bufs, suf)
			if w := bytes.HasSuffix(want, []byte(suf)); got != w || got && !bytes.Equal(bytes.Join(body, nil), want[:len(want)-len(suf)]) {
				t.Errorf("sizes %v: cutSuffix(%q) = %v, want %v", sizes, suf, got, w)
			}
		}
	}
	// "ab" across the edge of two buffers.
	var p parts
	p.Write(bytes.Repeat([]byte("x"), partSize-1))
	p.Write([]byte("ab"))
	if _, ok := cutSuffix(p.bufs, "ab"); !ok {
		t.Fatal("a suffix across two buffers is not found")
	}
	if _, ok := cutSuffix(p.bufs, "xab"); !ok {
		t.Fatal("a suffix across two buffers is not found")
	}
	if _, ok := cutSuffix(p.bufs, "yab"); ok {
		t.Fatal("a suffix across two buffers is not found")
	}
}
