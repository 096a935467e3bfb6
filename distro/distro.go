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
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"go.yaml.in/yaml/v3"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
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

	// RefreshAfter is how old a cached signed index root (InRelease,
	// repomd.xml) may be before Open downloads it again: zero means the
	// format's default (an hour), negative means always (lock update).
	RefreshAfter time.Duration `yaml:"-"`

	// dir is the directory of the distro file, for relative paths.
	dir string
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

var builtins = mustLoad()

func mustLoad() []*Distro {
	entries, err := fs.ReadDir(embedded, "builtin")
	if err != nil {
		panic(err) // embedded at build time
	}
	var out []*Distro
	for _, e := range entries {
		data, _ := embedded.ReadFile("builtin/" + e.Name())
		d, err := decode(e.Name(), data)
		if err != nil {
			panic(err) // a broken built-in definition is a build defect, caught by the tests
		}
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Preference < out[j].Preference })
	return out
}

// decode reads a distro definition strictly.
func decode(name string, data []byte) (*Distro, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var d Distro
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("distro %s: %w", name, err)
	}
	fail := func(format string, args ...any) (*Distro, error) {
		return nil, fmt.Errorf("distro %s: %s", name, fmt.Sprintf(format, args...))
	}
	if d.Name == "" {
		return fail("field name is missing")
	}
	drv, ok := drivers[d.Format]
	if !ok {
		return fail("format %q is not supported (want %s)", d.Format, formats())
	}
	if len(d.Architectures) == 0 {
		return fail("no architectures")
	}
	for _, a := range d.Architectures {
		if _, err := drv.arch(a); err != nil {
			return fail("architecture %q: want an OCI architecture name (amd64, arm64, …)", a)
		}
	}
	if d.Keyring == "" && len(d.KeyringURLs) == 0 {
		d.Keyring = drv.defaultKeyring()
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
	if err := drv.check(&d, func(format string, args ...any) error {
		_, err := fail(format, args...)
		return err
	}); err != nil {
		return nil, err
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
	d, err := decode(path, data)
	if err != nil {
		return nil, err
	}
	if _, _, embedded, _ := d.drv().embeddedKeyring(d.Keyring); embedded {
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
	c.Keyring, c.dir = path, ""
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

// NeedsMirrors reports whether opening d uses the mirror settings (an
// RPM distro, or a Debian one whose suites all give URLs, does not).
func (d *Distro) NeedsMirrors() bool { return d.drv().needsMirrors(d) }

// Index is an opened package index of a distro.
type Index interface {
	packages.Index
	// Sources lists the index files it was built from, for lockfiles.
	Sources() []packages.IndexFile
}

// Payload returns the reader of the distro's package files (which is
// also the format's package database, packages.PackageDB); cacheDir, when
// set, keeps decoded payloads for later builds. keys are those Open
// returned (nil for a build from a lockfile, which opens no index): an
// rpm distro whose metadata is not signed checks each package's own
// signature against them; without them it relies, as deb always does,
// on the digests the signed index or the lockfile pins.
func (d *Distro) Payload(cacheDir string, keys Keys) packages.Payload {
	return d.drv().payload(d, cacheDir, keys)
}

// LibraryDirs is the dynamic loader's built-in search path for the
// library check (nil: the assembler's default, Debian's).
func (d *Distro) LibraryDirs() []string { return d.drv().libraryDirs(d) }

// LocalCA is where the distro's trust store takes an administrator's CA
// certificates (PEM), and the file name suffix they need there: Debian's
// /usr/local/share/ca-certificates and .crt (update-ca-certificates),
// the RPM family's /etc/pki/ca-trust/source/anchors (update-ca-trust).
// The image's trust generators make the bundles from what is there.
func (d *Distro) LocalCA() (dir, suffix string) { return d.drv().localCA() }

// Grammar is the spelling of d's format's package names, versions and
// architectures.
func (d *Distro) Grammar() packages.Grammar { return d.drv().grammar() }

// GrammarOf is the grammar of the package format named format ("deb",
// "rpm"); ok is false for any other.
func GrammarOf(format string) (g packages.Grammar, ok bool) {
	dr, ok := drivers[format]
	if !ok {
		return nil, false
	}
	return dr.grammar(), true
}

// Purl is how d's format's packages are named in a purl.
func (d *Distro) Purl() packages.PurlSpelling { return d.drv().purl() }

// keyring loads the distro's signing keys: the keyring file (or the keys
// the binary embeds for its name, as for deb's "debian"), else the keys
// downloaded from KeyringURLs (cached); either way only keys with a
// pinned fingerprint, when the distro pins any.
func (d *Distro) keyring(ctx context.Context, c *fetch.Cache) (openpgp.EntityList, error) {
	el, what, embedded, err := d.drv().embeddedKeyring(d.Keyring)
	switch {
	case err != nil:
		return nil, err
	case embedded:
		return pinKeys(what, el, d.Fingerprints)
	case d.Keyring != "":
		p := d.Keyring
		if !filepath.IsAbs(p) && d.dir != "" {
			p = filepath.Join(d.dir, p)
		}
		return readKeyringFile(p, d.Fingerprints)
	}
	el, err = fetchKeyring(ctx, c, d.KeyringURLs, d.Fingerprints)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (or give the key with Options.Keyring)", d.Name, err)
	}
	return el, nil
}

// Open opens the distro's index for arch (an OCI architecture name) and
// returns it with the verified keys it was checked against (for
// Payload). Only the mirror settings its suites use must be set.
func (d *Distro) Open(ctx context.Context, c *fetch.Cache, arch string, m Mirrors) (Index, Keys, error) {
	return d.open(ctx, c, arch, m, false)
}

// OpenDeferred is Open, but an index that can (a Debian one) only
// verifies its signed root (the InRelease files, which name every
// Packages file's digest) and loads the rest on its first use or its
// Load(ctx) method (the index is then a Loader); Sources is complete at
// once.
func (d *Distro) OpenDeferred(ctx context.Context, c *fetch.Cache, arch string, m Mirrors) (Index, Keys, error) {
	return d.open(ctx, c, arch, m, true)
}

// Loader is an index opened by OpenDeferred whose files are yet to be
// loaded.
type Loader interface {
	Load(ctx context.Context) error
	Loaded() bool
}

func (d *Distro) open(ctx context.Context, c *fetch.Cache, arch string, m Mirrors, deferLoad bool) (Index, Keys, error) {
	if !slices.Contains(d.Architectures, arch) {
		return nil, nil, fmt.Errorf("%s has no architecture %q (it has %s)", d.Name, arch, strings.Join(d.Architectures, ", "))
	}
	drv := d.drv()
	farch, err := drv.arch(arch)
	if err != nil {
		return nil, nil, err
	}
	keys, err := d.keyring(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	ix, err := drv.open(ctx, c, d, farch, keys, m, deferLoad)
	if err != nil {
		return nil, nil, err
	}
	return ix, keys, nil
}
