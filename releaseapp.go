package distroless

import (
	"encoding/json"
	"path/filepath"

	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/releasefile"
)

// The application inputs of a release image: its entry's npm-lock,
// npm-registry and app-dir, as gen's flags (a profile file's fields
// apply when the entry gives none, as in gen).

// releaseApp are gen's application options of a release image: the
// release's own (--no-app-libs) with the entry's keys.
func releaseApp(base AppOptions, a releasefile.App) AppOptions {
	base.NpmLock, base.NpmRegistry, base.AppDir = a.NpmLock, a.NpmRegistry, a.AppDir
	return base
}

// releaseAppInputs are what the application inputs of a release image
// add to its inputs digest: the keys and the content of the
// package-lock.json it installs (its entry's, else its profile file's),
// so that a changed lock is a changed image.
func releaseAppInputs(a releasefile.App, pf *profiles.Profile) ([]string, error) {
	lock := a.NpmLock
	if lock == "" && a.NpmRegistry == "" && a.AppDir == "" && pf != nil && pf.NpmLock != "" {
		lock = pf.NpmLock
		if !filepath.IsAbs(lock) && pf.Dir != "" {
			lock = filepath.Join(pf.Dir, lock)
		}
	}
	keys, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	out := []string{string(keys)}
	if lock != "" {
		data, err := readBounded(lock, maxNpmLock)
		if err != nil {
			return nil, err
		}
		out = append(out, string(data))
	}
	return out, nil
}
