package distro

import (
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/deb"
	"github.com/distroless-dev/distroless/packages/rpm"
	"github.com/distroless-dev/distroless/profiles"
)

// TestGrammarAndPurl: a distro's grammar and purl spelling are its
// format's (packages/deb's, packages/rpm's); a distro of an unknown format
// accepts no name and has no purl type.
func TestGrammarAndPurl(t *testing.T) {
	want := map[string]struct {
		g packages.Grammar
		p packages.PurlSpelling
	}{deb.Format: {deb.Grammar, deb.Purl}, rpm.Format: {rpm.Grammar, rpm.Purl}}
	formats := map[string]bool{}
	for _, d := range Builtins() {
		w, ok := want[d.Format]
		if !ok {
			t.Fatalf("distro %s: format %q", d.Name, d.Format)
		}
		formats[d.Format] = true
		if d.Grammar() != w.g || d.Purl() != w.p || d.Purl().Type != d.Format {
			t.Errorf("distro %s (%s): grammar %T, purl %+v", d.Name, d.Format, d.Grammar(), d.Purl())
		}
	}
	if len(formats) != 2 {
		t.Errorf("built-in distros of formats %v, want deb and rpm", formats)
	}
	odd := &Distro{Name: "alpine", Format: "apk"}
	if err := odd.Grammar().CheckName("musl"); err == nil || !strings.Contains(err.Error(), `format "apk" is not supported`) {
		t.Errorf("an unknown format's grammar: %v", err)
	}
	if odd.Purl().Type != "" {
		t.Errorf("an unknown format's purl: %+v", odd.Purl())
	}
	for f, w := range want {
		if g, ok := GrammarOf(f); !ok || g != w.g {
			t.Errorf("GrammarOf(%q) = %T, %v", f, g, ok)
		}
	}
	for _, f := range []string{"", "apk"} {
		if g, ok := GrammarOf(f); ok || g != nil {
			t.Errorf("GrammarOf(%q) = %T, %v", f, g, ok)
		}
	}
}

// TestBuiltinProfileNames: every built-in profile's names fit the grammar
// of each format it serves (a profile without a format serves both), and
// every prune list's patterns their format's; a profile that names a
// package its format cannot spell is refused where it meets the format,
// naming the file and line.
func TestBuiltinProfileNames(t *testing.T) {
	grammars := map[string]packages.Grammar{deb.Format: deb.Grammar, rpm.Format: rpm.Grammar}
	n := 0
	for _, p := range profiles.Builtins() {
		for f, g := range grammars {
			if p.Format != "" && p.Format != f {
				continue
			}
			n++
			if err := p.CheckNames(g); err != nil {
				t.Errorf("profile %s for %s: %v", p.Name, f, err)
			}
		}
	}
	if n < 10 {
		t.Fatalf("%d built-in profiles checked", n)
	}
	for f, g := range grammars {
		rules, err := profiles.PruneList(f)
		if err != nil || len(rules) == 0 {
			t.Fatalf("prune list %s: %d rules, %v", f, len(rules), err)
		}
		for _, r := range rules {
			if err := g.CheckPattern(r.Name); err != nil {
				t.Errorf("prune list %s: %v", f, err)
			}
		}
	}
	for _, c := range []struct {
		yaml string
		g    packages.Grammar
		want string
	}{
		{"name: a\nformat: deb\npackages: [libc6, PyYAML]\n", deb.Grammar, "profile f.yaml: line 3: packages[1]: package name \"PyYAML\": not a Debian package name"},
		{"name: a\nformat: deb\nprune:\n  - name: 'Perl-*'\n", deb.Grammar, "profile f.yaml: line 4: prune[0]"},
		{"name: a\npackages:\n  - any: [libc6, 'x_y']\n", deb.Grammar, "line 3: packages[0].any[1]"},
	} {
		p, err := profiles.Decode("f.yaml", []byte(c.yaml))
		if err != nil {
			t.Fatalf("%q: %v (what any format allows is decoded)", c.yaml, err)
		}
		if err := p.CheckNames(c.g); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		}
	}
	p, err := profiles.Decode("f.yaml", []byte("name: a\nformat: rpm\npackages: [PyYAML, 'python3.{minor}-libs']\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckNames(rpm.Grammar); err != nil {
		t.Error(err)
	}
}
