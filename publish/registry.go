package publish

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RegistryOptions are the settings of registry access, read the way
// podman and skopeo read theirs (containers-registries.conf(5),
// containers-certs.d(5), containers-auth.json(5)).
type RegistryOptions struct {
	// Insecure lets every registry be reached over plain HTTP and with a
	// TLS certificate that is not verified (--insecure). A registry that
	// registries.conf marks insecure = true is reached so without it.
	Insecure bool
	// CertDir, when set, is the one directory whose CA certificates
	// (*.crt) and client certificate (*.cert with its *.key) are used for
	// every registry, as podman's --cert-dir; otherwise the registry's
	// HOST[:PORT] directory of the certs.d directories is.
	CertDir string
	// Keychain finds credentials; nil means authKeychain (podman's auth
	// files, then docker's config).
	Keychain authn.Keychain
	// BlobMemory is a file recording which repository of each registry
	// received each layer, so that a later push of the layer to another
	// repository of that registry mounts it from there instead of
	// uploading it. "" keeps the record for this process only.
	BlobMemory string
	// Timeout bounds each wait on a registry: connecting, the TLS
	// handshake, the response headers, a pause while sending a request
	// body (an upload the registry stops taking) or while reading a
	// response body. A request that waited that long is not retried.
	// Zero means defaultRegistryTimeout.
	Timeout time.Duration
}

// defaultRegistryTimeout is RegistryOptions.Timeout's default, the same
// as downloads'.
const defaultRegistryTimeout = 30 * time.Second

func (o RegistryOptions) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return defaultRegistryTimeout
}

// Where podman's configuration lives; variables so that tests can move
// them.
var (
	registriesConfFile = "/etc/containers/registries.conf"
	registriesConfDir  = "/etc/containers/registries.conf.d"
	systemCertsDirs    = []string{"/etc/containers/certs.d", "/etc/docker/certs.d"}
)

// userConfigDir is $XDG_CONFIG_HOME, else ~/.config ("" when neither is
// known).
func userConfigDir() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".config")
	}
	return ""
}

// registryConf is what registries.conf says of one registry.
type registryConf struct {
	Prefix   string `toml:"prefix"`
	Location string `toml:"location"`
	Insecure bool   `toml:"insecure"`
	Blocked  bool   `toml:"blocked"`
	file     string
}

// registriesConf is the registries.conf files, in the order they apply.
type registriesConf struct {
	entries []registryConf
	// insecure and blocked are the V1 format's lists of hosts.
	insecure, blocked map[string]string // host → file
}

// registriesConfFiles is the files registries.conf settings come from:
// $CONTAINERS_REGISTRIES_CONF if set, else the user's registries.conf if
// there is one, else the system's; then the drop-in *.conf files of the
// system's and the user's registries.conf.d, in name order.
func registriesConfFiles() []string {
	main := os.Getenv("CONTAINERS_REGISTRIES_CONF")
	user := userConfigDir()
	if main == "" {
		main = registriesConfFile
		if user != "" {
			if p := filepath.Join(user, "containers", "registries.conf"); fileExists(p) {
				main = p
			}
		}
	}
	files := []string{main}
	dirs := []string{registriesConfDir}
	if user != "" {
		dirs = append(dirs, filepath.Join(user, "containers", "registries.conf.d"))
	}
	for _, d := range dirs {
		drop, _ := filepath.Glob(filepath.Join(d, "*.conf"))
		sort.Strings(drop)
		files = append(files, drop...)
	}
	return files
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// loadRegistriesConf reads the registries.conf files; a missing one is
// skipped, one that cannot be read or parsed is an error naming it. A
// later file's entry for a prefix replaces an earlier one's.
func loadRegistriesConf() (*registriesConf, error) {
	rc := &registriesConf{insecure: map[string]string{}, blocked: map[string]string{}}
	for _, f := range registriesConfFiles() {
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("registries.conf %s: %w", f, err)
		}
		var c struct {
			Registry   []registryConf `toml:"registry"`
			Registries struct {
				Insecure struct {
					Registries []string `toml:"registries"`
				} `toml:"insecure"`
				Block struct {
					Registries []string `toml:"registries"`
				} `toml:"block"`
			} `toml:"registries"`
		}
		if _, err := toml.Decode(string(b), &c); err != nil {
			return nil, fmt.Errorf("registries.conf %s: %w", f, err)
		}
		for _, e := range c.Registry {
			e.file = f
			if e.Prefix == "" {
				e.Prefix = e.Location
			}
			if e.Prefix == "" {
				return nil, fmt.Errorf("registries.conf %s: a [[registry]] with neither prefix nor location", f)
			}
			rc.entries = slices.DeleteFunc(rc.entries, func(o registryConf) bool { return o.Prefix == e.Prefix })
			rc.entries = append(rc.entries, e)
		}
		for _, h := range c.Registries.Insecure.Registries {
			rc.insecure[h] = f
		}
		for _, h := range c.Registries.Block.Registries {
			rc.blocked[h] = f
		}
	}
	return rc, nil
}

