// Package releasefile is the release file format of `distroless release`:
// a matrix of images (built-in profiles or profile files) × distros ×
// platforms × users × debug variants, the tag templates that name each
// image, the registry they are pushed to, and image settings (entrypoint,
// cmd, workdir, env, labels, annotations) for all or one of them. Load reads and checks a file,
// every error naming its line; Expand turns the matrix into the list of
// images to build, a pure function of the file and the distros' names.
package releasefile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is a release file.
type File struct {
	Path     string // the file's path, for messages and relative paths
	Registry string // {registry} in tag templates, e.g. registry.example.com/distroless
	// Lock is the lockfile of the whole matrix (relative to the file's
	// directory); default: the file's name with .lock.json for .yaml.
	Lock     string
	Defaults Axes
	Images   []Entry
	// CACerts are PEM CA certificates every image trusts (gen's
	// --ca-cert), relative to the file's directory; CACertPaths resolves
	// them.
	CACerts  []string
	Settings Settings // of every image, under each image's own
}

// Settings are image settings (as gen's --entrypoint, --cmd, --workdir,
// --env, --label and --annotation) over the profile's, as a child
// profile's would be: entrypoint replaces the profile's and drops its
// cmd. The file's apply to every image, an image's over the file's.
type Settings struct {
	Entrypoint, Cmd          []string // nil: not given ([] gives none)
	Workdir                  string
	Env, Labels, Annotations map[string]string
}

// settingKeys are the keys of Settings in a file and in an images entry.
var settingKeys = []string{"entrypoint", "cmd", "workdir", "env", "labels", "annotations"}

// Over returns s over d: s's entrypoint replaces d's and d's cmd, s's cmd
// and workdir replace d's, and s's maps add to d's.
func (s Settings) Over(d Settings) Settings {
	out := d
	if s.Entrypoint != nil {
		out.Entrypoint, out.Cmd = s.Entrypoint, nil
	}
	if s.Cmd != nil {
		out.Cmd = s.Cmd
	}
	if s.Workdir != "" {
		out.Workdir = s.Workdir
	}
	merge := func(a, b map[string]string) map[string]string {
		if len(a)+len(b) == 0 {
			return nil
		}
		m := make(map[string]string, len(a)+len(b))
		maps.Copy(m, a)
		maps.Copy(m, b)
		return m
	}
	out.Env, out.Labels, out.Annotations = merge(d.Env, s.Env), merge(d.Labels, s.Labels), merge(d.Annotations, s.Annotations)
	return out
}

// set reads one setting.
func (s *Settings) set(path, k string, v *yaml.Node) error {
	switch k {
	case "entrypoint", "cmd":
		if v.Kind != yaml.SequenceNode {
			return lineError(path, v, "%s: want a list of strings (the argument vector; [] for none)", k)
		}
		argv := []string{}
		for _, c := range v.Content {
			if c.Kind != yaml.ScalarNode || c.Tag == "!!null" || strings.ContainsRune(c.Value, 0) {
				return lineError(path, c, "%s: want strings", k)
			}
			argv = append(argv, c.Value)
		}
		if k == "entrypoint" {
			s.Entrypoint = argv
		} else {
			s.Cmd = argv
		}
	case "workdir":
		w, err := scalar(path, k, v)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(w, "/") || strings.ContainsRune(w, 0) {
			return lineError(path, v, "workdir %q: want an absolute path", w)
		}
		s.Workdir = w
	default: // env, labels, annotations
		if v.Kind != yaml.MappingNode {
			return lineError(path, v, "%s: want a mapping of KEY: VALUE", k)
		}
		m := map[string]string{}
		for i := 0; i+1 < len(v.Content); i += 2 {
			kn, vn := v.Content[i], v.Content[i+1]
			if kn.Kind != yaml.ScalarNode || kn.Value == "" || strings.ContainsRune(kn.Value, 0) || (k == "env" && strings.ContainsRune(kn.Value, '=')) {
				return lineError(path, kn, "%s: key %q: want a non-empty name without '='", k, kn.Value)
			}
			if vn.Kind != yaml.ScalarNode || vn.Tag == "!!null" || strings.ContainsRune(vn.Value, 0) {
				return lineError(path, vn, "%s: %s: want a string value", k, kn.Value)
			}
			if _, ok := m[kn.Value]; ok {
				return lineError(path, kn, "%s: %s is given twice", k, kn.Value)
			}
			m[kn.Value] = vn.Value
		}
		switch k {
		case "env":
			s.Env = m
		case "labels":
			s.Labels = m
		default:
			s.Annotations = m
		}
	}
	return nil
}

