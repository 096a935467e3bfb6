package npm

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"

	"github.com/distroless-dev/distroless/internal/units"
)

// member is one regular file of a package, relative to its folder.
type member struct {
	rel  string
	mode fs.FileMode
	data []byte
}

// unpacked is a package tarball read into memory, checked.
type unpacked struct {
	files []member // sorted by rel
	pkg   packageJSON
}

// packageJSON is what is read of a package's package.json.
type packageJSON struct {
	Name     string            `json:"name"`
	Version  string            `json:"version"`
	License  json.RawMessage   `json:"license"`
	Licenses json.RawMessage   `json:"licenses"`
	Scripts  map[string]any    `json:"scripts"`
	Gypfile  *bool             `json:"gypfile"`
	Bin      json.RawMessage   `json:"bin"`
	Deps     map[string]string `json:"dependencies"`
}

// maxMembers bounds the members of one tarball.
const maxMembers = 200000

// budget bounds the bytes all tarballs of one install unpack.
type budget struct {
	total int64
	left  atomic.Int64
}

func newBudget(total int64) *budget {
	b := &budget{total: total}
	b.left.Store(total)
	return b
}

func (b *budget) take(n int64) bool { return b.left.Add(-n) >= 0 }

// countingReader fails once more than max bytes are read through it.
type countingReader struct {
	r    io.Reader
	n    int64
	max  int64
	what string
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, fmt.Errorf("%s unpacks to more than %s (the size limit)", c.what, units.Size(c.max))
	}
	return n, err
}

// readTarball unpacks a package tarball (gzip-compressed tar) the way
// pacote extracts it for npm: the first path component stripped, regular
// files only (directories made as files need them; links, devices and
// FIFOs not extracted), a .gitignore renamed .npmignore unless one came
// before, modes 0644 or, with any execute bit, 0755. Hostile members are
// errors, not skipped: an absolute path, a ".." component, a link that
// points out of the package, a member larger than maxFile (refused by its
// declared size, before it is read), more than the budget in all, and a
// file where another member needs a directory.
func readTarball(data []byte, what string, maxFile int64, b *budget) (*unpacked, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: not a gzip tarball: %w", what, err)
	}
	defer zr.Close()
	// The tar stream is bounded by the file budget plus the headers and
	// padding of at most maxMembers members (a gzip bomb stops there).
	cr := &countingReader{r: zr, max: b.total + maxMembers*1024, what: what}
	tr := tar.NewReader(cr)
	files := map[string]member{}
	sawIgnore := map[string]bool{}
	for count := 0; ; count++ {
		if count > maxMembers {
			return nil, fmt.Errorf("%s: more than %d members", what, maxMembers)
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		rel, err := memberPath(h.Name)
		if err != nil {
			return nil, fmt.Errorf("%s: member %q: %w", what, h.Name, err)
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA, tar.TypeCont, tar.TypeGNUSparse:
		case tar.TypeSymlink:
			if err := linkInside(rel, h.Linkname, false); err != nil {
				return nil, fmt.Errorf("%s: symlink %q: %w", what, h.Name, err)
			}
			continue // npm does not extract links
		case tar.TypeLink:
			if err := linkInside(rel, h.Linkname, true); err != nil {
				return nil, fmt.Errorf("%s: hard link %q: %w", what, h.Name, err)
			}
			continue
		default:
			continue // directories are made for the files; devices and FIFOs are not extracted
		}
		if rel == "" {
			return nil, fmt.Errorf("%s: member %q is a file in place of the package folder", what, h.Name)
		}
		if h.Size < 0 || h.Size > maxFile {
			return nil, fmt.Errorf("%s: member %q declares %s, more than the limit of %s for one file", what, h.Name, units.Size(h.Size), units.Size(maxFile))
		}
		if !b.take(h.Size) {
			return nil, fmt.Errorf("%s: member %q (%s) goes over the limit for all application files", what, h.Name, units.Size(h.Size))
		}
		body, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return nil, fmt.Errorf("%s: member %q: %w", what, h.Name, err)
		}
		if int64(len(body)) != h.Size {
			return nil, fmt.Errorf("%s: member %q: truncated", what, h.Name)
		}
		base := path.Base(rel)
		switch base {
		case ".npmignore":
			sawIgnore[rel] = true
		case ".gitignore":
			ni := strings.TrimSuffix(rel, ".gitignore") + ".npmignore"
			if sawIgnore[ni] {
				continue
			}
			rel = ni
		}
		files[rel] = member{rel: rel, mode: 0o644 | fs.FileMode(h.Mode)&0o111, data: body}
	}
	u := &unpacked{}
	for rel, m := range files {
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			if _, ok := files[d]; ok {
				return nil, fmt.Errorf("%s: member %q needs %q to be a directory, but it is a file", what, rel, d)
			}
		}
		u.files = append(u.files, m)
	}
	sort.Slice(u.files, func(i, j int) bool { return u.files[i].rel < u.files[j].rel })
	pj, ok := files["package.json"]
	if !ok {
		return nil, fmt.Errorf("%s: the tarball has no package.json", what)
	}
	if err := json.Unmarshal(pj.data, &u.pkg); err != nil {
		return nil, fmt.Errorf("%s: package.json: %w", what, err)
	}
	if _, ok := files["binding.gyp"]; ok && u.pkg.Gypfile == nil {
		t := true
		u.pkg.Gypfile = &t
	}
	return u, nil
}