// lookup is the entry for repo ("HOST[:PORT]/PATH"): the one with the
// longest prefix that matches it (a prefix matches itself and what
// follows it after a "/"; *.DOMAIN matches the hosts under DOMAIN), and
// whether there is one. V1 lists count as entries for their host.
func (rc *registriesConf) lookup(repo string) (registryConf, bool) {
	host, _, _ := strings.Cut(repo, "/")
	var best registryConf
	found := false
	for _, e := range rc.entries {
		p := e.Prefix
		match := repo == p || strings.HasPrefix(repo, p+"/")
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			h, _, _ := strings.Cut(host, ":")
			match = strings.HasSuffix(h, "."+rest)
		}
		if match && (!found || len(p) > len(best.Prefix)) {
			best, found = e, true
		}
	}
	if !found {
		if f, ok := rc.insecure[host]; ok {
			best, found = registryConf{Prefix: host, Insecure: true, file: f}, true
		}
		if f, ok := rc.blocked[host]; ok {
			best, found = registryConf{Prefix: host, Blocked: true, Insecure: best.Insecure, file: f}, true
		}
	}
	return best, found
}

// registryRef parses a registry output, REGISTRY/REPO[:TAG|@DIGEST],
// and applies registries.conf to it: a blocked registry is an error, one
// marked insecure (or every one with o.Insecure) may be reached over
// plain HTTP.
func registryRef(s string, o RegistryOptions) (name.Reference, error) {
	ref, err := parseRegistryRef(s)
	if err != nil {
		return nil, err
	}
	insecure, err := o.insecure(ref.Context())
	if err != nil {
		return nil, fmt.Errorf("output %q: %w", s, err)
	}
	if insecure {
		if ref, err = name.ParseReference(s, name.Insecure); err != nil {
			return nil, fmt.Errorf("output %q: %w", s, err)
		}
	}
	return ref, nil
}

// insecure reports whether repo may be reached over plain HTTP and with
// an unverified certificate: with o.Insecure, or when registries.conf
// says insecure = true for it. A repository registries.conf blocks is an
// error.
func (o RegistryOptions) insecure(repo name.Repository) (bool, error) {
	rc, err := loadRegistriesConf()
	if err != nil {
		return false, err
	}
	e, ok := rc.lookup(repo.Name())
	if ok && e.Blocked {
		return false, fmt.Errorf("%s blocks %s", e.file, e.Prefix)
	}
	return o.Insecure || (ok && e.Insecure), nil
}

// certDir is the directory of registry's certificates: o.CertDir, else
// the first of ~/.config/containers/certs.d/HOST, /etc/containers/
// certs.d/HOST and /etc/docker/certs.d/HOST that exists ("" if none).
func (o RegistryOptions) certDir(registry string) string {
	if o.CertDir != "" {
		return o.CertDir
	}
	var dirs []string
	if u := userConfigDir(); u != "" {
		dirs = append(dirs, filepath.Join(u, "containers", "certs.d"))
	}
	dirs = append(dirs, systemCertsDirs...)
	for _, d := range dirs {
		p := filepath.Join(d, registry)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
	}
	return ""
}

