package python

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
		if reqs, err = readRequirements(o.Requirements); err != nil {
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
