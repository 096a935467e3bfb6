package publish

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// TestCheckOutput: outputs without a transport are registry references
// only when they parse as one with a registry host; paths are refused
// with the accepted forms.
func TestCheckOutput(t *testing.T) {
	for _, ok := range []string{
		"oci:./out", "oci:out:tag", "docker-archive:x.tar", "docker-archive:./x.tar:a/b:c",
		"registry.example/repo:tag", "localhost:5000/x:t", "registry:5000/team/app:1.0",
		"127.0.0.1:5000/x:latest", "[::1]:5000/x:t", "docker.io/library/python:3", "docker.io/python:3", "registry.example/repo", "ghcr.io/o/r@sha256:" + strings.Repeat("a", 64),
	} {
		if err := checkOutput(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, c := range []struct{ out, want string }{
		{"./dir", "is a path"},
		{"../dir", "is a path"},
		{"/abs/dir", "is a path"},
		{"dir/", "is a path"},
		{"a.b/c/", "is a path"},
		{"~/x", "is a path"},
		{".", "is a path"},
		{"..", "is a path"},
		{"dir", "no transport"},
		{"out.tar", "no transport"},
		{`dir\x`, "is a path"},
		{"", "empty"},
		{"word/x:t", "not a registry host"},
		{"a..b/x:t", "not a registry host"},
		{"host:99999/x:t", "not a registry host"},
		{"-bad.example/x:t", "not a registry host"},
		{"registry.example/Bad Repo:tag", "not a registry reference"},
	} {
		err := checkOutput(c.out)
		if err == nil {
			t.Errorf("%q accepted", c.out)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %q lacks %q", c.out, err, c.want)
		}
		if !strings.Contains(err.Error(), "REGISTRY/REPO:TAG") {
			t.Errorf("%q: error %q does not list the accepted forms", c.out, err)
		}
	}
}

// FuzzCheckOutput: checkOutput never panics, and what it accepts without
// a transport is a registry reference whose host is not a path.
func FuzzCheckOutput(f *testing.F) {
	for _, s := range []string{"./x", "a.b/c:d", "localhost:5000/x:t", "oci:x", "[::1]:1/x:y", "../x", "x/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkOutput(s) != nil || strings.HasPrefix(s, "oci:") || strings.HasPrefix(s, "docker-archive:") {
			return
		}
		ref, err := name.ParseReference(s)
		if err != nil {
			t.Fatalf("%q accepted but not a reference: %v", s, err)
		}
		if h := ref.Context().RegistryStr(); h == "" || strings.HasPrefix(h, ".") || !registryHost(h) {
			t.Fatalf("%q accepted with registry %q", s, h)
		}
	})
}

// TestParseOutput: an output parses and is written back as given; the
// forms checkOutput refuses, and malformed archives and
// layouts, are refused.
func TestParseOutput(t *testing.T) {
	for _, s := range []string{"oci:./out:v1", "oci-archive:x.tar", "docker-archive:x.tar", "docker-archive:x.tar:a/b:c", "registry.example/r:t"} {
		o, err := ParseOutput(s)
		if err != nil || o.String() != s {
			t.Errorf("%q: %q, %v", s, o, err)
		}
	}
	for _, bad := range []string{"", "./out", "out", "oci:", "docker-archive:", "oci-archive:", "docker-archive:x.tar:UPPER/Case",
		"oci-archive:x.tar:a b", "registry.example/UPPER:t"} {
		if o, err := ParseOutput(bad); err == nil {
			t.Errorf("%q: accepted as %q", bad, o)
		}
	}
}