// CACertPaths are the ca-certs, relative paths taken from the release
// file's directory.
func (f *File) CACertPaths() []string {
	var out []string
	for _, c := range f.CACerts {
		out = append(out, f.rel(c))
	}
	return out
}

// Axes are the matrix settings a file gives for every image and an image
// may override.
type Axes struct {
	Distros   []string // built-in distro names or distro files
	Platforms []string // OCI architectures (amd64, arm64), from linux/ARCH
	Users     []string // nonroot, root or a numeric UID
	Debug     []bool   // false: the plain image, true: the -debug variant
	Tags      []string // tag templates
	// Line is where each setting was given (0: not given).
	lines map[string]int
}

// Entry is one image of the file, before expansion.
type Entry struct {
	Profile string // a built-in profile name …
	File    string // … or a profile file (relative to the release file)
	Name    string // {name}; default the profile's name (a file's: its base name without .yaml)
	Axes    Axes   // overrides of the file's defaults
	Line    int
	// Settings are the image's settings, over the file's.
	Settings Settings
	// App are the image's application inputs (app.go).
	App App
}

// Image is one image of the expanded matrix: what to build and the tags
// it is pushed to. Its platforms make one multi-platform index when there
// are several.
type Image struct {
	Name        string   // {name}
	Profile     string   // a built-in profile (with -debug for the debug variant), or "" with ProfileFile
	ProfileFile string   // a profile file, resolved against the release file's directory
	Distro      string   // as the file names it
	Platforms   []string // OCI architectures
	User        string   // nonroot, root or a UID
	Debug       bool
	Variant     string   // latest, nonroot, debug, debug-nonroot, N, debug-N
	Tags        []string // full references REGISTRY/REPO:TAG, in template order
	Line        int      // the images entry it comes from
	Settings    Settings // the entry's over the file's
	App         App      // the entry's, npm-lock relative to the working directory
}

// Key names the image in messages: NAME (DISTRO, VARIANT).
func (im Image) Key() string { return fmt.Sprintf("%s (%s, %s)", im.Name, im.Distro, im.Variant) }

// DefaultTags are the tag templates of a file that gives none: the names
// Google's distroless images have (gcr.io/distroless/python3-debian13:nonroot).
var DefaultTags = []string{"{registry}/{name}-{distro}:{variant}"}

// Placeholders are the names tag templates may use.
var Placeholders = []string{"registry", "name", "profile", "distro", "distro_id", "distro_version", "codename", "variant", "user", "date"}

// Load reads and checks a release file.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decode(path, data)
}

// lineError is an error at a line of the file.
func lineError(path string, n *yaml.Node, format string, args ...any) error {
	if n == nil || n.Line == 0 {
		return fmt.Errorf("release file %s: %s", path, fmt.Sprintf(format, args...))
	}
	return fmt.Errorf("release file %s: line %d: %s", path, n.Line, fmt.Sprintf(format, args...))
}

