package pipeline

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/profiles"
)

// TestSettingsOverProfile: settings override the profile's config as a
// child profile would, leave the profile's config as it was, and the
// working directory wins over the user's.
func TestSettingsOverProfile(t *testing.T) {
	base := profiles.Config{Entrypoint: []string{"/usr/bin/python3"}, Cmd: []string{"-V"}, Workdir: "/w",
		Env: map[string]string{"PATH": "/usr/bin", "A": "profile"}, Labels: map[string]string{"l": "profile"}}
	for _, c := range []struct {
		name string
		s    Settings
		want profiles.Config
	}{
		{"none", Settings{}, base},
		{"entrypoint drops cmd", Settings{Entrypoint: []string{"/app"}},
			profiles.Config{Entrypoint: []string{"/app"}, Workdir: "/w", Env: base.Env, Labels: base.Labels}},
		{"empty entrypoint", Settings{Entrypoint: []string{}, Cmd: []string{"x"}},
			profiles.Config{Entrypoint: []string{}, Cmd: []string{"x"}, Workdir: "/w", Env: base.Env, Labels: base.Labels}},
		{"cmd keeps entrypoint", Settings{Cmd: []string{}},
			profiles.Config{Entrypoint: base.Entrypoint, Cmd: []string{}, Workdir: "/w", Env: base.Env, Labels: base.Labels}},
		{"maps add", Settings{Workdir: "/srv", Env: map[string]string{"A": "flag", "B": ""}, Labels: map[string]string{"m": "x"}},
			profiles.Config{Entrypoint: base.Entrypoint, Cmd: base.Cmd, Workdir: "/srv",
				Env:    map[string]string{"PATH": "/usr/bin", "A": "flag", "B": ""},
				Labels: map[string]string{"l": "profile", "m": "x"}}},
	} {
		if got := c.s.apply(base); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	if base.Env["A"] != "profile" || len(base.Env) != 2 || len(base.Labels) != 1 {
		t.Errorf("apply changed the profile's config: %+v", base)
	}
	root, err := ParseUser("root")
	if err != nil {
		t.Fatal(err)
	}
	if u, w := root.WithSettings(base, Settings{}); u != "0:0" || w != "/" {
		t.Errorf("--user root: %s %s", u, w)
	}
	if u, w := root.WithSettings(base, Settings{Workdir: "/srv"}); u != "0:0" || w != "/srv" {
		t.Errorf("--user root --workdir /srv: %s %s", u, w)
	}
	def, _ := ParseUser("")
	if _, w := def.WithSettings(base, Settings{}); w != "/w" {
		t.Errorf("the profile's workdir: %s", w)
	}
	for _, c := range []struct {
		s    Settings
		want string
	}{
		{Settings{Env: map[string]string{"": "x"}}, "empty key"},
		{Settings{Env: map[string]string{"A=B": "x"}}, "'='"},
		{Settings{Labels: map[string]string{"": "x"}}, "label"},
		{Settings{Annotations: map[string]string{"a": "b\x00"}}, "NUL"},
		{Settings{Workdir: "srv"}, "absolute"},
		{Settings{Cmd: []string{"a\x00"}}, "NUL"},
	} {
		if err := c.s.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.s, err, c.want)
		}
	}
	if err := (Settings{Env: map[string]string{"A": "x=y"}, Workdir: "/srv"}).Check(); err != nil {
		t.Error(err)
	}
}

// TestAttachOutputs: pushes hold attachments; layouts and oci-archives
// only with Attach; docker-archives never.
func TestAttachOutputs(t *testing.T) {
	outs := []string{"oci:a", "oci-archive:b.tar", "docker-archive:c.tar", "registry.example/r:t"}
	if got := (GenOptions{}).attachOutputs(outs); !reflect.DeepEqual(got, []string{"registry.example/r:t"}) {
		t.Errorf("without Attach: %v", got)
	}
	if got := (GenOptions{Attach: true}).attachOutputs(outs); !reflect.DeepEqual(got, []string{"oci:a", "oci-archive:b.tar", "registry.example/r:t"}) {
		t.Errorf("with Attach: %v", got)
	}
	if got := (GenOptions{Attach: true}).attachOutputs([]string{"docker-archive:c.tar"}); len(got) != 0 {
		t.Errorf("docker-archive with Attach: %v", got)
	}
}

// TestSettingsProvenance: image settings read back from what a provenance
// records of them (through JSON, as verify reads a statement) are the
// same; none records nothing; a hostile record is refused.
func TestSettingsProvenance(t *testing.T) {
	s := Settings{Entrypoint: []string{"/app"}, Cmd: []string{}, Workdir: "/srv", Env: map[string]string{"A": "1"},
		Labels: map[string]string{"l": "v"}, Annotations: map[string]string{"a": "b"}}
	data, err := json.Marshal(s.provenance())
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	got, err := SettingsOfProvenance(v)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Errorf("read back %+v, %v; want %+v", got, err, s)
	}
	if (Settings{}).provenance() != nil {
		t.Error("no settings record something")
	}
	if got, err := SettingsOfProvenance(nil); err != nil || !reflect.DeepEqual(got, Settings{}) {
		t.Errorf("none: %+v %v", got, err)
	}
	for _, bad := range []any{"x", map[string]any{"env": []any{"A=1"}}, map[string]any{"cmd": []any{1}},
		map[string]any{"user": "0"}, map[string]any{"env": map[string]any{"A=B": "1"}}, map[string]any{"workdir": "rel"}} {
		if _, err := SettingsOfProvenance(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
