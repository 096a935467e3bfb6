package distroless

import (
	"strings"
	"testing"
)

// TestRebuildInputs: a provenance makes the lockfile its packages pin;
// what cannot be rebuilt from it is refused, saying why.
func TestRebuildInputs(t *testing.T) {
	mk := func(params map[string]any, pkgAnn map[string]any, pkgName string) *provenanceStatement {
		st := &provenanceStatement{PredicateType: "https://slsa.dev/provenance/v1"}
		bd := &st.Predicate.BuildDefinition
		bd.ExternalParameters = map[string]any{"profile": "static", "resolvedProfile": "static", "distro": "debian:trixie", "arch": "amd64", "user": "root"}
		for k, v := range params {
			bd.ExternalParameters[k] = v
		}
		bd.ResolvedDependencies = append(bd.ResolvedDependencies, struct {
			Name        string            `json:"name"`
			URI         string            `json:"uri"`
			Digest      map[string]string `json:"digest"`
			Annotations map[string]any    `json:"annotations"`
		}{Name: pkgName, URI: "http://mirror.example/debian/pool/main/b/base-files/base-files_13.8_amd64.deb", Digest: map[string]string{"sha256": strings.Repeat("a", 64)}, Annotations: pkgAnn})
		return st
	}
	good := map[string]any{"kind": "package", "layer": "static", "size": "100", "path": "pool/main/b/base-files/base-files_13.8_amd64.deb"}
	in, err := rebuildInputs(mk(nil, good, "base-files_13.8_amd64"), "")
	if err != nil {
		t.Fatal(err)
	}
	p := in.lock.Packages[0]
	if p.Name != "base-files" || p.Version != "13.8" || p.Arch != "amd64" || p.Size != 100 || p.Layer != "static" || !strings.HasPrefix(p.URL, "http://mirror.example/") || in.user != "root" {
		t.Errorf("package %+v, user %q", p, in.user)
	}
	in, err = rebuildInputs(mk(nil, good, "base-files_13.8_amd64"), "http://snapshot.example/archive/debian/20260101T000000Z/")
	if err != nil || in.lock.Packages[0].URL != "http://snapshot.example/archive/debian/20260101T000000Z/pool/main/b/base-files/base-files_13.8_amd64.deb" {
		t.Errorf("--mirror: %v %v", in, err)
	}
	for name, c := range map[string]struct {
		st     *provenanceStatement
		mirror string
		want   string
	}{
		"no layer":     {mk(nil, map[string]any{"kind": "package", "size": "100"}, "base-files_13.8_amd64"), "", "without its layer"},
		"bad name":     {mk(nil, good, "basefiles"), "", "without its layer"},
		"add":          {mk(map[string]any{"add": []any{"curl"}}, good, "base-files_13.8_amd64"), "", "--add"},
		"profile file": {mk(map[string]any{"resolvedProfile": "myapp"}, good, "base-files_13.8_amd64"), "", "not built in"},
		"distro file":  {mk(map[string]any{"distro": "./corp.yaml"}, good, "base-files_13.8_amd64"), "", "distro file"},
		"no arch":      {mk(map[string]any{"arch": ""}, good, "base-files_13.8_amd64"), "", "no profile, distro or architecture"},
		"app layer":    {mk(nil, map[string]any{"kind": "app"}, "express"), "", "verify does not rebuild application layers"},
		"bad settings": {mk(map[string]any{"settings": map[string]any{"user": "0"}}, good, "base-files_13.8_amd64"), "", `settings name "user"`},
		"dotdot path": {mk(nil, map[string]any{"kind": "package", "layer": "static", "size": "100", "path": "../../etc/passwd"}, "base-files_13.8_amd64"),
			"http://m.example/", "no usable path"},
	} {
		if _, err := rebuildInputs(c.st, c.mirror); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
