package main

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/pipeline"
	"github.com/spf13/cobra"
)

// run runs the command with args and returns its stdout.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	root.SetArgs(args)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	err := root.Execute()
	return out.String(), err
}

// TestSettingsFlags: gen's settings flags parse into typed settings, and
// malformed ones are usage errors naming the flag and the value.
func TestSettingsFlags(t *testing.T) {
	parse := func(args ...string) (pipeline.Settings, error) {
		var sf settingsFlags
		c := &cobra.Command{Use: "gen"}
		sf.register(c)
		if err := c.ParseFlags(args); err != nil {
			return pipeline.Settings{}, err
		}
		return sf.settings(c)
	}
	s, err := parse("--env", "A=1", "--env", "B=x=y", "--env", "A=2", "--env", "E=",
		"--entrypoint", `["/usr/bin/python3", "-u", "a b"]`, "--cmd", "app.py  --port 80",
		"--workdir", "/app", "--label", "team=x", "--annotation", "org.opencontainers.image.source=https://example.com/r")
	if err != nil {
		t.Fatal(err)
	}
	want := pipeline.Settings{Env: map[string]string{"A": "2", "B": "x=y", "E": ""},
		Entrypoint: []string{"/usr/bin/python3", "-u", "a b"}, Cmd: []string{"app.py", "--port", "80"}, Workdir: "/app",
		Labels: map[string]string{"team": "x"}, Annotations: map[string]string{"org.opencontainers.image.source": "https://example.com/r"}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("settings %+v, want %+v", s, want)
	}
	// Not given: nil (the profile's); given empty: an empty vector (none).
	if s, err = parse(); err != nil || s.Entrypoint != nil || s.Cmd != nil || s.Env != nil {
		t.Fatalf("no flags: %+v, %v", s, err)
	}
	if s, err = parse("--entrypoint", "", "--cmd", "[]"); err != nil || s.Entrypoint == nil || len(s.Entrypoint) != 0 || s.Cmd == nil || len(s.Cmd) != 0 {
		t.Fatalf("empty entrypoint and cmd: %#v, %v", s, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--env", "NOVALUE"}, `--env "NOVALUE": want KEY=VALUE`},
		{[]string{"--env", "=v"}, `--env "=v": want KEY=VALUE with a non-empty KEY`},
		{[]string{"--label", "=v"}, `--label "=v"`},
		{[]string{"--annotation", "k"}, `--annotation "k"`},
		{[]string{"--entrypoint", `["a", 1]`}, `--entrypoint "[\"a\", 1]": not a JSON array of strings`},
		{[]string{"--cmd", `[ "a"`}, `--cmd`},
		{[]string{"--workdir", "app"}, `workdir "app": want an absolute path`},
		{[]string{"--workdir", ""}, `--workdir is empty`},
		{[]string{"--env", "A\x00=1"}, `env "A\x00"`},
	} {
		_, err := parse(c.args...)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want a usage error with %q", c.args, err, c.want)
		}
	}
	// Through the command: a usage error before anything is fetched.
	if _, err := run(t, "gen", "static", "--offline", "--cache-dir", t.TempDir(), "--env", "X"); !errors.As(err, new(*usageError)) {
		t.Fatalf("gen --env X: %v, want a usage error", err)
	}
}

// TestVersionAndCompletion: distroless version prints what --version
// does; completion offers profiles, distros and platforms.
func TestVersionAndCompletion(t *testing.T) {
	v, err := run(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	vf, err := run(t, "--version")
	if err != nil || v != vf || !strings.HasPrefix(v, "distroless ") {
		t.Fatalf("version %q, --version %q (%v)", v, vf, err)
	}
	if _, err := run(t, "version", "x"); !errors.As(err, new(*usageError)) {
		t.Fatalf("version x: %v", err)
	}
	for _, c := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"gen", "py"}, []string{"python3\t"}, []string{"static", "java21"}},
		{[]string{"gen", ""}, []string{"static\t", "base\t", "cc\t", "python3\t", "java21\t", "nodejs\t"}, []string{"debug", "{minor}"}},
		{[]string{"resolve", "ja"}, []string{"java17\t", "java21\t", "java25\t", "java-base\t"}, []string{"python3"}},
		{[]string{"gen", "python3", ""}, nil, []string{"static"}},
		{[]string{"gen", "-f", "p.yaml", ""}, nil, []string{"static"}},
		{[]string{"gen", "--distro", "deb"}, []string{"debian:trixie", "debian:bookworm", "debian:sid"}, []string{"rocky"}},
		{[]string{"gen", "--distro", ""}, []string{"rocky:9", "fedora:44"}, nil},
		{[]string{"gen", "--platform", "linux/a"}, []string{"linux/amd64", "linux/arm64/v8", "linux/arm/v7"}, []string{"s390x"}},
		{[]string{"gen", "--platform", "linux/amd64,linux/arm6"}, []string{"linux/amd64,linux/arm64/v8"}, []string{"linux/amd64,linux/amd64"}},
		{[]string{"gen", "--arch", "s"}, []string{"s390x"}, []string{"amd64"}},
		{[]string{"lock", "update", "st"}, []string{"static\t"}, nil},
	} {
		out, err := run(t, append([]string{"__complete"}, c.args...)...)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		lines := strings.Split(out, "\n")
		has := func(w string) bool {
			for _, l := range lines {
				if l == w || strings.HasPrefix(l, w) && strings.HasSuffix(w, "\t") {
					return true
				}
			}
			return false
		}
		for _, w := range c.want {
			if !has(w) {
				t.Errorf("complete %q: no %q in\n%s", c.args, w, out)
			}
		}
		for _, n := range c.not {
			if strings.Contains(out, n) {
				t.Errorf("complete %q: %q offered in\n%s", c.args, n, out)
			}
		}
	}
}
