package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/distroless-dev/distroless/pipeline"
	"github.com/spf13/cobra"
)

// settingsFlags are gen's flags of the image's settings (--env,
// --entrypoint, --cmd, --workdir, --label, --annotation).
type settingsFlags struct {
	env, labels, annotations []string
	entrypoint, cmd          string
	workdir                  string
}

func (sf *settingsFlags) register(c *cobra.Command) {
	f := c.Flags()
	f.StringArrayVar(&sf.env, "env", nil, "set an environment variable, K=V (repeatable; over the profile's)")
	f.StringVar(&sf.entrypoint, "entrypoint", "", `the entrypoint, instead of the profile's (which drops its cmd too): a JSON array '["/usr/bin/python3","-u"]', or words split at white space; "" for none`)
	f.StringVar(&sf.cmd, "cmd", "", `the command (the entrypoint's arguments), instead of the profile's: a JSON array, or words split at white space; "" for none`)
	f.StringVar(&sf.workdir, "workdir", "", "the working directory, an absolute path (over the profile's and --user's)")
	f.StringArrayVar(&sf.labels, "label", nil, "set a config label, K=V (repeatable; it goes into the manifest's annotations too, as the profile's labels do)")
	f.StringArrayVar(&sf.annotations, "annotation", nil, "set a manifest annotation, K=V, e.g. org.opencontainers.image.source=URL (repeatable; on the image index too, for several platforms)")
}

// settings parses the flags; a malformed one is a usage error.
func (sf *settingsFlags) settings(c *cobra.Command) (pipeline.Settings, error) {
	var s pipeline.Settings
	var err error
	for _, kv := range []struct {
		flag  string
		items []string
		to    *map[string]string
	}{{"--env", sf.env, &s.Env}, {"--label", sf.labels, &s.Labels}, {"--annotation", sf.annotations, &s.Annotations}} {
		if *kv.to, err = parseKV(kv.flag, kv.items); err != nil {
			return s, err
		}
	}
	if c.Flags().Changed("entrypoint") {
		if s.Entrypoint, err = parseArgv("--entrypoint", sf.entrypoint); err != nil {
			return s, err
		}
	}
	if c.Flags().Changed("cmd") {
		if s.Cmd, err = parseArgv("--cmd", sf.cmd); err != nil {
			return s, err
		}
	}
	if c.Flags().Changed("workdir") && sf.workdir == "" {
		return s, &usageError{fmt.Errorf("--workdir is empty; want an absolute path")}
	}
	s.Workdir = sf.workdir
	if err := s.Check(); err != nil {
		return s, &usageError{err}
	}
	return s, nil
}

// parseKV reads K=V items (a later K wins); nil for none.
func parseKV(flag string, items []string) (map[string]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok || k == "" {
			return nil, &usageError{fmt.Errorf("%s %q: want KEY=VALUE with a non-empty KEY", flag, it)}
		}
		m[k] = v
	}
	return m, nil
}

// parseArgv reads an argument vector: a JSON array of strings when the
// value starts with '[', else the value's words split at white space (no
// quoting; "" is an empty vector).
func parseArgv(flag, s string) ([]string, error) {
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		argv := []string{}
		if err := json.Unmarshal([]byte(s), &argv); err != nil {
			return nil, &usageError{fmt.Errorf("%s %q: not a JSON array of strings: %v", flag, s, err)}
		}
		return argv, nil
	}
	argv := strings.Fields(s)
	if argv == nil {
		argv = []string{}
	}
	return argv, nil
}
