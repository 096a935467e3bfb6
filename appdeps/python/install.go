package python

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/package-url/packageurl-go"

	"github.com/distroless-dev/distroless/appdeps"
	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
)

// Options are the inputs of an install.
type Options struct {
	// Requirements is a requirements file pinned with hashes; without it
	// every wheel of Wheels is installed.
	Requirements string
	// Wheels is a directory of wheels; Index a PEP 503/691 simple index
	// URL (https://…/simple/). With Requirements, one of them is the
	// source.
	Wheels string
	Index  string
	// Cache keeps the downloads, under their SHA-256.
	Cache *fetch.Cache
	// MaxFileSize bounds one member of a wheel, MaxTotal a wheel file and
	// all members together (0: DefaultMaxFileSize, DefaultMaxTotal).
	MaxFileSize, MaxTotal int64
	// Timeout bounds each request to the index (0: one minute).
	Timeout time.Duration
	// Client is the index's HTTP client (nil: http.DefaultClient).
	Client *http.Client
}

// Defaults of the size limits.
const (
	DefaultMaxFileSize = 1 << 30
	DefaultMaxTotal    = 2 << 30
	maxMembers         = 200000
	maxMetadata        = 16 << 20
)

// Installed is one wheel installed.
type Installed struct {
	Requirement *Requirement // nil for a wheel of a directory without requirements
	File        string       // the wheel's file name
	SHA256      string
	Source      string // its URL, or its file name in the directory
}

