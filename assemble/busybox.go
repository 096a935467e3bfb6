package assemble

// The "busybox-links" generator of the -debug variants: /busybox holds a
// link to the image's busybox binary and one symlink per applet (sh, ls,
// cat, …), as `busybox --install -s /busybox` would make, without running
// busybox: the applet names are read from the binary, so the links are
// the same whatever the host's architecture.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

func init() { registerGenerator("busybox-links", generateBusyboxLinks) }

// busyboxDir is where the debug variants put busybox and its applets.
const busyboxDir = "/busybox"

// busyboxBinaries are where Debian's busybox and busybox-static put the
// binary (/bin is /usr/bin in a merged-/usr image).
var busyboxBinaries = []string{"/usr/bin/busybox", "/bin/busybox"}

// busyboxApplets returns the applet names of a busybox binary, sorted as
// busybox sorts them (what `busybox --list` prints).
//
// Busybox keeps its applet names in one table, applet_names: the names
// NUL-separated, sorted by strcmp, ending in an empty name (two NULs).
// That table is found as the longest such run of names in the file. Its
// first name may directly follow other data, without a NUL between: it
// is then the longest tail of that token that is an applet name sorting
// before the second name ("[" in Debian's builds, which have the test
// applets).
func busyboxApplets(bin []byte) ([]string, error) {
	var best []string
	ties := 0
	consider := func(head []byte, names []string) {
		for k := range head {
			if s := string(head[k:]); isAppletName(s) && s < names[0] {
				names = append([]string{s}, names...)
				break
			}
		}
		switch {
		case len(names) > len(best):
			best, ties = names, 0
		case len(names) == len(best):
			ties++
		}
	}
	var (
		run  []string
		head []byte // the token before run[0]
	)
	for _, t := range bytes.Split(bin, []byte{0}) {
		switch {
		case len(t) == 0:
			if len(run) > 0 {
				consider(head, run)
			}
			run, head = nil, nil
		case isAppletName(string(t)) && (len(run) == 0 || string(t) > run[len(run)-1]):
			run = append(run, string(t))
		default:
			run, head = nil, t
		}
	}
	if len(best) < 2 {
		return nil, errors.New("no applet name table found in the busybox binary")
	}
	if ties > 0 {
		return nil, fmt.Errorf("two applet name tables of %d names in the busybox binary", len(best))
	}
	return best, nil
}

// isAppletName reports whether s can be a busybox applet name: lower-case
// letters, digits and "._-[]", starting with a letter or "[".
func isAppletName(s string) bool {
	if s == "" || len(s) > 64 || !(s[0] >= 'a' && s[0] <= 'z' || s[0] == '[') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("._-[]", c) >= 0) {
			return false
		}
	}
	return true
}

func generateBusyboxLinks(f imageFS) ([]File, error) {
	var bin string
	var data []byte
	for _, p := range busyboxBinaries {
		rp, err := f.Realpath(p)
		if err != nil {
			continue
		}
		if b, err := f.ReadFile(rp); err == nil {
			bin, data = rp, b
			break
		}
	}
	if bin == "" {
		return nil, fmt.Errorf("no busybox binary in the image (looked for %s)", strings.Join(busyboxBinaries, ", "))
	}
	applets, err := busyboxApplets(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bin, err)
	}
	rel := strings.Repeat("../", strings.Count(strings.Trim(busyboxDir, "/"), "/")+1) + strings.TrimPrefix(path.Clean(bin), "/")
	files := []File{
		{Path: busyboxDir, Mode: fs.ModeDir | 0o755},
		{Path: busyboxDir + "/busybox", Mode: fs.ModeSymlink | 0o777, Link: rel},
	}
	for _, a := range applets {
		if a == "busybox" {
			continue // the link to the binary
		}
		files = append(files, File{Path: busyboxDir + "/" + a, Mode: fs.ModeSymlink | 0o777, Link: "busybox"})
	}
	return files, nil
}
