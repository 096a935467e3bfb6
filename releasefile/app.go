package releasefile

import (
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// App are an image's application inputs, as gen's flags of the same
// names: python-requirements (a requirements file pinned with hashes),
// python-wheels (a directory of wheels), python-index (a simple index
// URL), npm-lock (a package-lock.json), npm-registry (a registry base URL)
// and app-dir (where node_modules goes in the image); files and
// directories relative to the release file. Empty fields are not given.
type App struct {
	PythonRequirements string `json:"python-requirements,omitempty"`
	PythonWheels       string `json:"python-wheels,omitempty"`
	PythonIndex        string `json:"python-index,omitempty"`
	NpmLock            string `json:"npm-lock,omitempty"`
	NpmRegistry        string `json:"npm-registry,omitempty"`
	AppDir             string `json:"app-dir,omitempty"`
}

// appKeys are the keys of App in an images entry.
var appKeys = []string{"python-requirements", "python-wheels", "python-index", "npm-lock", "npm-registry", "app-dir"}

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
	case "python-requirements":
		a.PythonRequirements = s
	case "python-wheels":
		a.PythonWheels = s
	case "npm-lock":
		a.NpmLock = s
	case "python-index", "npm-registry":
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return lineError(path, v, "%s %q: want an http(s) URL", k, s)
		}
		if k == "python-index" {
			a.PythonIndex = s
		} else {
			a.NpmRegistry = s
		}
	case "app-dir":
		if !strings.HasPrefix(s, "/") || s == "/" {
			return lineError(path, v, "app-dir %q: want an absolute directory in the image, not /", s)
		}
		a.AppDir = s
	}
	return nil
}

func isAppKey(k string) bool { return slices.Contains(appKeys, k) }

// withPaths is a with its files and directories taken from the release
// file's directory.
func (a App) withPaths(f *File) App {
	for _, p := range []*string{&a.PythonRequirements, &a.PythonWheels, &a.NpmLock} {
		if *p != "" {
			*p = f.rel(*p)
		}
	}
	return a
}