// Install installs the wheels Options name for t. Every error names the
// wheel or requirement it is about; nothing is written but the cache.
func Install(ctx context.Context, o Options, t Target) (*appdeps.Set, error) {
	if o.Cache == nil {
		return nil, errors.New("python: no download cache")
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	if o.MaxTotal <= 0 {
		o.MaxTotal = DefaultMaxTotal
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if t.Interpreter == "" || t.Site == "" || t.Prefix == "" {
		return nil, errors.New("python: the image's interpreter, prefix and site directory must be known")
	}
	ts, err := t.supported()
	if err != nil {
		return nil, err
	}
	var src source
	switch {
	case o.Wheels != "" && o.Index != "":
		return nil, errors.New("python: give a wheel directory or an index, not both")
	case o.Index != "":
		u, err := url.Parse(o.Index)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("python index %q is not an http(s) URL", o.Index)
		}
		if o.Requirements == "" {
			return nil, errors.New("python: an index needs a requirements file naming what to install")
		}
		src = indexSource{base: u, client: o.Client, timeout: o.Timeout}
	case o.Wheels != "":
		st, err := os.Stat(o.Wheels)
		if err != nil {
			return nil, fmt.Errorf("python wheels: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("python wheels: %s is not a directory", o.Wheels)
		}
		src = dirSource{o.Wheels}
	default:
		return nil, errors.New("python: a requirements file needs a wheel directory or an index")
	}

	var picks []candidate
	var reqs []Requirement
	if o.Requirements != "" {
		if reqs, err = ReadRequirements(o.Requirements); err != nil {
			return nil, err
		}
		for _, r := range reqs {
			cands, err := src.wheels(ctx, normalize(r.Name))
			if err != nil {
				return nil, fmt.Errorf("%s==%s: %w", r.Name, r.Version, err)
			}
			c, err := choose(r.Name, r.Version, cands, ts, t, src.String())
			if err != nil {
				return nil, err
			}
			picks = append(picks, c)
		}
	} else {
		all, err := src.wheels(ctx, "")
		if err != nil {
			return nil, err
		}
		byProject := map[string][]candidate{}
		for _, c := range all {
			byProject[normalize(c.Name.Name)] = append(byProject[normalize(c.Name.Name)], c)
		}
		if len(byProject) == 0 {
			return nil, fmt.Errorf("python wheels: %s holds no wheel (*.whl)", o.Wheels)
		}
		for _, p := range sortedKeys(byProject) {
			vs := map[string]bool{}
			for _, c := range byProject[p] {
				vs[c.Name.Version] = true
			}
			if len(vs) > 1 {
				return nil, fmt.Errorf("python wheels: %s holds several versions of %s (%s); keep one, or pin one in a requirements file", o.Wheels, p, strings.Join(sortedKeys(vs), ", "))
			}
			c, err := choose(p, "", byProject[p], ts, t, src.String())
			if err != nil {
				return nil, err
			}
			picks = append(picks, c)
			reqs = append(reqs, Requirement{})
		}
	}

	in := &installer{o: o, t: t, owner: map[string]string{}}
	set := &appdeps.Set{Name: "python"}
	for i, c := range picks {
		var req *Requirement
		if o.Requirements != "" {
			req = &reqs[i]
		}
		had := map[string]bool{}
		for _, h := range append([]string{c.SHA256}, hashesOf(req)...) {
			if _, ok := o.Cache.Blob(h); ok {
				had[h] = true
			}
		}
		blob, sum, source, err := in.fetch(ctx, c, req)
		if err != nil {
			return nil, err
		}
		comp, err := in.install(blob, c, Installed{Requirement: req, File: c.File, SHA256: sum, Source: source})
		if err != nil {
			if !had[sum] {
				os.Remove(blob) // a wheel refused leaves the cache as it was
			}
			return nil, fmt.Errorf("wheel %s: %w", c.File, err)
		}
		set.Components = append(set.Components, comp)
	}
	set.Warnings = missingRequirements(in.requires, set.Components)
	set.Files = in.files
	sort.Slice(set.Files, func(i, j int) bool { return set.Files[i].Path < set.Files[j].Path })
	return set, nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func hashesOf(r *Requirement) []string {
	if r == nil {
		return nil
	}
	return r.Hashes
}

// installer collects the files of the wheels installed so far.
type installer struct {
	o     Options
	t     Target
	files []assemble.File
	owner map[string]string // path → the wheel that installed it
	total int64
	// requires are each installed wheel's Requires-Dist entries.
	requires [][2]string
}

// reqName is the project name a Requires-Dist entry starts with.
var reqName = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._-]*)`)

// missingRequirements says which unconditional Requires-Dist entries
// (no environment marker) name a project nothing installed: pip would
// have refused the requirements file (--require-hashes pins them all).
func missingRequirements(requires [][2]string, comps []appdeps.Component) []string {
	have := map[string]bool{}
	for _, c := range comps {
		have[normalize(c.Name)] = true
	}
	var out []string
	for _, r := range requires {
		if strings.Contains(r[1], ";") {
			continue // conditional: an extra, a platform, a python version
		}
		m := reqName.FindStringSubmatch(r[1])
		if m != nil && !have[normalize(m[1])] {
			out = append(out, fmt.Sprintf("%s requires %s, which is not installed", r[0], strings.TrimSpace(r[1])))
		}
	}
	return out
}

// fetch puts the wheel into the cache, verified against the requirement's
// hashes, and returns its blob, SHA-256 and source.
func (in *installer) fetch(ctx context.Context, c candidate, req *Requirement) (blob, sum, source string, err error) {
	pinned := func(h string) bool { return req == nil || slices.Contains(req.Hashes, h) }
	what := c.File
	if req != nil {
		what = fmt.Sprintf("%s (%s==%s, line %d of %s)", c.File, req.Name, req.Version, req.Line, in.o.Requirements)
	}
	if c.URL != "" && c.SHA256 != "" {
		if !pinned(c.SHA256) {
			return "", "", "", fmt.Errorf("hash mismatch: the index gives %s sha256 %s, which the requirements file does not pin (it pins %s)", what, c.SHA256, strings.Join(req.Hashes, ", "))
		}
		p, err := in.o.Cache.Fetch(ctx, c.URL, -1, c.SHA256)
		if err != nil {
			return "", "", "", fmt.Errorf("%s: %w", what, err)
		}
		if st, err := os.Stat(p); err == nil && st.Size() > in.o.MaxTotal {
			return "", "", "", fmt.Errorf("%s has %d bytes, more than the limit (%d)", what, st.Size(), in.o.MaxTotal)
		}
		return p, c.SHA256, c.URL, nil
	}
	// No hash from the index (or a local file): read it once into a
	// temporary file, hash it, and keep it only if it is pinned.
	var r io.ReadCloser
	source = c.URL
	if c.URL == "" {
		f, err := os.Open(c.Path)
		if err != nil {
			return "", "", "", err
		}
		r, source = f, c.File
	} else {
		cctx, cancel := context.WithTimeout(ctx, in.o.Timeout*10)
		defer cancel()
		rq, err := http.NewRequestWithContext(cctx, http.MethodGet, c.URL, nil)
		if err != nil {
			return "", "", "", err
		}
		resp, err := in.o.Client.Do(rq)
		if err != nil {
			return "", "", "", fmt.Errorf("%s: %w", what, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return "", "", "", fmt.Errorf("%s: GET %s: %s", what, c.URL, resp.Status)
		}
		r = resp.Body
	}
	defer r.Close()
	if err := os.MkdirAll(in.o.Cache.Dir, 0o755); err != nil {
		return "", "", "", err
	}
	tmp, err := os.CreateTemp(in.o.Cache.Dir, ".wheel-*")
	if err != nil {
		return "", "", "", err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, in.o.MaxTotal+1))
	if err != nil {
		return "", "", "", fmt.Errorf("%s: %w", what, err)
	}
	if n > in.o.MaxTotal {
		return "", "", "", fmt.Errorf("%s has more than %d bytes, the limit", what, in.o.MaxTotal)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if !pinned(sum) {
		return "", "", "", fmt.Errorf("hash mismatch: %s has sha256 %s, which the requirements file does not pin (it pins %s)", what, sum, strings.Join(req.Hashes, ", "))
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return "", "", "", err
	}
	p, err := in.o.Cache.WriteBlob(sum, func(w io.Writer) error { _, err := io.Copy(w, tmp); return err })
	if err != nil {
		return "", "", "", fmt.Errorf("%s: %w", what, err)
	}
	return p, sum, source, nil
}

// member is one file of a wheel, read and checked.
type member struct {
	name string
	data []byte
	exec bool
}

// checkName refuses a member name that is absolute, climbs out or is
// not clean UTF-8 without NUL or backslash.
func checkName(n string) error {
	switch {
	case n == "" || strings.ContainsAny(n, "\x00\\"):
		return fmt.Errorf("member %q: a name with NUL or backslash, or empty", n)
	case strings.HasPrefix(n, "/"):
		return fmt.Errorf("member %q has an absolute path", n)
	}
	c := path.Clean(n)
	if c == ".." || strings.HasPrefix(c, "../") || slices.Contains(strings.Split(n, "/"), "..") {
		return fmt.Errorf("member %q climbs out of the wheel (..)", n)
	}
	return nil
}

// read reads the wheel's members, refusing unsafe ones before reading.
func (in *installer) read(blob string) ([]member, error) {
	zr, err := zip.OpenReader(blob)
	if err != nil {
		return nil, fmt.Errorf("not a zip archive: %w", err)
	}
	defer zr.Close()
	if len(zr.File) > maxMembers {
		return nil, fmt.Errorf("%d members, more than %d", len(zr.File), maxMembers)
	}
	seen := map[string]bool{}
	var total uint64
	for _, f := range zr.File {
		if err := checkName(f.Name); err != nil {
			return nil, err
		}
		m := f.Mode()
		switch {
		case m&fs.ModeSymlink != 0:
			return nil, fmt.Errorf("member %s is a symlink; wheels hold regular files only", f.Name)
		case m.IsDir() || strings.HasSuffix(f.Name, "/"):
			continue
		case !m.IsRegular():
			return nil, fmt.Errorf("member %s is a special file (%v); wheels hold regular files only", f.Name, m.Type())
		}
		if f.UncompressedSize64 > uint64(in.o.MaxFileSize) {
			return nil, fmt.Errorf("member %s declares %d bytes, more than a file may have (%d)", f.Name, f.UncompressedSize64, in.o.MaxFileSize)
		}
		total += f.UncompressedSize64
		if total+uint64(in.total) > uint64(in.o.MaxTotal) {
			return nil, fmt.Errorf("member %s: the wheels' files pass %d bytes, the limit", f.Name, in.o.MaxTotal)
		}
		c := path.Clean(f.Name)
		if seen[c] {
			return nil, fmt.Errorf("member %s is in the wheel twice", f.Name)
		}
		seen[c] = true
	}
	var out []member
	for _, f := range zr.File {
		if f.Mode().IsDir() || strings.HasSuffix(f.Name, "/") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", f.Name, err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, int64(f.UncompressedSize64)+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", f.Name, err)
		}
		if uint64(len(data)) != f.UncompressedSize64 {
			return nil, fmt.Errorf("member %s: %d bytes, its header says %d", f.Name, len(data), f.UncompressedSize64)
		}
		out = append(out, member{name: path.Clean(f.Name), data: data, exec: f.Mode().Perm()&0o111 != 0})
	}
	in.total += int64(total)
	return out, nil
}

// install installs one wheel's files and returns its component.
func (in *installer) install(blob string, c candidate, inst Installed) (appdeps.Component, error) {
	members, err := in.read(blob)
	if err != nil {
		return appdeps.Component{}, err
	}
	// The .dist-info directory: one, at the top, named for the wheel.
	var distInfo string
	for _, m := range members {
		top, _, _ := strings.Cut(m.name, "/")
		if strings.HasSuffix(top, ".dist-info") && top != distInfo {
			if distInfo != "" {
				return appdeps.Component{}, fmt.Errorf("two .dist-info directories: %s and %s", distInfo, top)
			}
			distInfo = top
		}
	}
	if distInfo == "" {
		return appdeps.Component{}, errors.New("no .dist-info directory")
	}
	base := strings.TrimSuffix(distInfo, ".dist-info")
	if i := strings.LastIndexByte(base, '-'); i < 0 || normalize(base[:i]) != normalize(c.Name.Name) {
		return appdeps.Component{}, fmt.Errorf("its .dist-info directory %s is not for %s", distInfo, c.Name.Name)
	}
	dataDir := strings.TrimSuffix(distInfo, ".dist-info") + ".data"
	byName := map[string]*member{}
	for i := range members {
		byName[members[i].name] = &members[i]
	}
	get := func(n string) ([]byte, error) {
		m := byName[distInfo+"/"+n]
		if m == nil {
			return nil, fmt.Errorf("no %s/%s", distInfo, n)
		}
		return m.data, nil
	}
	wheelMeta, err := get("WHEEL")
	if err != nil {
		return appdeps.Component{}, err
	}
	wh := parseHeaders(wheelMeta)
	if v := first(wh["Wheel-Version"]); !strings.HasPrefix(v, "1.") {
		return appdeps.Component{}, fmt.Errorf("Wheel-Version %q is not 1.x", v)
	}
	metaData, err := get("METADATA")
	if err != nil {
		return appdeps.Component{}, err
	}
	meta := parseHeaders(metaData)
	name, version := first(meta["Name"]), first(meta["Version"])
	if normalize(name) != normalize(c.Name.Name) || normalizeVersion(version) != normalizeVersion(c.Name.Version) {
		return appdeps.Component{}, fmt.Errorf("its METADATA says %s %s, its file name %s %s", name, version, c.Name.Name, c.Name.Version)
	}
	if inst.Requirement != nil && normalizeVersion(version) != normalizeVersion(inst.Requirement.Version) {
		return appdeps.Component{}, fmt.Errorf("its METADATA says version %s, the requirement pins %s", version, inst.Requirement.Version)
	}
	record, err := get("RECORD")
	if err != nil {
		return appdeps.Component{}, err
	}
	if err := checkRecord(distInfo, record, members); err != nil {
		return appdeps.Component{}, err
	}

	pyver := "python" + in.t.Python
	var installed []assemble.File
	for _, m := range members {
		if m.name == distInfo+"/RECORD" || m.name == distInfo+"/RECORD.jws" || m.name == distInfo+"/RECORD.p7s" {
			continue
		}
		dest, data, mode := path.Join(in.t.Site, m.name), m.data, fs.FileMode(0o644)
		if m.exec {
			mode = 0o755
		}
		if rest, ok := strings.CutPrefix(m.name, dataDir+"/"); ok {
			key, sub, ok := strings.Cut(rest, "/")
			if !ok {
				return appdeps.Component{}, fmt.Errorf("member %s: a file directly in %s", m.name, dataDir)
			}
			switch key {
			case "purelib", "platlib":
				dest = path.Join(in.t.Site, sub)
			case "scripts":
				dest, mode = path.Join(in.t.Prefix, "bin", sub), 0o755
				data = in.shebang(data)
			case "headers":
				dest = path.Join(in.t.Prefix, "include", pyver, name, sub)
			case "data":
				dest = path.Join(in.t.Prefix, sub)
			default:
				return appdeps.Component{}, fmt.Errorf("member %s: %s is not a wheel data directory (purelib, platlib, scripts, headers, data)", m.name, key)
			}
		}
		installed = append(installed, assemble.File{Path: dest, Mode: mode, Data: data})
	}
	// Entry points: console and GUI scripts.
	if ep, ok := byName[distInfo+"/entry_points.txt"]; ok {
		scripts, err := in.entryPoints(ep.data)
		if err != nil {
			return appdeps.Component{}, fmt.Errorf("entry_points.txt: %w", err)
		}
		installed = append(installed, scripts...)
	}
	installed = append(installed, assemble.File{Path: path.Join(in.t.Site, distInfo, "INSTALLER"), Mode: 0o644, Data: []byte("distroless\n")})
	du := map[string]any{"url": inst.Source, "archive_info": map[string]any{"hash": "sha256=" + inst.SHA256, "hashes": map[string]string{"sha256": inst.SHA256}}}
	if !strings.Contains(inst.Source, "://") {
		du["url"] = "file:" + url.PathEscape(inst.Source)
	}
	duj, _ := json.Marshal(du)
	installed = append(installed, assemble.File{Path: path.Join(in.t.Site, distInfo, "direct_url.json"), Mode: 0o644, Data: append(duj, '\n')})
	// The new RECORD: every installed file, relative to the site
	// directory, with its hash and size; RECORD itself without.
	var rec bytes.Buffer
	cw := csv.NewWriter(&rec)
	for _, f := range installed {
		rel := relPath(in.t.Site, f.Path)
		s := sha256.Sum256(f.Data)
		_ = cw.Write([]string{rel, "sha256=" + base64.RawURLEncoding.EncodeToString(s[:]), fmt.Sprint(len(f.Data))})
	}
	_ = cw.Write([]string{distInfo + "/RECORD", "", ""})
	cw.Flush()
	installed = append(installed, assemble.File{Path: path.Join(in.t.Site, distInfo, "RECORD"), Mode: 0o644, Data: rec.Bytes()})
	for _, f := range installed {
		if prev, ok := in.owner[f.Path]; ok {
			return appdeps.Component{}, fmt.Errorf("%s installs %s, which %s installs too", c.File, f.Path, prev)
		}
		in.owner[f.Path] = c.File
	}
	in.files = append(in.files, installed...)
	for _, r := range meta["Requires-Dist"] {
		in.requires = append(in.requires, [2]string{name + " " + version, r})
	}

	comp := appdeps.Component{Type: "pypi", Name: name, Version: version, License: license(meta), Hash: "sha256:" + inst.SHA256, Source: inst.Source}
	comp.PURL = packageurl.NewPackageURL("pypi", "", normalize(name), version, nil, "").ToString()
	return comp, nil
}

// relPath is target relative to the directory base (both absolute).
func relPath(base, target string) string {
	b := strings.Split(strings.Trim(base, "/"), "/")
	t := strings.Split(strings.Trim(target, "/"), "/")
	i := 0
	for i < len(b) && i < len(t) && b[i] == t[i] {
		i++
	}
	var parts []string
	for range b[i:] {
		parts = append(parts, "..")
	}
	return strings.Join(append(parts, t[i:]...), "/")
}

// shebang rewrites a "#!python" first line to the image's interpreter.
func (in *installer) shebang(data []byte) []byte {
	line, rest, _ := bytes.Cut(data, []byte("\n"))
	l := string(bytes.TrimRight(line, "\r"))
	for _, p := range []string{"#!pythonw", "#!python"} {
		if args, ok := strings.CutPrefix(l, p); ok && (args == "" || args[0] == ' ') {
			return append([]byte("#!"+in.t.Interpreter+args+"\n"), rest...)
		}
	}
	return data
}

var (
	scriptName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.+-]*$`)
	dotted     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
)