// decode parses a release file's content; path names it in errors and
// anchors relative paths.
func decode(path string, data []byte) (*File, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("release file %s: empty", path)
		}
		return nil, fmt.Errorf("release file %s: %w", path, err)
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("release file %s: empty", path)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, lineError(path, root, "want a mapping (registry, images, …)")
	}
	f := &File{Path: path}
	f.Defaults.lines = map[string]int{}
	var images *yaml.Node
	err := eachKey(path, root, "the release file", append([]string{"registry", "lock", "images", "distros", "platforms", "users", "debug", "tags", "ca-certs"}, settingKeys...), func(k string, v *yaml.Node) error {
		if slices.Contains(settingKeys, k) {
			return f.Settings.set(path, k, v)
		}
		switch k {
		case "registry":
			s, err := scalar(path, k, v)
			if err != nil {
				return err
			}
			if s == "" || strings.Contains(s, "{") || strings.HasSuffix(s, "/") {
				return lineError(path, v, "registry %q: want a registry host and an optional repository prefix (registry.example.com/distroless)", s)
			}
			if host, _, _ := strings.Cut(s, "/"); !strings.ContainsAny(host, ".:") && host != "localhost" {
				return lineError(path, v, "registry %q: %q is not a registry host (a domain with a dot, localhost, or HOST:PORT; say docker.io/… for Docker Hub)", s, host)
			}
			f.Registry = s
		case "lock":
			s, err := scalar(path, k, v)
			if err != nil {
				return err
			}
			if s == "" {
				return lineError(path, v, "lock is empty")
			}
			f.Lock = s
		case "images":
			images = v
		case "ca-certs":
			items, err := list(path, k, v)
			if err != nil {
				return err
			}
			for _, c := range items {
				if c == "" {
					return lineError(path, v, "ca-certs: an empty file name")
				}
			}
			f.CACerts = items
		default:
			return f.Defaults.set(path, k, v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if f.Registry == "" {
		return nil, lineError(path, root, "registry is missing (the {registry} of the tags, e.g. registry.example.com/distroless)")
	}
	if images == nil || images.Kind != yaml.SequenceNode || len(images.Content) == 0 {
		return nil, lineError(path, orNode(images, root), "images: want a list of at least one image (- profile: NAME or - file: PROFILE.yaml)")
	}
	for _, n := range images.Content {
		e, err := decodeEntry(path, n)
		if err != nil {
			return nil, err
		}
		f.Images = append(f.Images, e)
	}
	if f.Lock == "" {
		base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".yaml"), ".yml")
		f.Lock = base + ".lock.json"
	}
	return f, nil
}

func orNode(n, alt *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return alt
}

// LockPath is the lockfile's path, relative paths taken from the release
// file's directory.
func (f *File) LockPath() string { return f.rel(f.Lock) }

func (f *File) rel(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(f.Path), p)
}

// eachKey calls fn for each key of mapping n, refusing keys not in allowed
// and keys given twice.
func eachKey(path string, n *yaml.Node, what string, allowed []string, fn func(k string, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return lineError(path, n, "%s: want a mapping", what)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, v := n.Content[i], n.Content[i+1]
		k := kn.Value
		if kn.Kind != yaml.ScalarNode || !slices.Contains(allowed, k) {
			return lineError(path, kn, "field %s not found in %s (%s)", k, what, strings.Join(allowed, ", "))
		}
		if seen[k] {
			return lineError(path, kn, "field %s given twice in %s", k, what)
		}
		seen[k] = true
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

func scalar(path, k string, v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return "", lineError(path, v, "%s: want a string", k)
	}
	return v.Value, nil
}

// list reads a list of strings; a single scalar counts as a one-item list.
func list(path, k string, v *yaml.Node) ([]string, error) {
	if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		return []string{v.Value}, nil
	}
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		return nil, lineError(path, v, "%s: want a list of at least one string", k)
	}
	var out []string
	for _, c := range v.Content {
		if c.Kind != yaml.ScalarNode || c.Tag == "!!null" || c.Value == "" {
			return nil, lineError(path, c, "%s: want non-empty strings", k)
		}
		if slices.Contains(out, c.Value) {
			return nil, lineError(path, c, "%s: %s is listed twice", k, c.Value)
		}
		out = append(out, c.Value)
	}
	return out, nil
}

// set reads one matrix setting.
func (a *Axes) set(path, k string, v *yaml.Node) error {
	items, err := list(path, k, v)
	if err != nil {
		return err
	}
	if a.lines == nil {
		a.lines = map[string]int{}
	}
	a.lines[k] = v.Line
	switch k {
	case "distros":
		a.Distros = items
	case "platforms":
		for i, p := range items {
			arch, err := ParsePlatform(p)
			if err != nil {
				return lineError(path, itemNode(v, i), "platforms: %v", err)
			}
			if slices.Contains(a.Platforms, arch) {
				return lineError(path, itemNode(v, i), "platforms: %s is listed twice", arch)
			}
			a.Platforms = append(a.Platforms, arch)
		}
	case "users":
		for i, u := range items {
			if u != "root" && u != "nonroot" {
				if n, err := strconv.ParseUint(u, 10, 31); err != nil || strconv.FormatUint(n, 10) != u {
					return lineError(path, itemNode(v, i), "users: %q: want nonroot, root or a numeric UID", u)
				}
			}
		}
		a.Users = items
	case "debug":
		for i, s := range items {
			b, err := strconv.ParseBool(s)
			if err != nil || (s != "true" && s != "false") {
				return lineError(path, itemNode(v, i), "debug: %q: want false (the plain image) or true (the -debug variant)", s)
			}
			a.Debug = append(a.Debug, b)
		}
	case "tags":
		for i, t := range items {
			if err := checkTemplate(t); err != nil {
				return lineError(path, itemNode(v, i), "tags: %v", err)
			}
		}
		a.Tags = items
	}
	return nil
}

