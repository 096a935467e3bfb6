package distroless

// End-to-end tests of gen's size limits and bounded memory: hostile
// packages whose small .deb expands to gigabytes of zeros, served by a
// signed packages/deb/debtest archive.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/distroless-dev/distroless/internal/clitest"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
	"github.com/distroless-dev/distroless/packages/unpackcache"
	"github.com/distroless-dev/distroless/pipeline"
)

// zeroPayload is a zstd-compressed data.tar whose files hold only zeros:
// files[i] bytes each, named /usr/share/bomb/zeros-i.
func zeroPayload(t *testing.T, files ...int64) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, err := zstd.NewWriter(&out, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	for _, d := range []string{"./", "./usr/", "./usr/share/", "./usr/share/bomb/"} {
		tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(1700000000, 0), Format: tar.FormatGNU})
	}
	zeros := make([]byte, 1<<20)
	for i, size := range files {
		h := &tar.Header{Name: fmt.Sprintf("./usr/share/bomb/zeros-%d", i), Typeflag: tar.TypeReg, Mode: 0o644, Size: size,
			ModTime: time.Unix(1700000000, 0), Format: tar.FormatGNU}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		for left := size; left > 0; {
			n := min(left, int64(len(zeros)))
			if _, err := tw.Write(zeros[:n]); err != nil {
				t.Fatal(err)
			}
			left -= n
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// genRusage runs the binary and returns its stderr, exit code and peak
// resident set size in bytes.
func genRusage(t *testing.T, args ...string) (string, int, int64) {
	t.Helper()
	r := clitest.Run(t, testBin, clitest.Cmd{Wrap: []string{testMaxRSS}}, args...)
	rss := peakRSS(r.Stderr)
	if rss < 0 {
		t.Fatalf("no peak RSS from the launcher:\n%s", clitest.Tail(r.Stderr, 5))
	}
	return r.Stderr, r.Code, rss
}

// TestGenSizeLimits: a package over a limit is refused, exit 1, with an
// error naming the package, the file and the flag that raises the limit,
// before it is read further; the existing output is untouched, nothing of
// the package is in the unpack cache and no temporary file is left. The
// files of a 4 GiB payload pass through gen's memory on their way to the
// limit without growing it: its peak RSS stays under 200 MiB.
func TestGenSizeLimits(t *testing.T) {
	integration(t)
	g := newDebtestGen(t, debtestPkg("bomb", "1.0-1", "hello\n"))
	a, distroFile, profile, layout, out := g.a, g.distro, g.profile, g.layout, g.out
	before := snapshotDir(t, layout)
	control := "Package: bomb\nVersion: 2.0-1\nArchitecture: amd64\nDescription: test"

	const gib = 1 << 30
	for _, tc := range []struct {
		name  string
		files []int64
		args  []string
		want  []string
	}{
		// One file of 4 GiB: refused at its header, by default.
		{"one 4 GiB file", []int64{4 * gib}, nil,
			[]string{"/usr/share/bomb/zeros-0 has 4294967296 bytes", "more than a file may have (1073741824 bytes)", "--max-file-size raises the limit"}},
		{"--max-file-size", []int64{1 << 20, 3 << 20}, []string{"--max-file-size", "2MiB"},
			[]string{"/usr/share/bomb/zeros-1 has 3145728 bytes", "more than a file may have (2097152 bytes)", "--max-file-size raises the limit"}},
		// Files that each pass the per-file limit but come to more than
		// the image may have.
		{"--max-image-size", []int64{3 << 20, 3 << 20, 3 << 20, 3 << 20}, []string{"--max-image-size", "10MB"},
			[]string{"/usr/share/bomb/zeros-3 (3145728 bytes) brings the files of the packages to 12582912 bytes, more than the image may have (10000000 bytes)", "--max-image-size raises the limit"}},
		// 4 GiB in eight files: each within the default per-file limit;
		// 2 GiB of them are read (and spooled) before the default image
		// limit refuses the package.
		{"4 GiB in files of 512 MiB", []int64{gib / 2, gib / 2, gib / 2, gib / 2, gib / 2, gib / 2, gib / 2, gib / 2}, nil,
			[]string{"/usr/share/bomb/zeros-4 (536870912 bytes) brings the files of the packages to 2684354560 bytes, more than the image may have (2147483648 bytes)", "--max-image-size raises the limit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := debtest.Package{Name: "bomb", Version: "2.0-1", Deb: debtest.DebData(control, "data.tar.zst", zeroPayload(t, tc.files...))}
			if len(bad.Deb) > 1<<20 {
				t.Fatalf("the hostile .deb has %d bytes, want less than 1 MiB", len(bad.Deb))
			}
			a.SetSuite(debtest.Suite{Name: "stable", Packages: []debtest.Package{bad}})
			cache := filepath.Join(t.TempDir(), "cache")
			args := append([]string{"gen", "-f", profile, "--distro", distroFile, "--cache-dir", cache, "-o", out}, tc.args...)
			stderr, code, rss := genRusage(t, args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, stderr)
			}
			for _, w := range append([]string{"package bomb 2.0-1 ("}, tc.want...) {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if rss > 200<<20 {
				t.Errorf("peak RSS %d MiB, want at most 200 MiB", rss>>20)
			}
			t.Logf("peak RSS %d MiB", rss>>20)
			after := snapshotDir(t, layout)
			if len(after) != len(before) {
				t.Errorf("the output has %d files, had %d", len(after), len(before))
			}
			for p, b := range before {
				if after[p] != b {
					t.Errorf("the output's %s changed", p)
				}
			}
			// A payload larger than the unpack cache prepares ahead is not
			// cached (a small one is: the cache holds payloads, the limits
			// are the build's); nothing temporary is left.
			var total int64
			for _, f := range tc.files {
				total += f
			}
			sum := debtest.Digest(bad.Deb)
			if _, err := os.Stat(filepath.Join(cache, "unpacked", sum+".tar.zst")); err == nil && total > unpackcache.PrepareMax {
				t.Error("the refused package is in the unpack cache")
			}
			filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
				if err == nil && (strings.HasPrefix(d.Name(), ".tmp-") || strings.HasPrefix(d.Name(), ".spool-")) {
					t.Errorf("a temporary file is left in the cache: %s", p)
				}
				return nil
			})
		})
	}
}

