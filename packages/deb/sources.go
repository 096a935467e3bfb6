package deb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"pault.ag/go/debian/control"
)

// aptSource is one "deb" entry of the host's apt configuration.
type aptSource struct {
	uri    string
	suites []string
	file   string
}

// HostMirrors reads the apt sources under root (root "/" is the running
// host): etc/apt/sources.list and etc/apt/sources.list.d/*.list in the
// one-line format and etc/apt/sources.list.d/*.sources in the deb822
// format (entries with "Enabled: no" are skipped). It returns the base URL
// of the entry serving the plain Debian archive (a suite without
// "-security") and of the one serving the security archive (a *-security
// suite); either is empty when no entry serves it. It fails when it can
// read the sources but finds neither, or when a file cannot be read.
func HostMirrors(root string) (archive, security string, err error) {
	dir := filepath.Join(root, "etc", "apt")
	var files []string
	if _, err := os.Stat(filepath.Join(dir, "sources.list")); err == nil {
		files = append(files, filepath.Join(dir, "sources.list"))
	}
	entries, err := os.ReadDir(filepath.Join(dir, "sources.list.d"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("apt sources: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".list") || strings.HasSuffix(e.Name(), ".sources")) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		files = append(files, filepath.Join(dir, "sources.list.d", n))
	}

	var all []aptSource
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", "", fmt.Errorf("apt sources: %w", err)
		}
		var srcs []aptSource
		if strings.HasSuffix(f, ".sources") {
			srcs, err = parseDeb822Sources(data)
		} else {
			srcs = parseOneLineSources(data)
		}
		if err != nil {
			return "", "", fmt.Errorf("apt sources %s: %w", f, err)
		}
		for i := range srcs {
			srcs[i].file = f
			srcs[i].uri = resolveMirrorURI(root, srcs[i].uri)
		}
		all = append(all, srcs...)
	}

	archive = pickSource(all, false)
	security = pickSource(all, true)
	if archive == "" && security == "" {
		return "", "", fmt.Errorf("no Debian archive found in the apt sources under %s (%d files read)", dir, len(files))
	}
	return archive, security, nil
}

func isSecuritySuite(s string) bool {
	return strings.HasSuffix(s, "-security") || strings.HasSuffix(s, "/updates")
}

// debianSuites are suite names that mark an entry as serving Debian
// itself rather than a third-party repository.
var debianSuites = map[string]bool{
	"stable": true, "oldstable": true, "oldoldstable": true, "testing": true,
	"unstable": true, "experimental": true, "sid": true,
	"buster": true, "bullseye": true, "bookworm": true, "trixie": true,
	"forky": true, "duke": true,
}

// pickSource chooses the entry that best looks like Debian's (security)
// archive: a URI ending in /debian (/debian-security) first, then a suite
// with a Debian release name, then the first candidate.
func pickSource(all []aptSource, security bool) string {
	best, bestRank := "", -1
	for _, s := range all {
		for _, suite := range s.suites {
			if isSecuritySuite(suite) != security {
				continue
			}
			base := strings.TrimSuffix(suite, "-security")
			base = strings.TrimSuffix(base, "/updates")
			if i := strings.IndexByte(base, '-'); i >= 0 {
				base = base[:i] // bookworm-updates, bookworm-backports
			}
			rank := 0
			if debianSuites[base] {
				rank = 1
			}
			want := "/debian"
			if security {
				want = "/debian-security"
			}
			if strings.HasSuffix(s.uri, want) {
				rank += 2
			}
			if rank > bestRank {
				best, bestRank = s.uri, rank
			}
		}
	}
	return best
}

// resolveMirrorURI normalises an entry's URI: no trailing slash, and
// apt's mirror+file: indirection replaced by the first mirror it lists.
func resolveMirrorURI(root, uri string) string {
	if rest, ok := strings.CutPrefix(uri, "mirror+file:"); ok {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(rest, "//"))))
		if err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				if f := strings.Fields(line); len(f) > 0 {
					uri = f[0]
					break
				}
			}
		}
	}
	return strings.TrimRight(uri, "/")
}

// parseOneLineSources reads the classic format:
//
//	deb [ option=value ... ] uri suite [component ...]
func parseOneLineSources(data []byte) []aptSource {
	var out []aptSource
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		typ, rest, ok := strings.Cut(line, " ")
		if !ok || typ != "deb" {
			continue
		}
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				continue
			}
			rest = rest[end+1:]
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		out = append(out, aptSource{uri: f[0], suites: []string{f[1]}})
	}
	return out
}

// parseDeb822Sources reads the deb822 format of *.sources files.
func parseDeb822Sources(data []byte) ([]aptSource, error) {
	r, err := control.NewParagraphReader(bytes.NewReader(data), nil)
	if err != nil {
		return nil, err
	}
	var out []aptSource
	for {
		p, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		get := func(k string) string {
			for key, v := range p.Values {
				if strings.EqualFold(key, k) {
					return v
				}
			}
			return ""
		}
		if e := strings.ToLower(strings.TrimSpace(get("Enabled"))); e == "no" || e == "false" {
			continue
		}
		if !slices.Contains(strings.Fields(get("Types")), "deb") {
			continue
		}
		suites := strings.Fields(get("Suites"))
		for _, uri := range strings.Fields(get("URIs")) {
			out = append(out, aptSource{uri: uri, suites: suites})
		}
	}
}