// entryPoints makes the scripts of console_scripts and gui_scripts.
func (in *installer) entryPoints(data []byte) ([]assemble.File, error) {
	var out []assemble.File
	section := ""
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		if section != "console_scripts" && section != "gui_scripts" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not NAME = MODULE:FUNCTION", i+1, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if j := strings.Index(v, "["); j >= 0 {
			v = strings.TrimSpace(v[:j]) // extras
		}
		mod, attr, _ := strings.Cut(v, ":")
		mod, attr = strings.TrimSpace(mod), strings.TrimSpace(attr)
		if !scriptName.MatchString(k) || !dotted.MatchString(mod) || (attr != "" && !dotted.MatchString(attr)) {
			return nil, fmt.Errorf("line %d: %q is not NAME = MODULE:FUNCTION", i+1, line)
		}
		var body string
		if attr == "" {
			body = fmt.Sprintf("import %s\nif __name__ == \"__main__\":\n    sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n    sys.exit(%s())\n", mod, mod)
		} else {
			head, _, _ := strings.Cut(attr, ".")
			body = fmt.Sprintf("from %s import %s\nif __name__ == \"__main__\":\n    sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n    sys.exit(%s())\n", mod, head, attr)
		}
		script := "#!" + in.t.Interpreter + "\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n" + body
		out = append(out, assemble.File{Path: path.Join(in.t.Prefix, "bin", k), Mode: 0o755, Data: []byte(script)})
	}
	return out, nil
}

