package profiles

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/distroless-dev/distroless/packages"
)

//go:embed builtin/*.yaml prune/*.yaml
var embedded embed.FS

// Profile is one profile file. String fields may hold {var} placeholders
// that a template or alias fills in.
type Profile struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Extends     string `yaml:"extends"`
	// Format, when set, makes this profile the one for distros of that
	// package format (deb, rpm): a name may have a profile per format,
	// and one without a format serves the formats that have none.
	Format string `yaml:"format"`
	Alias  string `yaml:"alias"`
	// Variant makes this profile a variant: NAME+Variant (python3-debug)
	// is NAME with this profile as one more level on top.
	Variant    string            `yaml:"variant"`
	Template   *Template         `yaml:"template"`
	Vars       map[string]VarDef `yaml:"vars"`
	Distros    []string          `yaml:"distros"`
	Packages   []PackageRef      `yaml:"packages"`
	Prune      []PruneRule       `yaml:"prune"`
	PruneFiles []string          `yaml:"prune-files"`
	Entrypoint []string          `yaml:"entrypoint"`
	Cmd        []string          `yaml:"cmd"`
	Env        map[string]string `yaml:"env"`
	User       string            `yaml:"user"`
	Workdir    string            `yaml:"workdir"`
	Labels     map[string]string `yaml:"labels"`
	Files      []File            `yaml:"files"`
	// Accounts are users and groups this profile's layer adds to
	// /etc/passwd and /etc/group.
	Accounts *Accounts `yaml:"accounts"`
	// Dir is the directory of the profile's file, which files' src
	// paths are relative to ("" for a built-in profile).
	Dir string `yaml:"-"`
	// Generate names files the build makes in Go for this profile's layer
	// (what maintainer scripts would have done), e.g. ld.so.cache.
	Generate []string `yaml:"generate"`
	// PythonBytecode compiles the .py files of this profile's layer under
	// /usr/lib*/python3* to hash-based .pyc (PEP 552, checked-hash) with
	// the image's own interpreters, as Debian's py3compile does at install
	// time; the .pyc files go into the same layer.
	PythonBytecode bool `yaml:"python-bytecode"`
	// PythonRequirements, PythonWheels and PythonIndex are gen's
	// --python-requirements, --python-wheels and --python-index for an
	// image of this profile file (paths relative to its directory); the
	// flags win. AppLibs false is --no-app-libs.
	PythonRequirements string `yaml:"python-requirements"`
	PythonWheels       string `yaml:"python-wheels"`
	PythonIndex        string `yaml:"python-index"`
	AppLibs            *bool  `yaml:"app-libs"`
	// NpmLock, NpmRegistry and AppDir are gen's --npm-lock,
	// --npm-registry and --app-dir (the lockfile's path relative to the
	// profile file's directory); the flags win.
	NpmLock     string `yaml:"npm-lock"`
	NpmRegistry string `yaml:"npm-registry"`
	AppDir      string `yaml:"app-dir"`

	file string // the file Decode read, for errors
}

// Template makes one profile file serve a family of names.
type Template struct {
	Var       string `yaml:"var"`
	Pattern   string `yaml:"pattern"`   // profile names served; group 1 is the value
	Available string `yaml:"available"` // index names; group 1 is a value the distro has
}

// VarDef computes a variable from the distro's index.
type VarDef struct {
	DependsOf string `yaml:"depends-of"` // look through this package's requirements
	Match     string `yaml:"match"`      // for a name matching this; group 1 is the value
}

// PackageRef names a root package. Written as a plain string, or as a map
// with name (or any: a list of names, the first the index has wins) and
// deps: false to take the package's files without its requirements.
type PackageRef struct {
	Name string   `yaml:"name"`
	Any  []string `yaml:"any"`
	Deps *bool    `yaml:"deps"`
	// Optional roots are left out on distros that do not have them.
	Optional bool `yaml:"optional"`

	line int // where the entry is in its file, for errors
}

// UnmarshalYAML accepts a plain name as well as the map form, strictly:
// node.Decode does not inherit the decoder's KnownFields, so unknown keys
// are checked here.
func (r *PackageRef) UnmarshalYAML(n *yaml.Node) error {
	r.line = n.Line
	if n.Kind == yaml.ScalarNode {
		r.Name = n.Value
		return nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch k := n.Content[i]; k.Value {
			case "name", "any", "deps", "optional":
			default:
				return fmt.Errorf("line %d: field %s not found in a packages entry (name, any, deps, optional)", k.Line, k.Value)
			}
		}
	}
	type plain PackageRef
	return n.Decode((*plain)(r))
}

// PruneRule is one entry of a prune list.
type PruneRule struct {
	Name   string `yaml:"name"`
	Reason string `yaml:"reason"`

	line int // where the entry is in its file, for errors
}

