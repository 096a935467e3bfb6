package python

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// candidate is one wheel a source offers.
type candidate struct {
	File   string // its file name
	URL    string // where to download it ("" for a local file)
	Path   string // the local file
	SHA256 string // from the index, when it says
	Name   wheelName
}

// source lists a project's wheels.
type source interface {
	wheels(ctx context.Context, project string) ([]candidate, error)
	String() string
}

// dirSource is a directory of wheels.
type dirSource struct{ dir string }

func (d dirSource) String() string { return d.dir }

func (d dirSource) wheels(_ context.Context, project string) ([]candidate, error) {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, err
	}
	var out []candidate
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".whl") {
			continue
		}
		w, err := parseWheelName(e.Name())
		if err != nil || (project != "" && normalize(w.Name) != project) {
			continue
		}
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("%s: %s is not a regular file", d.dir, e.Name())
		}
		out = append(out, candidate{File: e.Name(), Path: filepath.Join(d.dir, e.Name()), Name: w})
	}
	return out, nil
}

// indexSource is a PEP 503/691 simple index.
type indexSource struct {
	base    *url.URL
	client  *http.Client
	timeout time.Duration
}

func (s indexSource) String() string { return s.base.String() }

// maxIndexPage bounds a project page of the index.
const maxIndexPage = 32 << 20

// anchor is an <a href="…">text</a> of a PEP 503 page.
var anchor = regexp.MustCompile(`(?is)<a\s[^>]*?href\s*=\s*["']([^"']*)["'][^>]*>([^<]*)</a>`)

func (s indexSource) wheels(ctx context.Context, project string) ([]candidate, error) {
	page := s.base.JoinPath(project + "/")
	u := page.String()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("python index: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("python index: GET %s: %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIndexPage+1))
	if err != nil {
		return nil, fmt.Errorf("python index: GET %s: %w", u, err)
	}
	if len(body) > maxIndexPage {
		return nil, fmt.Errorf("python index: GET %s: the page is larger than %d bytes", u, maxIndexPage)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/vnd.pypi.simple.v1+json" {
		return s.fromJSON(u, page, body)
	}
	return s.fromHTML(page, project, body)
}

func (s indexSource) fromJSON(u string, page *url.URL, body []byte) ([]candidate, error) {
	var doc struct {
		Files []struct {
			Filename string            `json:"filename"`
			URL      string            `json:"url"`
			Hashes   map[string]string `json:"hashes"`
			Yanked   any               `json:"yanked"`
		} `json:"files"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("python index: %s: %w", u, err)
	}
	var out []candidate
	for _, f := range doc.Files {
		c, ok := s.candidate(page, f.URL, f.Filename)
		if !ok {
			continue
		}
		if h := f.Hashes["sha256"]; h != "" {
			c.SHA256 = strings.ToLower(h)
		}
		out = append(out, c)
	}
	return out, nil
}

func (s indexSource) fromHTML(page *url.URL, project string, body []byte) ([]candidate, error) {
	var out []candidate
	for _, m := range anchor.FindAllSubmatch(body, -1) {
		href := html.UnescapeString(string(m[1]))
		name := strings.TrimSpace(html.UnescapeString(string(m[2])))
		c, ok := s.candidate(page, href, name)
		if !ok || normalize(c.Name.Name) != project {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// candidate is the wheel named file at href (relative to page); its
// #sha256= fragment, when there, is the index's hash.
func (s indexSource) candidate(page *url.URL, href, file string) (candidate, bool) {
	ref, err := url.Parse(href)
	if err != nil {
		return candidate{}, false
	}
	abs := page.ResolveReference(ref)
	if abs.Scheme != "http" && abs.Scheme != "https" {
		return candidate{}, false
	}
	var h string
	if alg, v, ok := strings.Cut(abs.Fragment, "="); ok && alg == "sha256" {
		h = strings.ToLower(v)
	}
	abs.Fragment = ""
	if file == "" {
		file = filepath.Base(abs.Path)
	}
	w, err := parseWheelName(file)
	if err != nil || strings.ContainsAny(file, "/\\") {
		return candidate{}, false
	}
	return candidate{File: file, URL: abs.String(), SHA256: h, Name: w}, true
}

// choose picks the best wheel of project version for t, or says why none
// fits.
func choose(project, version string, cands []candidate, ts tagSet, t Target, from string) (candidate, error) {
	var fit []candidate
	var other []string
	var whyNot []string
	for _, c := range cands {
		if version != "" && c.Name.Version != version && normalizeVersion(c.Name.Version) != normalizeVersion(version) {
			other = append(other, c.Name.Version)
			continue
		}
		if ts.rank(c.Name) < 0 {
			whyNot = append(whyNot, fmt.Sprintf("%s: %s", c.File, t.whyNot(c.Name)))
			continue
		}
		fit = append(fit, c)
	}
	if len(fit) == 0 {
		pin := project
		if version != "" {
			pin += "==" + version
		}
		switch {
		case len(whyNot) > 0:
			return candidate{}, fmt.Errorf("%s: no wheel in %s is for this image (python %s, linux %s, glibc %s): %s", pin, from, t.Python, wheelArch[t.Arch], t.Glibc, strings.Join(whyNot, "; "))
		case len(other) > 0:
			sort.Strings(other)
			return candidate{}, fmt.Errorf("%s: %s has no wheel of version %s (it has %s); sdists are not built", pin, from, version, strings.Join(compact(other), ", "))
		default:
			return candidate{}, fmt.Errorf("%s: %s has no wheel of it (sdists are not built)", pin, from)
		}
	}
	sort.SliceStable(fit, func(i, j int) bool {
		ri, rj := ts.rank(fit[i].Name), ts.rank(fit[j].Name)
		if ri != rj {
			return ri < rj
		}
		return fit[i].Name.Build > fit[j].Name.Build
	})
	return fit[0], nil
}

// normalizeVersion folds the spellings PEP 440 treats as one (case, a
// leading v, underscores in local versions).
func normalizeVersion(v string) string {
	return strings.TrimPrefix(strings.ReplaceAll(strings.ToLower(v), "_", "."), "v")
}

func compact(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
