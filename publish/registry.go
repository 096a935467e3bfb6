package publish

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/distroless-dev/distroless/internal/atomicfile"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
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
	// Keychain finds credentials; nil means AuthKeychain (podman's auth
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
	// Zero means DefaultRegistryTimeout.
	Timeout time.Duration
}

// DefaultRegistryTimeout is RegistryOptions.Timeout's default, the same
// as downloads'.
const DefaultRegistryTimeout = 30 * time.Second

func (o RegistryOptions) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultRegistryTimeout
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

// ParseRegistryRef parses a registry output, REGISTRY/REPO[:TAG|@DIGEST],
// and applies registries.conf to it: a blocked registry is an error, one
// marked insecure (or every one with o.Insecure) may be reached over
// plain HTTP.
func ParseRegistryRef(s string, o RegistryOptions) (name.Reference, error) {
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

// AuthSource is where credentials for a registry were found.
type AuthSource struct {
	File string // the auth file
	Key  string // its entry ("HOST" or "HOST/NAMESPACE")
	User string // the user name ("" for a token)
}

// AuthFiles is where credentials are looked for, in order, as podman and
// skopeo do (containers-auth.json(5)): $REGISTRY_AUTH_FILE alone when it
// is set; otherwise $XDG_RUNTIME_DIR/containers/auth.json (or
// /run/containers/UID/auth.json without XDG_RUNTIME_DIR, where podman run
// as root logs in), $XDG_CONFIG_HOME/containers/auth.json
// (~/.config/containers/auth.json), then docker's
// $DOCKER_CONFIG/config.json (~/.docker/config.json).
func AuthFiles() []string {
	if f := os.Getenv("REGISTRY_AUTH_FILE"); f != "" {
		return []string{f}
	}
	var files []string
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		files = append(files, filepath.Join(d, "containers", "auth.json"))
	}
	files = append(files, filepath.Join("/run/containers", strconv.Itoa(os.Getuid()), "auth.json"))
	if u := userConfigDir(); u != "" {
		files = append(files, filepath.Join(u, "containers", "auth.json"))
	}
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		files = append(files, filepath.Join(d, "config.json"))
	} else if home, err := os.UserHomeDir(); err == nil {
		files = append(files, filepath.Join(home, ".docker", "config.json"))
	}
	seen := map[string]bool{}
	out := files[:0]
	for _, f := range files {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// AuthKeychain finds credentials in AuthFiles: the first file with an
// entry for the repository (the longest HOST/NAMESPACE prefix) or its
// registry wins. Credential helpers a file names are run.
type AuthKeychain struct {
	mu    sync.Mutex
	found map[string]AuthSource // registry → where its credentials came from
}

// NewAuthKeychain returns an AuthKeychain.
func NewAuthKeychain() *AuthKeychain { return &AuthKeychain{found: map[string]AuthSource{}} }

// Resolve implements authn.Keychain.
func (k *AuthKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	repo := target.String()
	host := target.RegistryStr()
	for _, f := range AuthFiles() {
		cf, err := loadAuthFile(f)
		if err != nil {
			return nil, err
		}
		if cf == nil {
			continue
		}
		key, ac, err := authEntry(cf, repo, host)
		if err != nil {
			return nil, fmt.Errorf("credentials for %s from %s: %w", host, f, err)
		}
		if ac == (authn.AuthConfig{}) {
			continue
		}
		k.mu.Lock()
		k.found[host] = AuthSource{File: f, Key: key, User: ac.Username}
		k.mu.Unlock()
		return authn.FromConfig(ac), nil
	}
	return authn.Anonymous, nil
}

// authEntry is the entry of an auth file for repo of host: the longest
// HOST/NAMESPACE entry that is a prefix of repo, else the host's entry
// (https:// and docker's /v1/ suffix aside; docker.io stands for Docker
// Hub), else what the file's credential helper or store gives. The key
// is "" when there is none.
func authEntry(cf *configfile.ConfigFile, repo, host string) (string, authn.AuthConfig, error) {
	hosts := []string{host}
	if host == name.DefaultRegistry {
		hosts = append(hosts, "docker.io", "registry-1.docker.io")
	}
	best, bestLen := "", -1
	for k := range cf.AuthConfigs {
		kk := strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://")
		kk = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(kk, "/"), "/v1"), "/v2")
		n := -1
		if strings.Contains(kk, "/") {
			if repo == kk || strings.HasPrefix(repo, kk+"/") {
				n = len(kk)
			}
		} else if slices.Contains(hosts, kk) {
			n = 0
		}
		if n > bestLen || (n == bestLen && n >= 0 && k < best) {
			best, bestLen = k, n
		}
	}
	if bestLen >= 0 {
		a := cf.AuthConfigs[best]
		return best, authn.AuthConfig{Username: a.Username, Password: a.Password, Auth: a.Auth, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}, nil
	}
	if cf.CredentialsStore == "" && cf.CredentialHelpers[host] == "" {
		return "", authn.AuthConfig{}, nil
	}
	lookup := host
	if lookup == name.DefaultRegistry {
		lookup = authn.DefaultAuthKey
	}
	a, err := cf.GetAuthConfig(lookup)
	if err != nil {
		return "", authn.AuthConfig{}, err
	}
	return host, authn.AuthConfig{Username: a.Username, Password: a.Password, Auth: a.Auth, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}, nil
}

