package distroless

import (
	"fmt"
	"maps"
	"path"
	"strings"

	"github.com/distroless-dev/distroless/profiles"
)

// Settings are image settings given beside the profile (gen's flags, a
// release file's settings). They override the profile's as a child
// profile would: a non-nil Entrypoint replaces the profile's entrypoint
// and drops its command; a non-nil Cmd replaces the command; Workdir,
// when set, replaces the working directory (over the user's too); Env
// and Labels add to the profile's, replacing the values of the same
// keys. Labels go into the config and, as the profile's labels do, into
// the image manifest's annotations; Annotations go into the manifest's
// annotations only (and the image index's, for several platforms).
// The zero value changes nothing.
type Settings struct {
	Entrypoint  []string
	Cmd         []string
	Workdir     string
	Env         map[string]string
	Labels      map[string]string
	Annotations map[string]string
}

// Check reports a setting no image can have: an empty key, an environment
// variable name holding '=' or a NUL, a relative working directory.
func (s Settings) Check() error {
	for _, m := range []struct {
		what string
		kv   map[string]string
	}{{"env", s.Env}, {"label", s.Labels}, {"annotation", s.Annotations}} {
		for k, v := range m.kv {
			if k == "" {
				return fmt.Errorf("%s %q: empty key", m.what, k+"="+v)
			}
			if strings.ContainsRune(k+v, 0) || (m.what == "env" && strings.ContainsRune(k, '=')) {
				return fmt.Errorf("%s %q: a key holds no '=' and neither holds a NUL", m.what, k)
			}
		}
	}
	for _, a := range [][]string{s.Entrypoint, s.Cmd} {
		for _, arg := range a {
			if strings.ContainsRune(arg, 0) {
				return fmt.Errorf("entrypoint or cmd %q: holds a NUL", arg)
			}
		}
	}
	if s.Workdir != "" && (!path.IsAbs(s.Workdir) || strings.ContainsRune(s.Workdir, 0)) {
		return fmt.Errorf("workdir %q: want an absolute path", s.Workdir)
	}
	return nil
}

// apply returns cfg with the settings over it (cfg is left as it was).
func (s Settings) apply(cfg profiles.Config) profiles.Config {
	cfg.Env, cfg.Labels = maps.Clone(cfg.Env), maps.Clone(cfg.Labels)
	if cfg.Env == nil {
		cfg.Env = map[string]string{}
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	if s.Entrypoint != nil {
		cfg.Entrypoint, cfg.Cmd = s.Entrypoint, nil
	}
	if s.Cmd != nil {
		cfg.Cmd = s.Cmd
	}
	if s.Workdir != "" {
		cfg.Workdir = s.Workdir
	}
	maps.Copy(cfg.Env, s.Env)
	maps.Copy(cfg.Labels, s.Labels)
	return cfg
}

// withSettings is the user and working directory of an image of a
// profile with config cfg and settings s: the settings' working
// directory wins over the user's.
func (u User) withSettings(cfg profiles.Config, s Settings) (user, workdir string) {
	user, workdir = u.with(s.apply(cfg))
	if s.Workdir != "" {
		workdir = s.Workdir
	}
	return user, workdir
}
