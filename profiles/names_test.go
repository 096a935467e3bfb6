package profiles

import (
	"fmt"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
)

func TestDecodeChecksPackageNames(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"name: a\npackages:\n  - libc6\n  - ../../usr/share/x\n", "line 4: packages[1]"},
		{"name: a\npackages:\n  - any: [libc6, 'a b']\n", "line 3: packages[0].any[1]"},
		{"name: a\npackages:\n  - name: 'x/y'\n    deps: false\n", "line 3: packages[0]"},
		{"name: a\nformat: deb\npackages: ['a:b']\n", "not a package name"},
		{"name: a\nformat: rpm\npackages: [.hidden]\n", "not a package name"},
		{"name: a\nprune:\n  - name: ok\n  - name: '../*'\n", "line 4: prune[1]"},
		{"name: a\nprune:\n  - name: 'lib['\n", "line 3: prune[0]"},
		{"name: a\nprune:\n  - {name: x, why: y}\n", "line 3: field why not found in a prune entry"},
	} {
		_, err := Decode("f.yaml", []byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), "profile f.yaml") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		}
	}
	for _, ok := range []string{
		"name: a\npackages: [libstdc++6, g++-12, python3.11]\n",
		"name: a\nformat: rpm\npackages: [PyYAML, 'python3.{minor}-libs']\nprune: [{name: 'perl-*'}]\n",
		"name: a\npackages: ['{pkg}', 'lib{name}-dev']\n",
	} {
		if _, err := Decode("f.yaml", []byte(ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	// Decode checks what any format allows; a profile's own format's
	// grammar is checked where the profile meets a distro (CheckNames
	// with the driver's grammar: distro's TestBuiltinProfileNames checks
	// the built-in profiles and prune lists so).
	p, err := Decode("f.yaml", []byte("name: a\nformat: deb\npackages: [libc6, PyYAML]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckNames(upperRefused{}); err == nil || !strings.Contains(err.Error(), "profile f.yaml: line 3: packages[1]: PyYAML") {
		t.Errorf("CheckNames: %v", err)
	}
	for _, f := range []string{"deb", "rpm"} {
		rules, err := PruneList(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			if err := packages.AnyFormat.CheckPattern(r.Name); err != nil {
				t.Errorf("prune list %s: %v", f, err)
			}
		}
	}
}

// upperRefused is a grammar that refuses upper-case letters.
type upperRefused struct{}

func (upperRefused) check(s string) error {
	if strings.ToLower(s) != s {
		return fmt.Errorf("%s", s)
	}
	return nil
}
func (g upperRefused) CheckName(s string) error    { return g.check(s) }
func (g upperRefused) CheckVersion(s string) error { return g.check(s) }
func (g upperRefused) CheckArch(s string) error    { return g.check(s) }
func (g upperRefused) CheckPattern(s string) error { return g.check(s) }
