package npm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/distroless-dev/distroless/appdeps"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// materialize writes a set's files under root (paths relative to its
// app directory), as the image would hold them.
func materialize(t *testing.T, s *appdeps.Set, appDir, root string) {
	t.Helper()
	for _, f := range s.Files {
		rel, ok := strings.CutPrefix(f.Path, appDir+"/")
		if !ok {
			continue
		}
		p := filepath.Join(root, filepath.FromSlash(rel))
		switch {
		case f.Mode.IsDir():
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case f.Mode&fs.ModeSymlink != 0:
			if err := os.Symlink(f.Link, p); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, f.Data, f.Mode.Perm()); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, f.Mode.Perm()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// treeListing lists a directory tree: each entry with its type, mode
// and content digest or link target.
func treeListing(t *testing.T, root string, skip func(rel string) bool) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case st.IsDir():
			out = append(out, fmt.Sprintf("%s/ %04o", rel, st.Mode().Perm()))
		case st.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out = append(out, fmt.Sprintf("%s -> %s", rel, l))
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			out = append(out, fmt.Sprintf("%s %04o %s", rel, st.Mode().Perm(), hex.EncodeToString(sum[:8])))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestRealExpressMatchesNpmCI installs testdata/express (express 4, a
// dev dependency, and sharp with its prebuilt linux-x64 addon and
// libvips among optional packages for every platform) from the real npm
// registry, and compares the tree, file by file (content, mode, links),
// with what the host's npm ci --ignore-scripts --omit=dev makes of the
// same lockfile.
func TestRealExpressMatchesNpmCI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (the npm registry): skipped with -short")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Fatalf("this test compares with npm on linux/amd64 (glibc), not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	npmBin, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm is needed (scripts/test.sh installs it): ", err)
	}
	old := syscall.Umask(0o022) // npm's modes are the umask's
	defer syscall.Umask(old)

	lock, err := os.ReadFile("testdata/express/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	c := &fetch.Cache{Dir: t.TempDir()}
	s, err := Install(context.Background(), Options{Lock: lock, Platform: linuxX64, Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	ours := t.TempDir()
	materialize(t, s, "/app", ours)

	theirs := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json"} {
		data, err := os.ReadFile(filepath.Join("testdata/express", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(theirs, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(npmBin, "ci", "--ignore-scripts", "--omit=dev", "--no-audit", "--no-fund",
		"--cache", filepath.Join(t.TempDir(), "npm-cache"), "--registry", "https://registry.npmjs.org/")
	cmd.Dir = theirs
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	got := treeListing(t, filepath.Join(ours, "node_modules"), func(string) bool { return false })
	want := treeListing(t, filepath.Join(theirs, "node_modules"), func(rel string) bool { return rel == ".package-lock.json" })
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		gm := map[string]bool{}
		for _, g := range got {
			gm[g] = true
		}
		wm := map[string]bool{}
		for _, w := range want {
			wm[w] = true
		}
		n := 0
		for _, w := range want {
			if !gm[w] && n < 20 {
				t.Errorf("npm ci has, we lack: %s", w)
				n++
			}
		}
		for _, g := range got {
			if !wm[g] && n < 40 {
				t.Errorf("we have, npm ci lacks: %s", g)
				n++
			}
		}
	}
	if len(got) < 500 {
		t.Errorf("only %d entries", len(got))
	}

	comps := map[string]appdeps.Component{}
	for _, c := range s.Components {
		comps[c.Name] = c
	}
	for name, w := range map[string]string{
		"express":                      "pkg:npm/express@4.21.2 MIT",
		"@img/sharp-linux-x64":         "pkg:npm/%40img/sharp-linux-x64@0.33.5 Apache-2.0",
		"@img/sharp-libvips-linux-x64": "pkg:npm/%40img/sharp-libvips-linux-x64@1.0.4 LGPL-3.0-or-later",
		"sharp":                        "pkg:npm/sharp@0.33.5 Apache-2.0",
	} {
		c, ok := comps[name]
		if !ok {
			t.Errorf("component %s missing", name)
			continue
		}
		if got := c.PURL + " " + c.License; got != w {
			t.Errorf("%s: %q, want %q", name, got, w)
		}
		if !strings.HasPrefix(c.Hash, "sha512-") || !strings.HasPrefix(c.Source, "https://registry.npmjs.org/") {
			t.Errorf("%s: hash %q source %q", name, c.Hash, c.Source)
		}
	}
	for _, absent := range []string{"nanoid", "@img/sharp-darwin-arm64", "@img/sharp-linuxmusl-x64", "@img/sharp-wasm32", "@emnapi/runtime", "tslib"} {
		if _, ok := comps[absent]; ok {
			t.Errorf("%s installed", absent)
		}
	}
	if len(s.Components) != 83 { // npm ci: "added 83 packages"
		t.Errorf("%d components, want 83", len(s.Components))
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "sharp@0.33.5 (install: node install/check)") {
		t.Errorf("warnings: %q", s.Warnings)
	}
	addon, err := os.ReadFile(filepath.Join(ours, "node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64.node"))
	if err != nil || !bytes.HasPrefix(addon, []byte("\x7fELF")) {
		t.Errorf("the addon is not an ELF file: %v", err)
	}

	// A lockfile written with omit-lockfile-registry-resolved (no
	// resolved URLs): from a fresh cache, the same packages, each from
	// the URL the lockfile would have named.
	var pl map[string]any
	if err := json.Unmarshal(lock, &pl); err != nil {
		t.Fatal(err)
	}
	for _, e := range pl["packages"].(map[string]any) {
		delete(e.(map[string]any), "resolved")
	}
	stripped, _ := json.Marshal(pl)
	s3, err := Install(context.Background(), Options{Lock: stripped, Platform: linuxX64, Cache: &fetch.Cache{Dir: t.TempDir()}})
	if err != nil {
		t.Fatalf("without resolved URLs: %v", err)
	}
	if fmt.Sprint(s3.Components) != fmt.Sprint(s.Components) || len(s3.Files) != len(s.Files) {
		t.Errorf("without resolved URLs, another set")
	}

	// Offline, from the cache alone, the same set.
	s2, err := Install(context.Background(), Options{Lock: lock, Platform: linuxX64, Cache: &fetch.Cache{Dir: c.Dir, Offline: true}})
	if err != nil {
		t.Fatalf("offline: %v", err)
	}
	if len(s2.Files) != len(s.Files) {
		t.Errorf("offline: %d files, online %d", len(s2.Files), len(s.Files))
	}
}
