package pipeline

import (
	"errors"
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

// WithSettings is the user and working directory of an image of a
// profile with config cfg and settings s: the settings' working
// directory wins over the user's.
func (u User) WithSettings(cfg profiles.Config, s Settings) (user, workdir string) {
	user, workdir = u.with(s.apply(cfg))
	if s.Workdir != "" {
		workdir = s.Workdir
	}
	return user, workdir
}

// provenance is s as a provenance records it (the "settings" parameter;
// nil when there are none), so that verify rebuilds with them.
func (s Settings) provenance() map[string]any {
	m := map[string]any{}
	list := func(k string, l []string) {
		if l != nil {
			vs := make([]any, len(l))
			for i, v := range l {
				vs[i] = v
			}
			m[k] = vs
		}
	}
	kv := func(k string, kv map[string]string) {
		if len(kv) > 0 {
			vs := map[string]any{}
			for a, b := range kv {
				vs[a] = b
			}
			m[k] = vs
		}
	}
	list("entrypoint", s.Entrypoint)
	list("cmd", s.Cmd)
	if s.Workdir != "" {
		m["workdir"] = s.Workdir
	}
	kv("env", s.Env)
	kv("labels", s.Labels)
	kv("annotations", s.Annotations)
	if len(m) == 0 {
		return nil
	}
	return m
}

// SettingsOfProvenance reads the "settings" parameter back (v nil: none).
func SettingsOfProvenance(v any) (Settings, error) {
	var s Settings
	if v == nil {
		return s, nil
	}
	m, ok := v.(map[string]any)
	bad := errors.New("the provenance's settings are not a map of image settings")
	if !ok {
		return s, bad
	}
	list := func(k string) ([]string, error) {
		raw, ok := m[k]
		if !ok {
			return nil, nil
		}
		l, ok := raw.([]any)
		if !ok {
			return nil, bad
		}
		out := []string{}
		for _, e := range l {
			str, ok := e.(string)
			if !ok {
				return nil, bad
			}
			out = append(out, str)
		}
		return out, nil
	}
	kv := func(k string) (map[string]string, error) {
		raw, ok := m[k]
		if !ok {
			return nil, nil
		}
		mm, ok := raw.(map[string]any)
		if !ok {
			return nil, bad
		}
		out := map[string]string{}
		for a, b := range mm {
			str, ok := b.(string)
			if !ok {
				return nil, bad
			}
			out[a] = str
		}
		return out, nil
	}
	var err error
	for k := range m {
		switch k {
		case "entrypoint", "cmd", "workdir", "env", "labels", "annotations":
		default:
			return s, fmt.Errorf("the provenance's settings name %q, which this distroless does not know", k)
		}
	}
	if s.Entrypoint, err = list("entrypoint"); err != nil {
		return s, err
	}
	if s.Cmd, err = list("cmd"); err != nil {
		return s, err
	}
	if raw, ok := m["workdir"]; ok {
		if s.Workdir, ok = raw.(string); !ok {
			return s, bad
		}
	}
	if s.Env, err = kv("env"); err != nil {
		return s, err
	}
	if s.Labels, err = kv("labels"); err != nil {
		return s, err
	}
	if s.Annotations, err = kv("annotations"); err != nil {
		return s, err
	}
	return s, s.Check()
}
