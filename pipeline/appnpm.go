package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"slices"

	"github.com/distroless-dev/distroless/appdeps"
	"github.com/distroless-dev/distroless/appdeps/npm"
	"github.com/distroless-dev/distroless/packages"
)

// The npm installer of the application layer: a package-lock.json
// installed as npm ci --ignore-scripts --omit=dev would, under the app
// directory (appdeps/npm), for the image's node.

func init() { registerApp(appInstaller{Name: "npm", Wanted: wantNpm, Install: installNpm}) }

// wantNpm says whether npm packages are asked for (any npm option: one
// without --npm-lock is an error of installNpm).
func wantNpm(a AppOptions) bool { return a.NpmLock != "" || a.NpmRegistry != "" || a.AppDir != "" }

// checkNpm refuses npm options that cannot work, before anything is
// fetched (AppOptions.check).
func checkNpm(a AppOptions) error {
	if a.NpmLock == "" {
		if a.NpmRegistry != "" || a.AppDir != "" {
			return errors.New("AppOptions.NpmRegistry and AppOptions.AppDir need AppOptions.NpmLock (a package-lock.json)")
		}
		return nil
	}
	if _, err := os.Stat(a.NpmLock); err != nil {
		return fmt.Errorf("AppOptions.NpmLock: %w", err)
	}
	if a.AppDir != "" && (!path.IsAbs(a.AppDir) || path.Clean(a.AppDir) == "/") {
		return fmt.Errorf("AppOptions.AppDir %q: want an absolute directory in the image, not /", a.AppDir)
	}
	if a.NpmRegistry != "" {
		if u, err := url.Parse(a.NpmRegistry); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("AppOptions.NpmRegistry %q: want an http(s) URL", a.NpmRegistry)
		}
	}
	return nil
}

// MaxNpmLock bounds a package-lock.json read into memory.
const MaxNpmLock = 64 << 20

// installNpm installs the npm packages of --npm-lock for the image's
// platform: its architecture as node names it, linux, glibc (the C
// library of every distro here).
func installNpm(ctx context.Context, a AppOptions, t appTarget) (*appdeps.Set, error) {
	if a.NpmLock == "" {
		return nil, errors.New("npm: AppOptions.NpmRegistry and AppOptions.AppDir need AppOptions.NpmLock (a package-lock.json)")
	}
	if !slices.ContainsFunc(t.Packages, func(p *packages.Package) bool { return p.Name == "nodejs" }) {
		return nil, fmt.Errorf("npm: %s: the image has no nodejs (npm packages need a node profile, e.g. nodejs)", a.NpmLock)
	}
	cpu, err := npm.NodeCPU(t.Arch)
	if err != nil {
		return nil, fmt.Errorf("npm: %w", err)
	}
	lock, err := ReadBounded(a.NpmLock, MaxNpmLock)
	if err != nil {
		return nil, fmt.Errorf("npm: %w", err)
	}
	return npm.Install(ctx, npm.Options{Lock: lock, LockName: a.NpmLock, Registry: a.NpmRegistry, AppDir: a.AppDir,
		Platform: npm.Platform{OS: "linux", CPU: cpu, Libc: "glibc"}, Cache: t.Cache})
}

// ReadBounded reads a file of at most max bytes.
func ReadBounded(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, max)
	}
	return data, nil
}

// appWarnings are the warnings of the application's installers (npm's
// install scripts not run, a wheel's dependency nothing installs), each
// after its installer's name, for the image's report: gen prints them
// and --json lists them, whether the install came from the resolution or
// from a lockfile.
func appWarnings(a *AppResult) []string {
	if a == nil {
		return nil
	}
	var out []string
	for _, s := range a.Sets {
		for _, w := range s.Warnings {
			out = append(out, s.Name+": "+w)
		}
	}
	if a.LookupFailed != "" {
		out = append(out, "app-libs: "+a.LookupFailed+"; nothing added for the application's libraries: the build's ELF check says whether the image lacks one")
	}
	return out
}