func itemNode(v *yaml.Node, i int) *yaml.Node {
	if v.Kind == yaml.SequenceNode && i < len(v.Content) {
		return v.Content[i]
	}
	return v
}

// ParsePlatform maps a platform of a release file to the OCI
// architecture gen builds; Platform by default, and the distroless
// package sets it to its own parser (every platform gen builds).
var ParsePlatform = Platform

// Platform maps a platform (linux/amd64, linux/arm64, linux/arm64/v8, or a
// bare amd64, arm64) to the architecture gen builds.
func Platform(p string) (string, error) {
	parts := strings.Split(p, "/")
	if len(parts) > 1 {
		if parts[0] != "linux" {
			return "", fmt.Errorf("%q: only linux platforms are built", p)
		}
		parts = parts[1:]
	}
	arch := parts[0]
	switch {
	case arch == "amd64" && len(parts) == 1, arch == "arm64" && (len(parts) == 1 || parts[1] == "v8") && len(parts) <= 2:
		return arch, nil
	}
	return "", fmt.Errorf("%q: want linux/amd64 or linux/arm64", p)
}

var placeholderRE = regexp.MustCompile(`\{([^{}]*)\}`)

// checkTemplate checks a tag template's placeholders and that it names a
// repository and a tag.
func checkTemplate(t string) error {
	for _, m := range placeholderRE.FindAllStringSubmatch(t, -1) {
		if !slices.Contains(Placeholders, m[1]) {
			return fmt.Errorf("%q: unknown placeholder {%s} (known: {%s})", t, m[1], strings.Join(Placeholders, "}, {"))
		}
	}
	rest := placeholderRE.ReplaceAllString(t, "x")
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("%q: unbalanced braces", t)
	}
	if strings.Contains(rest, "@") {
		return fmt.Errorf("%q: a tag template names a tag, not a digest", t)
	}
	slash := strings.LastIndexByte(rest, '/')
	if !strings.Contains(rest[slash+1:], ":") {
		return fmt.Errorf("%q: no tag (want REPOSITORY:TAG, e.g. {registry}/{name}-{distro}:{variant})", t)
	}
	return nil
}

func decodeEntry(path string, n *yaml.Node) (Entry, error) {
	e := Entry{Line: n.Line}
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		e.Profile = n.Value // - python3
	} else {
		err := eachKey(path, n, "an images entry", append(append([]string{"profile", "file", "name", "distros", "platforms", "users", "debug", "tags"}, settingKeys...), appKeys...), func(k string, v *yaml.Node) error {
			if slices.Contains(settingKeys, k) {
				return e.Settings.set(path, k, v)
			}
			if isAppKey(k) {
				return e.App.set(path, k, v)
			}
			switch k {
			case "profile", "file", "name":
				s, err := scalar(path, k, v)
				if err != nil {
					return err
				}
				if s == "" {
					return lineError(path, v, "%s is empty", k)
				}
				switch k {
				case "profile":
					e.Profile = s
				case "file":
					e.File = s
				case "name":
					e.Name = s
				}
				return nil
			}
			return e.Axes.set(path, k, v)
		})
		if err != nil {
			return e, err
		}
	}
	if (e.Profile == "") == (e.File == "") {
		return e, lineError(path, n, "an images entry gives exactly one of profile (a built-in profile) or file (a profile file)")
	}
	if strings.HasSuffix(e.Profile, "-debug") {
		return e, lineError(path, n, "profile %s: name the plain profile and say debug: [true] (or [false, true]) for the -debug variant", e.Profile)
	}
	if e.File != "" && slices.Contains(e.Axes.Debug, true) {
		return e, lineError(path, n, "file %s: the debug variant is for built-in profiles; add busybox-static and generate: [busybox-links] to the profile file instead", e.File)
	}
	if e.Name == "" {
		e.Name = e.Profile
		if e.File != "" {
			b := filepath.Base(e.File)
			e.Name = strings.TrimSuffix(strings.TrimSuffix(b, ".yaml"), ".yml")
		}
	}
	if !nameRE.MatchString(e.Name) {
		return e, lineError(path, n, "name %q: want lower-case letters, digits and . _ - (it goes into repository names)", e.Name)
	}
	return e, nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*$`)