// checkRecord checks that RECORD lists every member but itself (and its
// signatures) with a hash that matches and the size, and nothing else.
func checkRecord(distInfo string, record []byte, members []member) error {
	r := csv.NewReader(bytes.NewReader(record))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return fmt.Errorf("RECORD: %w", err)
	}
	listed := map[string][]string{}
	for _, row := range rows {
		if len(row) == 0 || (len(row) == 1 && row[0] == "") {
			continue
		}
		if len(row) != 3 {
			return fmt.Errorf("RECORD: %q is not PATH,HASH,SIZE", strings.Join(row, ","))
		}
		listed[path.Clean(row[0])] = row
	}
	self := map[string]bool{distInfo + "/RECORD": true, distInfo + "/RECORD.jws": true, distInfo + "/RECORD.p7s": true}
	for _, m := range members {
		if self[m.name] {
			continue
		}
		row, ok := listed[m.name]
		if !ok {
			return fmt.Errorf("RECORD does not list %s", m.name)
		}
		delete(listed, m.name)
		alg, want, ok := strings.Cut(row[1], "=")
		var h hash.Hash
		switch alg {
		case "sha256":
			h = sha256.New()
		case "sha384":
			h = sha512.New384()
		case "sha512":
			h = sha512.New()
		default:
			return fmt.Errorf("RECORD: %s has hash %q, not sha256, sha384 or sha512", m.name, row[1])
		}
		h.Write(m.data)
		got := base64.RawURLEncoding.EncodeToString(h.Sum(nil))
		if !ok || strings.TrimRight(want, "=") != got {
			return fmt.Errorf("RECORD lies: %s has %s=%s, RECORD says %s", m.name, alg, got, row[1])
		}
		if row[2] != "" && row[2] != fmt.Sprint(len(m.data)) {
			return fmt.Errorf("RECORD lies: %s has %d bytes, RECORD says %s", m.name, len(m.data), row[2])
		}
	}
	for n := range listed {
		if !self[n] {
			return fmt.Errorf("RECORD lists %s, which the wheel does not have", n)
		}
	}
	return nil
}