// UnmarshalYAML records the entry's line and checks its keys strictly
// (as PackageRef's does).
func (r *PruneRule) UnmarshalYAML(n *yaml.Node) error {
	r.line = n.Line
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch k := n.Content[i]; k.Value {
			case "name", "reason":
			default:
				return fmt.Errorf("line %d: field %s not found in a prune entry (name, reason)", k.Line, k.Value)
			}
		}
	}
	type plain PruneRule
	return n.Decode((*plain)(r))
}

// placeholder is a {var} a template or alias fills in.
var placeholder = regexp.MustCompile(`\{[A-Za-z0-9_-]+\}`)

// CheckNames checks the package names a profile gives (packages, any,
// prune) against g; a placeholder counts as a digit. Decode checks them
// against packages.AnyFormat; the format's own grammar is checked where
// the profile meets a distro (the distro's driver has it).
func (p *Profile) CheckNames(g packages.Grammar) error {
	file := p.file
	if file == "" {
		file = p.Name
	}
	check := func(where string, line int, s string, pattern bool) error {
		s = placeholder.ReplaceAllString(s, "0")
		var err error
		if pattern {
			err = g.CheckPattern(s)
		} else {
			err = g.CheckName(s)
		}
		if err != nil {
			return fmt.Errorf("profile %s: line %d: %s: %w", file, line, where, err)
		}
		return nil
	}
	for i, r := range p.Packages {
		if r.Name != "" {
			if err := check(fmt.Sprintf("packages[%d]", i), r.line, r.Name, false); err != nil {
				return err
			}
		}
		for j, n := range r.Any {
			if err := check(fmt.Sprintf("packages[%d].any[%d]", i, j), r.line, n, false); err != nil {
				return err
			}
		}
	}
	for i, r := range p.Prune {
		if err := check(fmt.Sprintf("prune[%d]", i), r.line, r.Name, true); err != nil {
			return err
		}
	}
	return nil
}

// File is a file a profile adds to its layer.
type File struct {
	Path    string `yaml:"path"`
	Link    string `yaml:"link"`    // a symlink to this target
	Content string `yaml:"content"` // a regular file with this content
	// Src is a file or directory on the build host copied to Path
	// (relative to the profile file's directory).
	Src  string `yaml:"src"`
	Mode string `yaml:"mode"` // octal, e.g. "0644"
	UID  int    `yaml:"uid"`
	GID  int    `yaml:"gid"`
}

// Accounts are the users and groups a profile adds.
type Accounts struct {
	Users  []User  `yaml:"users"`
	Groups []Group `yaml:"groups"`
}

// User is a user a profile adds: GID defaults to its UID, Home to
// /home/NAME, Shell to /sbin/nologin.
type User struct {
	Name  string `yaml:"name"`
	UID   *int   `yaml:"uid"`
	GID   *int   `yaml:"gid"`
	Home  string `yaml:"home"`
	Shell string `yaml:"shell"`
}

// Group is a group a profile adds.
type Group struct {
	Name string `yaml:"name"`
	GID  *int   `yaml:"gid"`
}

// Decode reads one profile file strictly: unknown fields are errors that
// name the field and line.
func Decode(name string, data []byte) (*Profile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("profile %s: %w", name, err)
	}
	if p.Name == "" {
		return nil, fmt.Errorf("profile %s: field name is missing", name)
	}
	if p.Format != "" && p.Format != "deb" && p.Format != "rpm" {
		return nil, fmt.Errorf("profile %s: format %q is not a package format (deb, rpm)", name, p.Format)
	}
	for i, r := range p.Packages {
		if (r.Name == "") == (len(r.Any) == 0) {
			return nil, fmt.Errorf("profile %s: packages[%d]: give exactly one of name or any", name, i)
		}
	}
	p.file = name
	if err := p.CheckNames(packages.AnyFormat); err != nil {
		return nil, err
	}
	for i, f := range p.Files {
		if !path.IsAbs(f.Path) {
			return nil, fmt.Errorf("profile %s: files[%d]: path %q must be absolute", name, i, f.Path)
		}
		if f.Mode != "" {
			if _, err := strconv.ParseUint(f.Mode, 8, 32); err != nil {
				return nil, fmt.Errorf("profile %s: files[%d]: mode %q is not octal", name, i, f.Mode)
			}
		}
		if f.Src != "" && (f.Link != "" || f.Content != "") {
			return nil, fmt.Errorf("profile %s: files[%d]: give one of src, link or content", name, i)
		}
	}
	if a := p.Accounts; a != nil {
		for i, u := range a.Users {
			if u.Name == "" || u.UID == nil {
				return nil, fmt.Errorf("profile %s: accounts.users[%d]: name and uid are required", name, i)
			}
		}
		for i, g := range a.Groups {
			if g.Name == "" || g.GID == nil {
				return nil, fmt.Errorf("profile %s: accounts.groups[%d]: name and gid are required", name, i)
			}
		}
	}
	if t := p.Template; t != nil {
		for _, re := range []string{t.Pattern, t.Available} {
			if _, err := regexp.Compile(re); err != nil {
				return nil, fmt.Errorf("profile %s: template: %w", name, err)
			}
		}
	}
	return &p, nil
}

var builtins = mustLoadBuiltins()

