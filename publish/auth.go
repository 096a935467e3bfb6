package publish

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// authSource is where credentials for a registry were found.
type authSource struct {
	File string // the auth file
	Key  string // its entry ("HOST" or "HOST/NAMESPACE")
	User string // the user name ("" for a token)
}

// authFiles is where credentials are looked for, in order, as podman and
// skopeo do (containers-auth.json(5)): $REGISTRY_AUTH_FILE alone when it
// is set; otherwise $XDG_RUNTIME_DIR/containers/auth.json (or
// /run/containers/UID/auth.json without XDG_RUNTIME_DIR, where podman run
// as root logs in), $XDG_CONFIG_HOME/containers/auth.json
// (~/.config/containers/auth.json), then docker's
// $DOCKER_CONFIG/config.json (~/.docker/config.json).
func authFiles() []string {
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

// authKeychain finds credentials in authFiles: the first file with an
// entry for the repository (the longest HOST/NAMESPACE prefix) or its
// registry wins. Credential helpers a file names are run.
type authKeychain struct {
	mu    sync.Mutex
	found map[string]authSource // registry → where its credentials came from
}

// newAuthKeychain returns an authKeychain.
func newAuthKeychain() *authKeychain { return &authKeychain{found: map[string]authSource{}} }

// Resolve implements authn.Keychain.
func (k *authKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	repo := target.String()
	host := target.RegistryStr()
	for _, f := range authFiles() {
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
		k.found[host] = authSource{File: f, Key: key, User: ac.Username}
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
func (k *authKeychain) Source(registry string) (authSource, bool) {
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