// TestGenSizeFlagsUsage: a malformed size is a usage error, before
// anything is fetched.
func TestGenSizeFlagsUsage(t *testing.T) {
	for _, tc := range []struct{ flag, value, want string }{
		{"--max-image-size", "5XB", `--max-image-size: size "5XB": unknown unit "XB"`},
		{"--max-file-size", "-1", `--max-file-size: size "-1"`},
		{"--max-file-size", "0", `--max-file-size: size "0": must be more than 0`},
	} {
		_, stderr, code := cli(t, "gen", "python3.11", "--offline", "--cache-dir", t.TempDir(), tc.flag, tc.value)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s %s: exit %d, stderr %q; want 2 and %q", tc.flag, tc.value, code, stderr, tc.want)
		}
	}
}

// TestGenHugePayload: with the limits raised, a package whose 4 GiB file
// of zeros comes from a .deb of less than 1 MiB is built, its content
// streamed through gen (to the spool file, the tar, the compressor and
// the output) without gen's memory growing with it: peak RSS at most
// 200 MiB. The image holds the whole file.
func TestGenHugePayload(t *testing.T) {
	integration(t)
	const size = 4 << 30
	control := "Package: bomb\nVersion: 3.0-1\nArchitecture: amd64\nDescription: test"
	pkg := debtest.Package{Name: "bomb", Version: "3.0-1", Deb: debtest.DebData(control, "data.tar.zst", zeroPayload(t, size))}
	if len(pkg.Deb) > 1<<20 {
		t.Fatalf("the .deb has %d bytes, want less than 1 MiB", len(pkg.Deb))
	}
	a := debtest.NewArchive(t, debtest.Suite{Name: "stable", Packages: []debtest.Package{pkg}})
	distroFile := debtestDistro(t, a)
	profile := debtestProfile(t, "bomb", "bomb")
	cache := filepath.Join(t.TempDir(), "cache")
	layout := filepath.Join(t.TempDir(), "img")
	r := clitest.Must(t, testBin, clitest.Cmd{Wrap: []string{testMaxRSS}}, "gen", "-f", profile, "--distro", distroFile, "--cache-dir", cache, "-o", "oci:"+layout+":v1",
		"--max-file-size", "5GiB", "--max-image-size", "5GiB", "--json")
	rss := peakRSS(r.Stderr)
	if rss < 0 {
		t.Fatalf("no peak RSS from the launcher:\n%s", clitest.Tail(r.Stderr, 5))
	}
	t.Logf("peak RSS %d MiB", rss>>20)
	if rss > 200<<20 {
		t.Errorf("peak RSS %d MiB, want at most 200 MiB", rss>>20)
	}
	var res pipeline.GenResult
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Size < size || res.ImageSize > 64<<20 {
		t.Errorf("rootfs %d bytes, compressed %d: want at least %d and the zeros compressed", res.Size, res.ImageSize, size)
	}
	// The layer's tar names the file with its whole size.
	var top string
	for _, l := range res.Layers {
		if l.Packages == 1 {
			top = l.Digest
		}
	}
	f, err := os.Open(filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(top, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	found := false
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Name == "usr/share/bomb/zeros-0" {
			found = h.Size == size
			break
		}
	}
	if !found {
		t.Errorf("layer %s lacks /usr/share/bomb/zeros-0 of %d bytes", top, size)
	}
}
