package distro

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"go.yaml.in/yaml/v3"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/packages/rpm"
)

//go:embed builtin/*.yaml
var embedded embed.FS

// Distro is one distro definition: a built-in one, or a distro file
// (Load) that points at the user's own mirrors or repositories.
type Distro struct {
	Name          string   `yaml:"name"`
	Format        string   `yaml:"format"` // deb or rpm
	Preference    int      `yaml:"preference"`
	Architectures []string `yaml:"architectures"`
	// Keyring is the signing keys' file (armored or binary OpenPGP; a
	// relative path is relative to the distro file), or, for deb,
	// "debian": the Debian archive keys embedded in the binary.
	Keyring string `yaml:"keyring"`
	// KeyringURLs are where the distro publishes its keys (https); they
	// are downloaded when no keyring file is given, and accepted only
	// with a pinned fingerprint.
	KeyringURLs []string `yaml:"keyring-urls"`
	// Fingerprints pin the signing keys: only keys with one of these
	// primary fingerprints are used, whatever file or URL they come from.
	Fingerprints []string `yaml:"fingerprints"`

	// deb: the suites and their components.
	Components []string `yaml:"components"`
	Suites     []Suite  `yaml:"suites"`

	// rpm: the repositories, and whether they sign repomd.xml.
	Repos []Repo `yaml:"repos"`
	// SignedMetadata (default true) says each repository publishes
	// repodata/repomd.xml.asc, which must verify with the keyring. When
	// false (the big RPM distros sign packages, not metadata), every
	// repository URL must be https and every package's own signature is
	// verified against the keyring before it is used.
	SignedMetadata *bool `yaml:"signed-metadata"`
	// RPMDB is the directory of the rpm database images get (rpm's
	// %_dbpath); default /usr/lib/sysimage/rpm.
	RPMDB string `yaml:"rpmdb"`

	// LibraryPath is the dynamic loader's built-in search path, for the
	// library check; default: Debian's multiarch directories for deb,
	// /lib64 and /usr/lib64 for rpm.
	LibraryPath []string          `yaml:"library-path"`
	OSRelease   map[string]string `yaml:"os-release"`
	// ReleaseFiles are more files that tell the OS, written next to
	// os-release: absolute path → content (the RPM family's
	// /etc/redhat-release and the like, which image scanners read).
	ReleaseFiles map[string]string `yaml:"release-files"`

	// dir is the directory of the distro file, for relative paths.
	dir string
	// keys are the verified keys Open loaded, for Payload.
	keys *keyState
}

type keyState struct {
	mu   sync.Mutex
	keys openpgp.EntityList
}

// Suite is one suite of a Debian-format distro. Mirror says which mirror
// setting serves it ("archive" or "security"); a distro file may give
// its archive's URL instead.
type Suite struct {
	Name   string `yaml:"name"`
	Mirror string `yaml:"mirror"`
	URL    string `yaml:"url"`
}

// Repo is one repository of an RPM-format distro: a name and its base
// URL (the directory holding repodata/), in which {arch} stands for the
// rpm architecture (x86_64, aarch64).
type Repo struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
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

// DefaultRPMDB is where images get the rpm database by default.
const DefaultRPMDB = "/usr/lib/sysimage/rpm"

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
	sort.SliceStable(out, func(i, j int) bool { return out[i].Preference < out[j].Preference })
	return out
}