// tlsConfig is the TLS configuration for registry: the system's CAs plus
// those of its certificate directory, and the client certificate found
// there; verification is off when insecure.
func (o RegistryOptions) tlsConfig(registry string, insecure bool) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}
	dir := o.certDir(registry)
	if dir == "" {
		return c, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("certificates of %s: %w", registry, err)
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		switch {
		case strings.HasSuffix(e.Name(), ".crt"):
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("certificates of %s: %w", registry, err)
			}
			if c.RootCAs == nil {
				if c.RootCAs, err = x509.SystemCertPool(); err != nil {
					c.RootCAs = x509.NewCertPool()
				}
			}
			if !c.RootCAs.AppendCertsFromPEM(b) {
				return nil, fmt.Errorf("certificates of %s: %s holds no PEM certificate", registry, p)
			}
		case strings.HasSuffix(e.Name(), ".cert"):
			key := strings.TrimSuffix(p, ".cert") + ".key"
			kp, err := tls.LoadX509KeyPair(p, key)
			if err != nil {
				return nil, fmt.Errorf("client certificate of %s: %s with %s: %w", registry, p, key, err)
			}
			c.Certificates = append(c.Certificates, kp)
		case strings.HasSuffix(e.Name(), ".key"):
			if _, err := os.Stat(strings.TrimSuffix(p, ".key") + ".cert"); err != nil {
				return nil, fmt.Errorf("client certificate of %s: %s has no matching .cert", registry, p)
			}
		}
	}
	return c, nil
}

// Remote is the go-containerregistry options for reaching ref's registry
// with these settings (TLS from certs.d or CertDir, insecure per
// registries.conf or Insecure, credentials from the auth files), for
// reads beside the pushes WriteOutputs makes: remote.Head to see what a
// tag holds, remote.Referrers, and the like.
func (o RegistryOptions) Remote(ctx context.Context, ref name.Reference) ([]remote.Option, error) {
	ro, _, err := o.remoteFor(ctx, ref)
	return ro, err
}

// remoteFor is the go-containerregistry options for registry: the
// transport with its TLS settings, the credentials, ctx; and the
// keychain, to name the credentials' source in an error.
func (o RegistryOptions) remoteFor(ctx context.Context, ref name.Reference) ([]remote.Option, *authKeychain, error) {
	rt, kc, ak, err := o.client(ref)
	if err != nil {
		return nil, nil, err
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(rt), remote.WithAuthFromKeychain(kc),
		remote.WithRetryPredicate(retryable)}, ak, nil
}

// client is the HTTP transport for ref's registry (its TLS settings and
// the timeouts) and the keychain of its credentials; ak is the keychain
// when it is an authKeychain, to name the credentials' source in an
// error.
func (o RegistryOptions) client(ref name.Reference) (rt http.RoundTripper, kc authn.Keychain, ak *authKeychain, err error) {
	registry := ref.Context().RegistryStr()
	insecure, err := o.insecure(ref.Context())
	if err != nil {
		return nil, nil, nil, err
	}
	tc, err := o.tlsConfig(registry, insecure)
	if err != nil {
		return nil, nil, nil, err
	}
	t := o.timeout()
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	dialer := &net.Dialer{Timeout: t, KeepAlive: 30 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &writeDeadlineConn{Conn: c, t: t}, nil
	}
	tr.TLSHandshakeTimeout = t
	tr.ResponseHeaderTimeout = t
	kc = o.Keychain
	if kc == nil {
		ak = newAuthKeychain()
		kc = ak
	}
	return &idleBodyTransport{base: tr, t: t, registry: registry}, kc, ak, nil
}