// Source is where the credentials for registry came from, and whether
// any were found.
func (k *AuthKeychain) Source(registry string) (AuthSource, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s, ok := k.found[registry]
	return s, ok
}

// loadAuthFile reads an auth file (podman's auth.json and docker's
// config.json share the format); nil when it does not exist.
func loadAuthFile(path string) (*configfile.ConfigFile, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth file %s: %w", path, err)
	}
	defer f.Close()
	cf, err := config.LoadFromReader(f)
	if err != nil {
		return nil, fmt.Errorf("auth file %s: %w", path, err)
	}
	cf.Filename = path
	return cf, nil
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
func (o RegistryOptions) remoteFor(ctx context.Context, ref name.Reference) ([]remote.Option, *AuthKeychain, error) {
	rt, kc, ak, err := o.client(ref)
	if err != nil {
		return nil, nil, err
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(rt), remote.WithAuthFromKeychain(kc),
		remote.WithRetryPredicate(retryable)}, ak, nil
}

// client is the HTTP transport for ref's registry (its TLS settings and
// the timeouts) and the keychain of its credentials; ak is the keychain
// when it is an AuthKeychain, to name the credentials' source in an
// error.
func (o RegistryOptions) client(ref name.Reference) (rt http.RoundTripper, kc authn.Keychain, ak *AuthKeychain, err error) {
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
		ak = NewAuthKeychain()
		kc = ak
	}
	return &idleBodyTransport{base: tr, t: t, registry: registry}, kc, ak, nil
}

// CheckPush makes sure, before a build, that every repository the
// registry outputs among outputs name can be pushed to: one request to
// each, authenticated as the push will be, that opens an upload (with
// the push scope, so that a token registry checks the right to push)
// and cancels it. What the registry refuses (credentials, certificate,
// plain HTTP, a timeout) fails with the message the push would give.
// Outputs that are not registries are left alone.
func CheckPush(ctx context.Context, outputs []string, opts WriteOptions) error {
	o := opts.registry()
	seen := map[string]bool{}
	for _, output := range outputs {
		t, err := parseOutput(output, opts)
		if err != nil {
			return err
		}
		if t.ref == nil || seen[t.ref.Context().Name()] {
			continue
		}
		seen[t.ref.Context().Name()] = true
		if err := o.checkPush(ctx, t.ref); err != nil {
			return err
		}
	}
	return nil
}

// checkPush opens an upload to ref's repository and cancels it.
func (o RegistryOptions) checkPush(ctx context.Context, ref name.Reference) error {
	rt, kc, ak, err := o.client(ref)
	if err != nil {
		return err
	}
	repo := ref.Context()
	auth, err := authn.Resolve(ctx, kc, repo)
	if err != nil {
		return o.explainPushError(err, ref, ak)
	}
	tr, err := transport.NewWithContext(ctx, repo.Registry, auth, rt, []string{ref.Scope(transport.PushScope)})
	if err != nil {
		return o.explainPushError(err, ref, ak)
	}
	client := &http.Client{Transport: tr}
	u := &url.URL{Scheme: repo.Registry.Scheme(), Host: repo.RegistryStr(), Path: "/v2/" + repo.RepositoryStr() + "/blobs/uploads/"}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return o.explainPushError(err, ref, ak)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusAccepted, http.StatusCreated); err != nil {
		return o.explainPushError(err, ref, ak)
	}
	// The upload opened is of no use: cancel it (what the registry says
	// to that does not matter; it drops unfinished uploads anyway).
	if loc, err := resp.Location(); err == nil {
		if del, err := http.NewRequestWithContext(ctx, http.MethodDelete, loc.String(), nil); err == nil {
			if r, err := client.Do(del); err == nil {
				r.Body.Close()
			}
		}
	}
	return nil
}