func mustLoadBuiltins() []*Profile {
	entries, err := fs.ReadDir(embedded, "builtin")
	if err != nil {
		panic(err) // embedded at build time; cannot fail at run time
	}
	var out []*Profile
	for _, e := range entries {
		data, err := embedded.ReadFile("builtin/" + e.Name())
		if err != nil {
			panic(err)
		}
		p, err := Decode(e.Name(), data)
		if err != nil {
			panic(err) // a broken built-in profile is a build defect, caught by the tests
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Format < out[j].Format
	})
	return out
}

// Builtins returns the built-in profiles, templates included, sorted.
func Builtins() []*Profile { return builtins }

// PruneList returns the prune list for a package format ("deb", "rpm").
func PruneList(format string) ([]PruneRule, error) {
	data, err := embedded.ReadFile("prune/" + format + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no prune list for package format %q", format)
	}
	var doc struct {
		Format string      `yaml:"format"`
		Prune  []PruneRule `yaml:"prune"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("prune list %s: %w", format, err)
	}
	return doc.Prune, nil
}

// Find returns the built-in profile serving name, and the template value
// when a template serves it, whatever its package format (one without a
// format first).
func Find(name string) (*Profile, string, error) { return FindFor(name, "") }

// FindFor is Find for distros of a package format: a profile written for
// that format wins over one written for none. format "" prefers
// profiles without a format, then takes any.
func FindFor(name, format string) (*Profile, string, error) {
	for _, p := range byFormat(format) {
		if p.Template == nil && p.Variant == "" && p.Name == name {
			return p, "", nil
		}
	}
	if v, base := variantOf(name, format); v != nil {
		if _, _, err := FindFor(base, format); err != nil {
			return nil, "", err
		}
		return v, base, nil
	}
	for _, p := range byFormat(format) {
		if p.Template == nil {
			continue
		}
		if m := regexp.MustCompile(p.Template.Pattern).FindStringSubmatch(name); m != nil {
			return p, m[1], nil
		}
	}
	var known []string
	for _, p := range builtins {
		if !slices.Contains(known, p.Name) {
			known = append(known, p.Name)
		}
	}
	return nil, "", fmt.Errorf("unknown profile %q; built-in profiles: %s", name, strings.Join(known, ", "))
}

// byFormat lists the built-in profiles in the order a format looks them
// up: those written for it, then those written for no format (for
// format "": those for no format, then the others).
func byFormat(format string) []*Profile {
	var own, generic, other []*Profile
	for _, p := range builtins {
		switch {
		case p.Format == "":
			generic = append(generic, p)
		case p.Format == format:
			own = append(own, p)
		default:
			other = append(other, p)
		}
	}
	if format == "" {
		return append(generic, other...)
	}
	return append(own, generic...)
}

// variantOf returns the variant profile whose suffix name carries, and the
// base profile name.
func variantOf(name, format string) (*Profile, string) {
	for _, p := range byFormat(format) {
		if p.Variant != "" && strings.HasSuffix(name, p.Variant) && len(name) > len(p.Variant) {
			return p, strings.TrimSuffix(name, p.Variant)
		}
	}
	return nil, ""
}

// Available lists the values a template has in an index (e.g. "11" for
// python3.11), sorted numerically where they are numbers.
func (p *Profile) Available(ix packages.Index) []string {
	if p.Template == nil || p.Template.Available == "" {
		return nil
	}
	re := regexp.MustCompile(p.Template.Available)
	var vals []string
	for _, n := range ix.Names() {
		if m := re.FindStringSubmatch(n); m != nil {
			vals = append(vals, m[1])
		}
	}
	sort.Slice(vals, func(i, j int) bool {
		a, errA := strconv.Atoi(vals[i])
		b, errB := strconv.Atoi(vals[j])
		if errA == nil && errB == nil {
			return a < b
		}
		return vals[i] < vals[j]
	})
	return vals
}

func (p *Profile) instantiate(vars map[string]string) *Profile {
	sub := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "{"+k+"}", v)
		}
		return s
	}
	subs := func(in []string) []string {
		if in == nil {
			return nil
		}
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = sub(s)
		}
		return out
	}
	q := *p
	q.Name, q.Extends, q.Alias, q.Description = sub(p.Name), sub(p.Extends), sub(p.Alias), sub(p.Description)
	q.Template = nil
	q.Entrypoint, q.Cmd = subs(p.Entrypoint), subs(p.Cmd)
	q.Packages = make([]PackageRef, len(p.Packages))
	for i, r := range p.Packages {
		q.Packages[i] = PackageRef{Name: sub(r.Name), Any: subs(r.Any), Deps: r.Deps, Optional: r.Optional}
	}
	q.Files = make([]File, len(p.Files))
	for i, f := range p.Files {
		f.Path, f.Link, f.Content = sub(f.Path), sub(f.Link), sub(f.Content)
		q.Files[i] = f
	}
	q.Env = map[string]string{}
	for k, v := range p.Env {
		q.Env[k] = sub(v)
	}
	return &q
}