// Decode reads a distro definition strictly.
func Decode(name string, data []byte) (*Distro, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	d := Distro{keys: &keyState{}}
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("distro %s: %w", name, err)
	}
	fail := func(format string, args ...any) (*Distro, error) {
		return nil, fmt.Errorf("distro %s: %s", name, fmt.Sprintf(format, args...))
	}
	switch {
	case d.Name == "":
		return fail("field name is missing")
	case d.Format != "deb" && d.Format != "rpm":
		return fail("format %q is not supported (want deb or rpm)", d.Format)
	case len(d.Architectures) == 0:
		return fail("no architectures")
	}
	for _, a := range d.Architectures {
		if _, err := rpm.Arch(a); err != nil {
			return fail("architecture %q: want an OCI architecture name (amd64, arm64, …)", a)
		}
	}
	if d.Keyring == "" && len(d.KeyringURLs) == 0 && d.Format == "deb" {
		d.Keyring = "debian" // Debian's archive keys, embedded
	}
	if d.Keyring == "" && len(d.KeyringURLs) == 0 {
		return fail("no keyring (a file, or keyring-urls with fingerprints)")
	}
	if len(d.KeyringURLs) > 0 && len(d.Fingerprints) == 0 {
		return fail("keyring-urls need fingerprints: a downloaded key is accepted only when its fingerprint is pinned")
	}
	for i, u := range d.KeyringURLs {
		if !strings.HasPrefix(u, "https://") {
			return fail("keyring-urls[%d] %q is not https", i, u)
		}
	}
	for i, fp := range d.Fingerprints {
		if n := normFingerprint(fp); len(n) != 40 && len(n) != 64 || strings.Trim(n, "0123456789ABCDEF") != "" {
			return fail("fingerprints[%d] %q is not a key fingerprint (40 or 64 hex digits)", i, fp)
		}
	}
	for p := range d.ReleaseFiles {
		if !strings.HasPrefix(p, "/etc/") || path.Clean(p) != p {
			return fail("release-files: %q is not a clean path under /etc", p)
		}
	}
	if d.Format == "deb" {
		if len(d.Repos) > 0 || d.SignedMetadata != nil || d.RPMDB != "" {
			return fail("repos, signed-metadata and rpmdb are for rpm distros (a deb distro has suites)")
		}
		if len(d.Suites) == 0 {
			return fail("no suites")
		}
		for i, s := range d.Suites {
			switch {
			case s.Name == "" || strings.Contains(s.Name, ".."):
				return fail("suites[%d]: bad name %q", i, s.Name)
			case s.URL != "" && s.Mirror != "":
				return fail("suites[%d]: give mirror or url, not both", i)
			case s.URL != "":
				if !isURL(s.URL) {
					return fail("suites[%d].url %q is not an http(s) URL", i, s.URL)
				}
			case s.Mirror != "archive" && s.Mirror != "security":
				return fail("suites[%d].mirror must be archive or security, not %q", i, s.Mirror)
			}
		}
		return &d, nil
	}
	if len(d.Suites) > 0 || len(d.Components) > 0 {
		return fail("suites and components are for deb distros (an rpm distro has repos)")
	}
	if d.Keyring == "debian" {
		return fail("keyring debian is the Debian archive keyring; an rpm distro needs its own")
	}
	if len(d.Repos) == 0 {
		return fail("no repos")
	}
	seen := map[string]bool{}
	for i, r := range d.Repos {
		switch {
		case r.Name == "" || seen[r.Name]:
			return fail("repos[%d]: missing or repeated name %q", i, r.Name)
		case !isURL(r.URL):
			return fail("repos[%d].url %q is not an http(s) URL", i, r.URL)
		case !d.signedMetadata() && !strings.HasPrefix(r.URL, "https://"):
			return fail("repos[%d].url %q is not https, and signed-metadata is false: nothing would protect its metadata", i, r.URL)
		}
		seen[r.Name] = true
	}
	if d.RPMDB != "" && !strings.HasPrefix(d.RPMDB, "/") {
		return fail("rpmdb %q must be an absolute path", d.RPMDB)
	}
	return &d, nil
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

func (d *Distro) signedMetadata() bool { return d.SignedMetadata == nil || *d.SignedMetadata }

// Load reads a distro file: a definition in the built-in distros'
// schema, whose relative keyring path is relative to the file.
func Load(path string) (*Distro, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("distro file: %w", err)
	}
	d, err := Decode(path, data)
	if err != nil {
		return nil, err
	}
	if d.Keyring == "debian" && d.Format == "deb" {
		return d, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	d.dir = filepath.Dir(abs)
	return d, nil
}

// IsFile reports whether a --distro value names a distro file rather
// than a built-in distro.
func IsFile(s string) bool {
	return strings.HasSuffix(s, ".yaml") || strings.HasSuffix(s, ".yml") || strings.ContainsRune(s, filepath.Separator)
}

// Find returns the built-in distro with that name, or the distro file
// at that path.
func Find(nameOrFile string) (*Distro, error) {
	if IsFile(nameOrFile) {
		return Load(nameOrFile)
	}
	return Get(nameOrFile)
}

