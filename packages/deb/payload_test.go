package deb

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/distroless-dev/distroless/packages/unpackcache"
)

type payloadTestEntry struct {
	name, link, data string
	typ              byte
	mode             int64
}

func payloadTestTar(t *testing.T, entries []payloadTestEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, Size: int64(len(e.data))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := io.WriteString(tw, e.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// payloadTestCompress compresses b for an ar member extension, using the
// host's tool where Go has no encoder (skipping when it is missing).
func payloadTestCompress(t *testing.T, ext string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch ext {
	case "":
		return b
	case ".gz":
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
	case ".zst":
		zw, _ := zstd.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
	case ".xz", ".bz2":
		tool := map[string]string{".xz": "xz", ".bz2": "bzip2"}[ext]
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed (scripts/test.sh installs it)", tool)
		}
		cmd := exec.Command(tool, "-c")
		cmd.Stdin = bytes.NewReader(b)
		cmd.Stdout = &buf
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown ext %q", ext)
	}
	return buf.Bytes()
}

type payloadTestMember struct {
	name string
	data []byte
}

func payloadTestAr(members []payloadTestMember) []byte {
	var buf bytes.Buffer
	buf.WriteString("!<arch>\n")
	for _, m := range members {
		fmt.Fprintf(&buf, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, 0, 0, 0, "100644", len(m.data))
		buf.Write(m.data)
		if len(m.data)%2 == 1 {
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

const payloadTestControl = "Package: hello\nVersion: 1.0-1\nArchitecture: amd64\nDescription: greets\n the world\n"

var payloadTestData = []payloadTestEntry{
	{name: "./", typ: tar.TypeDir, mode: 0o755},
	{name: "./usr/", typ: tar.TypeDir, mode: 0o755},
	{name: "./usr/bin/", typ: tar.TypeDir, mode: 0o755},
	{name: "./usr/bin/hello", typ: tar.TypeReg, mode: 0o755, data: "#!hello\n"},
	{name: "./usr/bin/hi", typ: tar.TypeSymlink, mode: 0o777, link: "hello"},
	{name: "./usr/bin/hey", typ: tar.TypeLink, link: "./usr/bin/hello"},
}

func payloadTestDeb(t *testing.T, dir, ctrlExt, dataExt string) string {
	t.Helper()
	ctrl := payloadTestTar(t, []payloadTestEntry{
		{name: "./", typ: tar.TypeDir, mode: 0o755},
		{name: "./control", typ: tar.TypeReg, mode: 0o644, data: payloadTestControl},
		{name: "./md5sums", typ: tar.TypeReg, mode: 0o644, data: "0123  usr/bin/hello\n"},
	})
	b := payloadTestAr([]payloadTestMember{
		{"debian-binary", []byte("2.0\n")},
		{"control.tar" + ctrlExt, payloadTestCompress(t, ctrlExt, ctrl)},
		{"data.tar" + dataExt, payloadTestCompress(t, dataExt, payloadTestTar(t, payloadTestData))},
	})
	p := filepath.Join(dir, "hello"+dataExt+".deb")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func payloadTestWalk(t *testing.T, p Payload, file string) string {
	t.Helper()
	var got []string
	err := p.Walk(file, func(h *tar.Header, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		got = append(got, fmt.Sprintf("%s %c %o %q %q", h.Name, h.Typeflag, h.Mode, h.Linkname, b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, "\n")
}

func TestDebPayloadWalk(t *testing.T) {
	want := strings.Join([]string{
		`./ 5 755 "" ""`,
		`./usr/ 5 755 "" ""`,
		`./usr/bin/ 5 755 "" ""`,
		`./usr/bin/hello 0 755 "" "#!hello\n"`,
		`./usr/bin/hi 2 777 "hello" ""`,
		`./usr/bin/hey 1 0 "./usr/bin/hello" ""`,
	}, "\n")
	for _, tc := range []struct{ ctrl, data string }{
		{".xz", ".xz"}, {".zst", ".zst"}, {".gz", ".gz"}, {"", ""}, {".gz", ".bz2"},
	} {
		t.Run("data.tar"+tc.data, func(t *testing.T) {
			dir := t.TempDir()
			file := payloadTestDeb(t, dir, tc.ctrl, tc.data)
			if got := payloadTestWalk(t, Payload{}, file); got != want {
				t.Errorf("walk:\n%s\nwant:\n%s", got, want)
			}
			c, err := Payload{}.ControlFile(file, "control")
			if err != nil || string(c) != payloadTestControl {
				t.Errorf("control = %q, %v", c, err)
			}
			if _, err := (Payload{}).ControlFile(file, "conffiles"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("missing member: err = %v, want ErrNotExist", err)
			}
			f, err := paragraph(c)
			if err != nil || f["Package"] != "hello" || f["Description"] != "greets\nthe world\n" {
				t.Errorf("fields = %q, %v", f, err)
			}
			// Through the cache: the first walk fills it, the second reads it.
			cache := filepath.Join(dir, "cache")
			p := Payload{CacheDir: cache}
			for i := range 2 {
				if got := payloadTestWalk(t, p, file); got != want {
					t.Errorf("cached walk %d:\n%s\nwant:\n%s", i, got, want)
				}
				ents, _ := os.ReadDir(cache)
				if len(ents) != 1 || !strings.HasSuffix(ents[0].Name(), ".tar.zst") {
					t.Errorf("cache holds %v, want one .tar.zst", ents)
				}
			}
			for i := range 2 {
				c, err := p.ControlFile(file, "md5sums")
				if err != nil || string(c) != "0123  usr/bin/hello\n" {
					t.Errorf("cached md5sums %d = %q, %v", i, c, err)
				}
				if _, err := p.ControlFile(file, "conffiles"); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("cached missing member %d: err = %v, want ErrNotExist", i, err)
				}
			}
			if ents, _ := os.ReadDir(cache); len(ents) != 2 || !strings.HasSuffix(ents[0].Name(), ".control.tar") {
				t.Errorf("cache holds %v, want a .control.tar and a .tar.zst", ents)
			}
		})
	}
}

func TestDebPayloadCacheDamaged(t *testing.T) {
	dir := t.TempDir()
	file := payloadTestDeb(t, dir, ".gz", ".gz")
	cache := filepath.Join(dir, "cache")
	p := Payload{CacheDir: cache}
	payloadTestWalk(t, p, file)
	ents, _ := os.ReadDir(cache)
	if len(ents) != 1 {
		t.Fatalf("cache holds %d entries", len(ents))
	}
	entry := filepath.Join(cache, ents[0].Name())
	os.WriteFile(entry, []byte("garbage"), 0o644)
	// Unreadable from the start: falls back to the .deb silently.
	if got := payloadTestWalk(t, p, file); !strings.Contains(got, "hello") {
		t.Errorf("walk after damage = %q", got)
	}
	// The fallback walk rewrote it.
	if b, _ := os.ReadFile(entry); string(b) == "garbage" {
		t.Error("damaged cache entry not replaced")
	}
	// An early stop from fn leaves no temporary files behind.
	os.Remove(entry)
	stop := errors.New("stop")
	if err := p.Walk(file, func(*tar.Header, io.Reader) error { return stop }); err != stop {
		t.Fatalf("err = %v, want fn's error", err)
	}
	if ents, _ := os.ReadDir(cache); len(ents) != 0 {
		t.Errorf("cache holds %v after an aborted walk", ents)
	}
}

func TestDebPayloadBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	data := payloadTestTar(t, payloadTestData)
	negative := []byte("!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.0\n")
	negative = append(negative, []byte("data.tar        0           0     0     100644  -60       `\n")...)
	for name, file := range map[string]string{
		"missing":     filepath.Join(dir, "nope.deb"),
		"not ar":      write("text.deb", []byte("hello world, not an archive")),
		"empty":       write("empty.deb", nil),
		"no data":     write("nodata.deb", payloadTestAr([]payloadTestMember{{"debian-binary", []byte("2.0\n")}})),
		"version 3":   write("v3.deb", payloadTestAr([]payloadTestMember{{"debian-binary", []byte("3.0\n")}, {"data.tar", data}})),
		"no version":  write("nover.deb", payloadTestAr([]payloadTestMember{{"data.tar", data}})),
		"lzma":        write("lzma.deb", payloadTestAr([]payloadTestMember{{"debian-binary", []byte("2.0\n")}, {"data.tar.lzma", data}})),
		"bad gzip":    write("badgz.deb", payloadTestAr([]payloadTestMember{{"debian-binary", []byte("2.0\n")}, {"data.tar.gz", data}})),
		"bad xz":      write("badxz.deb", payloadTestAr([]payloadTestMember{{"debian-binary", []byte("2.0\n")}, {"data.tar.xz", data}})),
		"truncated":   write("trunc.deb", payloadTestAr([]payloadTestMember{{"debian-binary", []byte("2.0\n")}, {"data.tar", data[:700]}})),
		"negative ar": write("neg.deb", negative),
	} {
		t.Run(name, func(t *testing.T) {
			err := Payload{}.Walk(file, func(*tar.Header, io.Reader) error { return nil })
			if err == nil {
				t.Error("Walk: no error")
			}
			if _, err := (Payload{}).ControlFile(file, "control"); err == nil {
				t.Error("ControlFile: no error")
			}
		})
	}
}

// TestParagraph: the one deb822 reader gives each field's value, with
// continuation lines joined by newlines (" ." is an empty line, as
// deb822 says), and Field finds a field of a
// record whatever the case of its name.
func TestParagraph(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
	}{
		{in: "A: 1\nB:  two \n", want: map[string]string{"A": "1", "B": "two"}},
		{in: "\n\nA: 1\n c\n .\n\nB: 2\n", want: map[string]string{"A": "1\nc\n\n"}},
		{in: "Package: x\nMulti-Arch: same\n", want: map[string]string{"Package": "x", "Multi-Arch": "same"}},
	} {
		got, err := paragraph([]byte(tc.in))
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	rec := []byte("Package: x\nmulti-arch: Same\nSource: glibc (2.36-9)\n")
	if got := recordField(rec, "MULTI-ARCH"); got != "Same" {
		t.Errorf("recordField(Multi-Arch) = %q, want Same", got)
	}
	if got := recordField(rec, "SOURCE"); got != "glibc (2.36-9)" {
		t.Errorf("recordField(Source) = %q", got)
	}
	if got := recordField(rec, "Depends"); got != "" {
		t.Errorf("recordField(Depends) = %q, want nothing", got)
	}
}

// An entry replaced by another package's (sealed, with other files) is
// never used: the walk reads the .deb, says so through Warn, and rewrites
// the entry. The same for the cached control archive.
func TestDebPayloadCacheReplaced(t *testing.T) {
	dir := t.TempDir()
	file := payloadTestDeb(t, dir, ".gz", ".gz")
	cache := filepath.Join(dir, "cache")
	var warnings []string
	p := Payload{CacheDir: cache, Warn: func(s string) { warnings = append(warnings, s) }}
	want := payloadTestWalk(t, p, file)
	if _, err := p.ControlFile(file, "control"); err != nil {
		t.Fatal(err)
	}
	key := strings.Repeat("e", 64)
	donor := filepath.Join(dir, key+".tar.zst")
	w, err := unpackcache.Create(donor, key)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "./evil", Typeflag: tar.TypeReg, Mode: 0o755, Size: 4})
	tw.Write([]byte("evil"))
	tw.Close()
	w.Write(b.Bytes())
	w.Commit()
	evil, _ := os.ReadFile(donor)
	ents, _ := os.ReadDir(cache)
	for _, e := range ents {
		path := filepath.Join(cache, e.Name())
		if strings.HasSuffix(e.Name(), ".tar.zst") {
			os.WriteFile(path, evil, 0o644)
		} else {
			unpackcache.WriteFile(path, key, []byte("Package: evil\n"))
		}
	}
	if got := payloadTestWalk(t, p, file); got != want {
		t.Errorf("walk of a replaced entry:\n%s\nwant:\n%s", got, want)
	}
	if c, err := p.ControlFile(file, "control"); err != nil || string(c) != payloadTestControl {
		t.Errorf("control of a replaced entry = %q, %v", c, err)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "was made from package "+key) || !strings.Contains(warnings[1], "was made from package "+key) {
		t.Errorf("warnings %q", warnings)
	}
	// Both rewritten: a third read is quiet.
	warnings = nil
	payloadTestWalk(t, p, file)
	p.ControlFile(file, "control")
	if len(warnings) != 0 {
		t.Errorf("warnings after the rebuild: %q", warnings)
	}
}
