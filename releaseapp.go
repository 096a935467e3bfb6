package distroless

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/distroless-dev/distroless/pipeline"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/releasefile"
)

// The application inputs of a release image: its entry's
// python-requirements, python-wheels, python-index, npm-lock,
// npm-registry and app-dir, as gen's flags (a profile file's npm fields
// apply when the entry gives none, as in gen).

// releaseApp are gen's application options of a release image: the
// release's own (--no-app-libs) with the entry's keys.
func releaseApp(base pipeline.AppOptions, a releasefile.App) pipeline.AppOptions {
	base.PythonRequirements, base.PythonWheels, base.PythonIndex = a.PythonRequirements, a.PythonWheels, a.PythonIndex
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
	for _, f := range []string{lock, a.PythonRequirements} {
		if f != "" {
			data, err := pipeline.ReadBounded(f, pipeline.MaxNpmLock)
			if err != nil {
				return nil, err
			}
			out = append(out, string(data))
		}
	}
	if a.PythonWheels != "" {
		d, err := dirDigest(a.PythonWheels)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// dirDigest is a digest of the regular files directly in dir (a wheel
// directory): their names and contents.
func dirDigest(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, e := range entries { // sorted by name
		if !e.Type().IsRegular() {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return "", err
		}
		fh := sha256.New()
		_, err = io.Copy(fh, f)
		f.Close()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%d:%s;%x;", len(e.Name()), e.Name(), fh.Sum(nil))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// resolveApp is session.resolve with the image's application layer: its
// npm packages installed for the resolved image, and the packages of the
// libraries they need added (as gen's resolution does), so that the
// release's lockfile pins them.
func (s *session) resolveApp(ctx context.Context, profile string, pf *profiles.Profile, distroName, arch string, app pipeline.AppOptions) (*pipeline.Resolution, error) {
	r, err := s.resolve(ctx, profile, pf, distroName, arch)
	if err != nil || !app.Wanted() {
		return r, err
	}
	o := s.o
	o.Profile, o.Distro, o.Platforms, o.App = pf, distroName, platformsOf(arch), app
	return o.WithApp(ctx, o.ProfileName(profile), r.Distro, r)
}

// checkReleaseApps refuses images that would share a lockfile entry (one
// profile on one distro) with other application inputs: the entry pins
// one application layer.
func checkReleaseApps(ims []releasefile.Image) error {
	type seen struct {
		app  releasefile.App
		name string
		line int
	}
	first := map[string]seen{}
	for _, im := range ims {
		k := im.Profile + "\x00" + im.ProfileFile + "\x00" + im.Distro
		if p, ok := first[k]; ok {
			if p.app != im.App {
				return fmt.Errorf("images %s (line %d) and %s (line %d) are one profile on %s with other application inputs (python-*, npm-*, app-dir), but the release's lockfile pins one closure per profile and distro; give each its own profile (a profile file extending it)",
					p.name, p.line, im.Name, im.Line, im.Distro)
			}
			continue
		}
		first[k] = seen{im.App, im.Name, im.Line}
	}
	return nil
}