// WithKeyring returns a copy of d that reads its keys from the file at
// path (--keyring); the fingerprints d pins still apply.
func (d *Distro) WithKeyring(path string) *Distro {
	c := *d
	c.Keyring, c.dir, c.keys = path, "", &keyState{}
	return &c
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
	return nil, fmt.Errorf("unknown distro %q; built-in distros: %s (or give a distro file, FILE.yaml)", name, strings.Join(names, ", "))
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

// NeedsMirrors reports whether opening d uses the mirror settings.
func (d *Distro) NeedsMirrors() bool {
	if d.Format != "deb" {
		return false
	}
	for _, s := range d.Suites {
		if s.URL == "" {
			return true
		}
	}
	return false
}

// Index is an opened package index of a distro.
type Index interface {
	packages.Index
	// Sources lists the index files it was built from, for lockfiles.
	Sources() []packages.IndexFile
}

// Payload returns the reader of the distro's package files; cacheDir, when
// set, keeps decoded payloads for later builds. For an rpm distro whose
// metadata is not signed, the packages' signatures are checked against
// the keys Open loaded (a build from a lockfile, which opens no index,
// relies on the lockfile's pinned digests, as for deb).
func (d *Distro) Payload(cacheDir string) packages.Payload {
	if d.Format != "rpm" {
		return deb.Payload{CacheDir: cacheDir}
	}
	p := rpm.Payload{CacheDir: cacheDir, DBPath: d.RPMDB}
	if p.DBPath == "" {
		p.DBPath = DefaultRPMDB
	}
	if !d.signedMetadata() {
		d.keys.mu.Lock()
		p.Keyring = d.keys.keys
		d.keys.mu.Unlock()
	}
	return p
}

// LibraryDirs is the dynamic loader's built-in search path for the
// library check (nil: the assembler's default, Debian's).
func (d *Distro) LibraryDirs() []string {
	if len(d.LibraryPath) > 0 || d.Format != "rpm" {
		return d.LibraryPath
	}
	return []string{"/lib64", "/usr/lib64"}
}

// keyring loads the distro's signing keys: the keyring file (a built-in
// deb distro's "debian" is the embedded Debian archive keyring), else
// the keys downloaded from KeyringURLs (cached); either way only keys
// with a pinned fingerprint, when the distro pins any.
func (d *Distro) keyring(ctx context.Context, c *fetch.Cache) (openpgp.EntityList, error) {
	switch {
	case d.Keyring == "debian" && d.Format == "deb":
		el, err := deb.DebianKeyring()
		if err != nil {
			return nil, err
		}
		return pinKeys("the Debian archive keyring", el, d.Fingerprints)
	case d.Keyring != "":
		p := d.Keyring
		if !filepath.IsAbs(p) && d.dir != "" {
			p = filepath.Join(d.dir, p)
		}
		return readKeyringFile(p, d.Fingerprints)
	}
	el, err := fetchKeyring(ctx, c, d.KeyringURLs, d.Fingerprints)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (or give the key with --keyring FILE)", d.Name, err)
	}
	return el, nil
}

// Open opens the distro's index for arch. Only the mirror settings its
// suites use must be set.
func (d *Distro) Open(ctx context.Context, c *fetch.Cache, arch string, m Mirrors) (Index, error) {
	if !slices.Contains(d.Architectures, arch) {
		return nil, fmt.Errorf("%s has no architecture %q (it has %s)", d.Name, arch, strings.Join(d.Architectures, ", "))
	}
	keyring, err := d.keyring(ctx, c)
	if err != nil {
		return nil, err
	}
	if d.Format == "rpm" {
		return d.openRPM(ctx, c, arch, keyring)
	}
	spec := deb.Spec{Name: d.Name, Keyring: keyring, Arch: arch, Now: time.Now()}
	for _, s := range d.Suites {
		base := s.URL
		if base == "" {
			var flag, env string
			base, flag, env = m.Archive, "--mirror", EnvMirror
			if s.Mirror == "security" {
				base, flag, env = m.Security, "--security-mirror", EnvSecurityMirror
			}
			if base == "" {
				return nil, fmt.Errorf("%s: no %s mirror for suite %s: set %s or %s, or add one to the host's apt sources", d.Name, s.Mirror, s.Name, flag, env)
			}
		}
		spec.Suites = append(spec.Suites, deb.Suite{Mirror: strings.TrimRight(base, "/"), Name: s.Name, Components: d.Components})
	}
	ix, err := deb.Open(ctx, c, spec)
	if err != nil {
		return nil, err
	}
	return ix, nil
}

func (d *Distro) openRPM(ctx context.Context, c *fetch.Cache, arch string, keyring openpgp.EntityList) (Index, error) {
	rarch, err := rpm.Arch(arch)
	if err != nil {
		return nil, err
	}
	spec := rpm.Spec{Name: d.Name, Keyring: keyring, Arch: rarch, UnsignedMetadata: !d.signedMetadata(), Now: time.Now()}
	for _, r := range d.Repos {
		spec.Repos = append(spec.Repos, rpm.Repo{Name: r.Name, URL: strings.ReplaceAll(r.URL, "{arch}", rarch)})
	}
	ix, err := rpm.Open(ctx, c, spec)
	if err != nil {
		return nil, err
	}
	d.keys.mu.Lock()
	d.keys.keys = keyring
	d.keys.mu.Unlock()
	return ix, nil
}