// writeDeadlineConn is a connection whose every write must be done
// within t: a registry that stops taking an upload fails it.
type writeDeadlineConn struct {
	net.Conn
	t time.Duration
}

func (c *writeDeadlineConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.t)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// idleBodyTransport gives each response a body that fails when no data
// comes for t.
type idleBodyTransport struct {
	base     http.RoundTripper
	t        time.Duration
	registry string
}

// registryTimeoutError is a registry that sent nothing for the timeout.
type registryTimeoutError struct{ what string }

func (e *registryTimeoutError) Error() string { return e.what }
func (e *registryTimeoutError) Timeout() bool { return true }

func (it *idleBodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	resp, err := it.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel(nil)
		return nil, err
	}
	b := &idleBody{r: resp.Body, t: it.t, ctx: ctx, cancel: cancel}
	b.timer = time.AfterFunc(it.t, func() {
		cancel(&registryTimeoutError{fmt.Sprintf("%s %s: no data from %s for %s while reading the response", req.Method, req.URL.Redacted(), it.registry, it.t)})
	})
	b.timer.Stop() // runs only while a Read waits
	resp.Body = b
	return resp, nil
}

// idleBody is a response body that fails with a registryTimeoutError
// when a Read gets no data for t.
type idleBody struct {
	r      io.ReadCloser
	t      time.Duration
	timer  *time.Timer
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.t)
	n, err := b.r.Read(p)
	b.timer.Stop()
	var te *registryTimeoutError
	if err != nil && err != io.EOF && errors.As(context.Cause(b.ctx), &te) {
		return n, te
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.r.Close()
	b.cancel(nil)
	return err
}

// retryable is go-containerregistry's retry rule for a failed request
// (a temporary network error, a connection cut short) less the waits
// that reached the timeout: those have waited long enough.
func retryable(err error) bool {
	if isTimeout(err) {
		return false
	}
	if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

// isTimeout reports a network wait that reached its bound.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// hintError is an error followed, on a line of its own, by what to do
// about it.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string {
	return strings.TrimRight(e.err.Error(), "\n ") + "\n(" + e.hint + ")"
}

func (e *hintError) Unwrap() error { return e.err }