// parseHeaders reads the RFC 822 style headers of METADATA or WHEEL (up
// to the first blank line), continuation lines folded.
func parseHeaders(data []byte) map[string][]string {
	if len(data) > maxMetadata {
		data = data[:maxMetadata]
	}
	out := map[string][]string{}
	var last string
	for _, line := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") {
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			vs := out[last]
			vs[len(vs)-1] += "\n" + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.TrimSpace(k)
		out[last] = append(out[last], strings.TrimSpace(v))
	}
	return out
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// classifierLicense maps the common trove classifiers to SPDX ids.
var classifierLicense = map[string]string{
	"License :: OSI Approved :: MIT License":                                   "MIT",
	"License :: OSI Approved :: BSD License":                                   "BSD-3-Clause",
	"License :: OSI Approved :: Apache Software License":                       "Apache-2.0",
	"License :: OSI Approved :: ISC License (ISCL)":                            "ISC",
	"License :: OSI Approved :: Python Software Foundation License":            "PSF-2.0",
	"License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)":          "MPL-2.0",
	"License :: OSI Approved :: GNU General Public License v2 (GPLv2)":         "GPL-2.0-only",
	"License :: OSI Approved :: GNU General Public License v3 (GPLv3)":         "GPL-3.0-only",
	"License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
	"License :: OSI Approved :: The Unlicense (Unlicense)":                     "Unlicense",
}

// license is the package's license: License-Expression (PEP 639), else a
// License field that is an SPDX expression, else its classifiers, else
// the License field's text.
func license(meta map[string][]string) string {
	if e := first(meta["License-Expression"]); packages.ValidLicenseExpression(e) {
		return e
	}
	l := first(meta["License"])
	if l != "" && packages.ValidLicenseExpression(l) {
		return l
	}
	var ids []string
	for _, c := range meta["Classifier"] {
		if id, ok := classifierLicense[c]; ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		return strings.Join(ids, " OR ")
	}
	return l
}
