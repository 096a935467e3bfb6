package releasefile

import (
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// App are an image's application inputs, as gen's flags of the same
// names: npm-lock (a package-lock.json, relative to the release file),
// npm-registry (a registry base URL) and app-dir (where node_modules goes
// in the image). Empty fields are not given.
type App struct {
	NpmLock     string `json:"npm-lock,omitempty"`
	NpmRegistry string `json:"npm-registry,omitempty"`
	AppDir      string `json:"app-dir,omitempty"`
}

// appKeys are the keys of App in an images entry.
var appKeys = []string{"npm-lock", "npm-registry", "app-dir"}

// set reads one application key.
func (a *App) set(path, k string, v *yaml.Node) error {
	s, err := scalar(path, k, v)
	if err != nil {
		return err
	}
	if s == "" || strings.ContainsRune(s, 0) {
		return lineError(path, v, "%s is empty", k)
	}
	switch k {
	case "npm-lock":
		a.NpmLock = s
	case "npm-registry":
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return lineError(path, v, "npm-registry %q: want an http(s) URL", s)
		}
		a.NpmRegistry = s
	case "app-dir":
		if !strings.HasPrefix(s, "/") || s == "/" {
			return lineError(path, v, "app-dir %q: want an absolute directory in the image, not /", s)
		}
		a.AppDir = s
	}
	return nil
}

func isAppKey(k string) bool { return slices.Contains(appKeys, k) }

// withPaths is a with npm-lock taken from the release file's directory.
func (a App) withPaths(f *File) App {
	if a.NpmLock != "" {
		a.NpmLock = f.rel(a.NpmLock)
	}
	return a
}
