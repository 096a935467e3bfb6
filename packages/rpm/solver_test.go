package rpm

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/packages/rpm/rpmtest"
	"github.com/distroless-dev/distroless/resolver"
)

// entry is a package added to a copy of the fixture's primary.xml: the
// resolver reads it through this package's parser and EVR rules.
type entry struct {
	name, ver string
	size      int
	provides  []string // "name" or "name flags ver"
	requires  []string // as rpm writes them, rich ones in parentheses
	conflicts []string
	obsoletes []string
}

func (e entry) xml() string {
	rel := func(tag string, items []string) string {
		if len(items) == 0 {
			return ""
		}
		var b strings.Builder
		fmt.Fprintf(&b, "<rpm:%s>", tag)
		for _, it := range items {
			f := strings.Fields(it)
			if len(f) == 3 && !strings.HasPrefix(it, "(") {
				fmt.Fprintf(&b, `<rpm:entry name="%s" flags="%s" epoch="0" ver="%s"/>`, f[0], f[1], f[2])
			} else {
				fmt.Fprintf(&b, `<rpm:entry name="%s"/>`, strings.ReplaceAll(strings.ReplaceAll(it, "<", "&lt;"), ">", "&gt;"))
			}
		}
		fmt.Fprintf(&b, "</rpm:%s>", tag)
		return b.String()
	}
	return fmt.Sprintf(`<package type="rpm"><name>%s</name><arch>x86_64</arch><version epoch="0" ver="%s" rel="1"/>`+
		`<checksum type="sha256" pkgid="YES">%064x</checksum><size package="100" installed="%d" archive="100"/>`+
		`<location href="%s-%s-1.x86_64.rpm"/><format><rpm:sourcerpm>%s-%s-1.src.rpm</rpm:sourcerpm>%s%s%s%s</format></package>`,
		e.name, e.ver, len(e.name)*1000+e.size, e.size, e.name, e.ver, e.name, e.ver,
		rel("provides", append([]string{e.name + " EQ " + e.ver}, e.provides...)), rel("requires", e.requires),
		rel("conflicts", e.conflicts), rel("obsoletes", e.obsoletes))
}

