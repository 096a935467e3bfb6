package distro

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb"
	"github.com/distroless-dev/distroless/packages/fetch"
)

//go:embed builtin/*.yaml
var embedded embed.FS

// Distro is one distro definition.
type Distro struct {
	Name          string            `yaml:"name"`
	Format        string            `yaml:"format"`
	Preference    int               `yaml:"preference"`
	Architectures []string          `yaml:"architectures"`
	Keyring       string            `yaml:"keyring"`
	Components    []string          `yaml:"components"`
	Suites        []Suite           `yaml:"suites"`
	OSRelease     map[string]string `yaml:"os-release"`
}

// Suite is one suite of a Debian-format distro; Mirror says which mirror
// setting serves it: "archive" or "security".
type Suite struct {
	Name   string `yaml:"name"`
	Mirror string `yaml:"mirror"`
}

// Mirrors are the base URLs the user configured (or the host's apt
// sources name).
type Mirrors struct {
	Archive  string
	Security string
}

// Env names the environment variables that set mirrors.
const (
	EnvMirror         = "DISTROLESS_DEBIAN_MIRROR"
	EnvSecurityMirror = "DISTROLESS_DEBIAN_SECURITY_MIRROR"
)

var builtins = mustLoad()

func mustLoad() []*Distro {
	entries, err := fs.ReadDir(embedded, "builtin")
	if err != nil {
		panic(err) // embedded at build time
	}
	var out []*Distro
	for _, e := range entries {
		data, _ := embedded.ReadFile("builtin/" + e.Name())
		d, err := Decode(e.Name(), data)
		if err != nil {
			panic(err) // a broken built-in definition is a build defect, caught by the tests
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Preference < out[j].Preference })
	return out
}

// Decode reads a distro definition strictly.
func Decode(name string, data []byte) (*Distro, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var d Distro
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("distro %s: %w", name, err)
	}
	switch {
	case d.Name == "":
		return nil, fmt.Errorf("distro %s: field name is missing", name)
	case d.Format != "deb":
		return nil, fmt.Errorf("distro %s: format %q is not supported (want deb)", name, d.Format)
	case len(d.Suites) == 0:
		return nil, fmt.Errorf("distro %s: no suites", name)
	case len(d.Architectures) == 0:
		return nil, fmt.Errorf("distro %s: no architectures", name)
	}
	for i, s := range d.Suites {
		if s.Mirror != "archive" && s.Mirror != "security" {
			return nil, fmt.Errorf("distro %s: suites[%d].mirror must be archive or security, not %q", name, i, s.Mirror)
		}
	}
	return &d, nil
}

// Builtins returns the built-in distros, most preferred first.
func Builtins() []*Distro { return builtins }

// Default is the distro used when none is named: the most preferred.
func Default() *Distro { return builtins[0] }

// Get returns the built-in distro with that name.
func Get(name string) (*Distro, error) {
	var names []string
	for _, d := range builtins {
		if d.Name == name {
			return d, nil
		}
		names = append(names, d.Name)
	}
	return nil, fmt.Errorf("unknown distro %q; built-in distros: %s", name, strings.Join(names, ", "))
}

// ResolveMirrors fills in mirrors not given explicitly: from the
// environment, else from the host's apt sources. root is the host's root
// directory ("/" outside tests).
func ResolveMirrors(m Mirrors, root string) (Mirrors, error) {
	if m.Archive == "" {
		m.Archive = os.Getenv(EnvMirror)
	}
	if m.Security == "" {
		m.Security = os.Getenv(EnvSecurityMirror)
	}
	if m.Archive != "" && m.Security != "" {
		return m, nil
	}
	archive, security, err := deb.HostMirrors(root)
	if m.Archive == "" {
		m.Archive = archive
	}
	if m.Security == "" {
		m.Security = security
	}
	return m, err
}

// Index is an opened package index of a distro.
type Index interface {
	packages.Index
	// Sources lists the index files it was built from, for lockfiles.
	Sources() []packages.IndexFile
}

// Payload returns the reader of the distro's package files; cacheDir, when
// set, keeps decoded payloads for later builds.
func (d *Distro) Payload(cacheDir string) packages.Payload {
	return deb.DebPayload{CacheDir: cacheDir}
}

// Open opens the distro's index for arch. Only the mirror settings its
// suites use must be set.
func (d *Distro) Open(ctx context.Context, c *fetch.Cache, arch string, m Mirrors) (Index, error) {
	if !slices.Contains(d.Architectures, arch) {
		return nil, fmt.Errorf("%s has no architecture %q (it has %s)", d.Name, arch, strings.Join(d.Architectures, ", "))
	}
	keyring, err := deb.DebianKeyring()
	if err != nil {
		return nil, err
	}
	spec := deb.Spec{Name: d.Name, Keyring: keyring, Arch: arch, Now: time.Now()}
	for _, s := range d.Suites {
		base, flag, env := m.Archive, "--mirror", EnvMirror
		if s.Mirror == "security" {
			base, flag, env = m.Security, "--security-mirror", EnvSecurityMirror
		}
		if base == "" {
			return nil, fmt.Errorf("%s: no %s mirror for suite %s: set %s or %s, or add one to the host's apt sources", d.Name, s.Mirror, s.Name, flag, env)
		}
		spec.Suites = append(spec.Suites, deb.Suite{Mirror: strings.TrimRight(base, "/"), Name: s.Name, Components: d.Components})
	}
	ix, err := deb.Open(ctx, c, spec)
	if err != nil {
		return nil, err
	}
	return ix, nil
}