// explainPushError says what to do about a failed push: for a refusal
// for want of credentials, whether credentials were found and where; for
// a certificate not trusted, where a CA would be looked for; for a
// registry that speaks plain HTTP, how to allow it.
func (o RegistryOptions) explainPushError(err error, ref name.Reference, ak *AuthKeychain) error {
	registry := ref.Context().RegistryStr()
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) || strings.Contains(err.Error(), "certificate signed by unknown authority") {
		hint := "no certificate directory has " + registry
		if dir := o.certDir(registry); dir != "" {
			hint = "the CA certificates of " + dir + " do not verify it"
		}
		dirs := append([]string{filepath.Join("~/.config/containers/certs.d", registry)}, systemCertsDirs...)
		for i := 1; i < len(dirs); i++ {
			dirs[i] = filepath.Join(dirs[i], registry)
		}
		return &hintError{fmt.Errorf("pushing %s: %w", ref, err), fmt.Sprintf("%s does not present a certificate this machine trusts, and %s: put its CA in one of %s as ca.crt, or give --cert-dir DIR; --insecure skips verification",
			registry, hint, strings.Join(dirs, ", "))}
	}
	if errors.Is(err, http.ErrSchemeMismatch) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return &hintError{fmt.Errorf("pushing %s: %w", ref, err), registry + " speaks plain HTTP: allow it with --insecure, or with insecure = true for it in registries.conf"}
	}
	if isTimeout(err) {
		return fmt.Errorf("pushing %s: %s did not answer within %s (the network timeout): %w", ref, registry, o.timeout(), err)
	}
	var te *transport.Error
	if !errors.As(err, &te) || (te.StatusCode != http.StatusUnauthorized && te.StatusCode != http.StatusForbidden) {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	status := strconv.Itoa(te.StatusCode) + " " + http.StatusText(te.StatusCode)
	if ak == nil {
		return fmt.Errorf("pushing %s: %s refused the credentials given (%s): %w", ref, registry, status, err)
	}
	if src, ok := ak.Source(registry); ok {
		who := "the credentials"
		if src.User != "" {
			who = fmt.Sprintf("the credentials of user %q", src.User)
		}
		if te.StatusCode == http.StatusForbidden {
			return fmt.Errorf("pushing %s: %s denied %s (from %s, entry %s) access to %s (%s)", ref, registry, who, src.File, src.Key, ref.Context().RepositoryStr(), status)
		}
		return fmt.Errorf("pushing %s: %s refused %s (from %s, entry %s) (%s); log in again with `podman login %s`", ref, registry, who, src.File, src.Key, status, registry)
	}
	return fmt.Errorf("pushing %s: %s requires credentials (%s) and none were found for it in %s; log in with `podman login %s` or `docker login %s`",
		ref, registry, status, strings.Join(AuthFiles(), ", "), registry, registry)
}

// blobMemory records which repository of each registry received each
// layer (registry → layer digest → repository).
type blobMemory struct {
	path string
	mu   sync.Mutex
	m    map[string]map[string]string
}

// maxRemembered bounds the layers remembered per registry.
const maxRemembered = 20000

func newBlobMemory(path string) *blobMemory {
	b := &blobMemory{path: path, m: map[string]map[string]string{}}
	b.m = b.read()
	return b
}

// read reads the file; a missing or damaged one is an empty record (it
// is a hint: a wrong entry costs a mount the registry refuses).
func (b *blobMemory) read() map[string]map[string]string {
	m := map[string]map[string]string{}
	if b.path == "" {
		return m
	}
	if data, err := os.ReadFile(b.path); err == nil {
		if json.Unmarshal(data, &m) != nil || m == nil {
			m = map[string]map[string]string{}
		}
	}
	return m
}

// source is a repository of registry other than repo that received
// digest, if one is known.
func (b *blobMemory) source(registry, repo, digest string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.m[registry][digest]
	return r, ok && r != repo
}

// add records that repo of registry holds the digests, and saves the
// record, merged with what other processes saved meanwhile, through a
// temporary file.
func (b *blobMemory) add(registry, repo string, digests []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	record := func(m map[string]map[string]string) {
		if m[registry] == nil {
			m[registry] = map[string]string{}
		}
		for _, d := range digests {
			m[registry][d] = repo
		}
		for d := range m[registry] {
			if len(m[registry]) <= maxRemembered {
				break
			}
			if m[registry][d] != repo {
				delete(m[registry], d)
			}
		}
	}
	record(b.m)
	if b.path == "" {
		return nil
	}
	// Writers take turns (flock on a lock file beside the record), so
	// that concurrent pushes each add to what the others saved.
	if err := os.MkdirAll(filepath.Dir(b.path), 0o755); err != nil {
		return err
	}
	lock, err := openLockFile(b.path + ".lock")
	if err != nil {
		return err
	}
	defer lock.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := waitLock(ctx, lock); err != nil {
		return err
	}
	saved := b.read()
	record(saved)
	data, err := json.Marshal(saved)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(b.path, data, atomicfile.Options{Pattern: ".tmp-" + filepath.Base(b.path) + "-*", MkdirAll: true})
}