// TestResolveRPMRelations resolves over a signed copy of the fixture's
// repositories with packages added to primary.xml: rich requirements
// (or, and, if, unless … else, without), a Conflicts on a version range
// (rpm's EVR order) and a rich one of "or", and an Obsoletes from a
// lower level, all decided by the format-neutral resolver.
func TestResolveRPMRelations(t *testing.T) {
	fx := needFixture(t)
	root := t.TempDir()
	if out, err := exec.Command("cp", "-a", filepath.Dir(fx.Repos["releases"])+"/.", root).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	added := []entry{
		{name: "zz-app", ver: "1", requires: []string{
			"zz-tls",  // two providers; the smaller conflicts with zz-tool
			"zz-tool", // 1.5
			"zz-api",  // the small provider is obsoleted by the base level
			"((zz-json-fast or zz-json-slow) and (zz-plugin if zz-tool))",
			"(zz-lang unless zz-tool else zz-lang-min)",
			"(zz-codec without zz-codec-debug)",
		}},
		{name: "zz-tls-small", ver: "1", size: 10, provides: []string{"zz-tls"}, conflicts: []string{"zz-tool LT 2.0"}},
		{name: "zz-tls-tiny", ver: "1", size: 5, provides: []string{"zz-tls"}, conflicts: []string{"(zz-nothing or zz-tool)"}},
		{name: "zz-tls-big", ver: "1", size: 900, provides: []string{"zz-tls"}, conflicts: []string{"zz-tool LT 1.0"}},
		// The smallest, but its rich Conflicts holds once zz-plugin (which
		// zz-tool brings through zz-app's if) is in: the search comes back.
		{name: "zz-tls-rich", ver: "1", size: 1, provides: []string{"zz-tls"}, conflicts: []string{"(zz-tool and zz-plugin)"}},
		{name: "zz-tool", ver: "1.5"},
		{name: "zz-base", ver: "3", obsoletes: []string{"zz-oldapi LT 3"}},
		{name: "zz-oldapi", ver: "2", size: 10, provides: []string{"zz-api"}},
		{name: "zz-newapi", ver: "1", size: 700, provides: []string{"zz-api"}},
		// Does not hold: zz-tool is in (read as "zz-lang or zz-tool" it would).
		{name: "zz-json-fast", ver: "1", size: 10, conflicts: []string{"(zz-lang unless zz-tool)"}},
		{name: "zz-json-slow", ver: "1", size: 300},
		{name: "zz-plugin", ver: "1"},
		{name: "zz-lang", ver: "1"},
		{name: "zz-lang-min", ver: "1"},
		{name: "zz-codec-debug", ver: "1", size: 1, provides: []string{"zz-codec"}},
		{name: "zz-codec-plain", ver: "1", size: 50, provides: []string{"zz-codec"}},
	}
	rel := filepath.Join(root, "releases")
	err := rpmtest.RewritePrimary(rel, func(b []byte) []byte {
		var more strings.Builder
		for _, e := range added {
			more.WriteString(e.xml() + "\n")
		}
		s := string(b)
		i := strings.LastIndex(s, "</metadata>")
		if i < 0 {
			t.Fatal("no </metadata> in primary.xml")
		}
		return []byte(s[:i] + more.String() + s[i:])
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.SignRepomd(fx.GPGHome, rel); err != nil {
		t.Fatal(err)
	}
	ix, err := Open(context.Background(), &fetch.Cache{Dir: t.TempDir()}, fixtureSpec(t, serve(t, root)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := resolver.Resolve(ix, []resolver.Level{
		{Name: "base", Roots: []resolver.Root{{Name: "zz-base"}}},
		{Name: "app", Roots: []resolver.Root{{Name: "zz-app"}}},
	}, resolver.Options{})
	if err != nil {
		t.Fatalf("%v (index problems: %v)", err, ix.Problems())
	}
	var got []string
	for _, s := range res.Packages {
		got = append(got, s.Pkg.Name)
	}
	want := []string{"zz-app", "zz-base", "zz-codec-plain", "zz-json-fast", "zz-lang-min", "zz-newapi", "zz-plugin", "zz-tls-big", "zz-tool"}
	if !slices.Equal(got, want) {
		t.Fatalf("closure %v\nwant    %v", got, want)
	}
	why := map[string]string{}
	for _, c := range res.Choices {
		for _, o := range c.Options {
			if o.Rejected != "" {
				why[o.Name] = o.Rejected
			}
		}
	}
	tls := false
	for _, c := range res.Choices {
		if c.Chosen == "zz-tls-big" {
			tls = true
			if !strings.Contains(c.Why, "zz-tls-rich conflicts with zz-tool and zz-plugin (zz-tls-rich: Conflicts: (zz-tool and zz-plugin))") {
				t.Errorf("zz-tls chosen because %q, want zz-tls-rich's rich conflict named", c.Why)
			}
		}
	}
	if !tls {
		t.Errorf("no choice of zz-tls-big among %d choices", len(res.Choices))
	}
	for name, want := range map[string]string{
		"zz-tls-small": "zz-tls-small conflicts with zz-tool (zz-tls-small: Conflicts: zz-tool (< 2.0))",
		"zz-tls-tiny":  "zz-tls-tiny conflicts with zz-tool (zz-tls-tiny: Conflicts: zz-tool)",
		"zz-oldapi":    "zz-oldapi conflicts with zz-base (zz-base: Obsoletes: zz-oldapi (< 3))",
	} {
		if !strings.HasPrefix(why[name], want) {
			t.Errorf("%s rejected: %q, want %q…", name, why[name], want)
		}
	}
}