// memberPath is a member's path in the package's folder: the first
// component (package/) stripped, "." components dropped. An absolute
// path or a ".." component is an error.
func memberPath(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", errors.New("absolute path")
	}
	if strings.ContainsRune(name, 0) {
		return "", errors.New("NUL in path")
	}
	var parts []string
	for _, p := range strings.Split(name, "/") {
		switch p {
		case "", ".":
			continue
		case "..":
			return "", errors.New("path leads out of the package (a .. component)")
		}
		parts = append(parts, p)
	}
	if len(parts) <= 1 {
		return "", nil
	}
	return strings.Join(parts[1:], "/"), nil
}

// linkInside checks that a link member stays in the package: a symlink's
// target relative to its directory, a hard link's as a member path.
func linkInside(rel, target string, hard bool) error {
	if strings.HasPrefix(target, "/") {
		return fmt.Errorf("points to the absolute path %q", target)
	}
	var p string
	if hard {
		r, err := memberPath(target)
		if err != nil {
			return fmt.Errorf("target %q: %w", target, err)
		}
		p = r
	} else {
		p = path.Join(path.Dir(rel), target)
	}
	if p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("points out of the package (%q)", target)
	}
	return nil
}

// installScripts lists the scripts npm would run at install: preinstall,
// install and postinstall from package.json, and node-gyp rebuild for a
// package with a binding.gyp and neither of the first two (npm's
// implicit install script).
func (p *packageJSON) installScripts() []string {
	var out []string
	for _, s := range []string{"preinstall", "install", "postinstall"} {
		if v, ok := p.Scripts[s].(string); ok && v != "" {
			out = append(out, s+": "+v)
		}
	}
	_, pre := p.Scripts["preinstall"]
	_, ins := p.Scripts["install"]
	if p.Gypfile != nil && *p.Gypfile && !pre && !ins {
		out = append(out, "install: node-gyp rebuild (implied by binding.gyp)")
	}
	return out
}

// license is the package's license: the SPDX expression of package.json's
// license (or its old forms, {"type": …} and a licenses array, joined
// with OR), else the text it gives.
func (p *packageJSON) license() string {
	if s := licenseOf(p.License); s != "" {
		return s
	}
	var list []json.RawMessage
	if json.Unmarshal(p.Licenses, &list) == nil {
		var ls []string
		for _, l := range list {
			if s := licenseOf(l); s != "" {
				ls = append(ls, s)
			}
		}
		if len(ls) == 1 {
			return ls[0]
		}
		if len(ls) > 1 {
			return "(" + strings.Join(ls, " OR ") + ")"
		}
	}
	return ""
}

func licenseOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var o struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &o) == nil {
		return strings.TrimSpace(o.Type)
	}
	return ""
}