// artifactLayers is the layers of the artifact's image or of every image
// of its index.
func artifactLayers(a Artifact) ([]v1.Layer, error) {
	if a.Image != nil {
		return a.Image.Layers()
	}
	var out []v1.Layer
	seen := map[v1.Hash]bool{}
	var walk func(idx v1.ImageIndex, depth int) error
	walk = func(idx v1.ImageIndex, depth int) error {
		if depth > 4 {
			return errors.New("image index nested too deep")
		}
		children, err := partial.Manifests(idx)
		if err != nil {
			return err
		}
		for _, c := range children {
			switch c := c.(type) {
			case v1.ImageIndex:
				if err := walk(c, depth+1); err != nil {
					return err
				}
			case v1.Image:
				ls, err := c.Layers()
				if err != nil {
					return err
				}
				for _, l := range ls {
					d, err := l.Digest()
					if err != nil {
						return err
					}
					if !seen[d] {
						seen[d] = true
						out = append(out, l)
					}
				}
			}
		}
		return nil
	}
	return out, walk(a.Index, 0)
}

// Pushed is one repository a push wrote: REPO@DIGEST, and its tags.
type Pushed struct {
	Ref  string   `json:"ref"`  // REGISTRY/REPO@sha256:…
	Tags []string `json:"tags"` // the tags written in it
}

// pushAll pushes a to every registry reference: once per repository, in
// the order the references first name it, then each further tag of that
// repository (a manifest PUT, the blobs being there). Layers that an
// earlier push (of this call or, through o.BlobMemory, of an earlier
// run) sent to another repository of the same registry are mounted from
// there; a registry that does not mount gets them uploaded as usual.
func pushAll(ctx context.Context, a Artifact, refs []name.Reference, o RegistryOptions) ([]Pushed, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	desc, err := a.descriptor()
	if err != nil {
		return nil, err
	}
	layers, err := artifactLayers(a)
	if err != nil {
		return nil, err
	}
	mem := newBlobMemory(o.BlobMemory)
	var order []name.Repository
	byRepo := map[name.Repository][]name.Reference{}
	for _, r := range refs {
		if _, ok := byRepo[r.Context()]; !ok {
			order = append(order, r.Context())
		}
		byRepo[r.Context()] = append(byRepo[r.Context()], r)
	}
	var out []Pushed
	for _, repo := range order {
		rs := byRepo[repo]
		ro, ak, err := o.remoteFor(ctx, rs[0])
		if err != nil {
			return out, err
		}
		p, err := remote.NewPusher(ro...)
		if err != nil {
			return out, err
		}
		registry := repo.RegistryStr()
		var digests []string
		var mounts []v1.Layer
		for _, l := range layers {
			d, err := l.Digest()
			if err != nil {
				return out, err
			}
			digests = append(digests, d.String())
			from, ok := mem.source(registry, repo.RepositoryStr(), d.String())
			if !ok {
				continue
			}
			src, err := name.NewRepository(registry+"/"+from, registryNameOpts(repo)...)
			if err != nil {
				continue // a damaged record: upload instead
			}
			mounts = append(mounts, &remote.MountableLayer{Layer: l, Reference: src.Digest(d.String())})
		}
		if err := mountLayers(ctx, p, repo, mounts); err != nil {
			// A mount source that cannot be read (no pull access, a
			// stale record) must not fail the push: push afresh, with
			// uploads; a real refusal shows there.
			if p, err = remote.NewPusher(ro...); err != nil {
				return out, err
			}
		}
		ro = append(ro, remote.Reuse(p))
		pushed := Pushed{Ref: repo.Digest(desc.Digest.String()).String()}
		for _, r := range rs {
			if err := push(ctx, a, r, ro); err != nil {
				return out, o.explainPushError(err, r, ak)
			}
			if t, ok := r.(name.Tag); ok {
				pushed.Tags = append(pushed.Tags, t.TagStr())
			}
		}
		out = append(out, pushed)
		// The record only saves uploads later: a cache that cannot be
		// written costs those, not this push.
		_ = mem.add(registry, repo.RepositoryStr(), digests)
	}
	return out, nil
}

// mountLayers sends layers (MountableLayers) to repo through p, four at
// a time: each is mounted from its source repository, or uploaded where
// the registry does not mount it.
func mountLayers(ctx context.Context, p *remote.Pusher, repo name.Repository, layers []v1.Layer) error {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	errs := make([]error, len(layers))
	for i, l := range layers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = p.Upload(ctx, repo, l)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// registryNameOpts keeps a repository's insecure setting for a sibling.
func registryNameOpts(repo name.Repository) []name.Option {
	if repo.Registry.Scheme() == "http" {
		return []name.Option{name.Insecure}
	}
	return nil
}
