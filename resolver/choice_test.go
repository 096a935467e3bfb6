package resolver_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages/deb/debtest"
	"github.com/distroless-dev/distroless/resolver"
)

// One fixture per rule of choice, over a generated Debian archive (so the
// Conflicts and Breaks fields go through the same parser as a mirror's).

func names(r *resolver.Result) []string {
	var out []string
	for _, s := range r.Packages {
		out = append(out, s.Pkg.Name)
	}
	return out
}

func TestVirtualSmallestClosure(t *testing.T) {
	ix := debIndex(t, debtest.Suite{Name: "stable", Packages: []debtest.Package{
		{Name: "app", Version: "1", Depends: "awk"},
		// gawk is first by name and small itself, but brings 6000 KiB.
		{Name: "gawk", Version: "5", Provides: "awk", InstalledSize: 100, Depends: "libgmp, libmpfr"},
		{Name: "libgmp", Version: "1", InstalledSize: 3000},
		{Name: "libmpfr", Version: "1", InstalledSize: 3000, Depends: "libgmp"},
		{Name: "mawk", Version: "1", Provides: "awk", InstalledSize: 300},
		// original-awk is the smallest package, its closure is not.
		{Name: "original-awk", Version: "1", Provides: "awk", InstalledSize: 50, Depends: "libmid"},
		{Name: "libmid", Version: "1", InstalledSize: 1000},
	}})
	r, err := closure(t, ix, "app")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), []string{"app", "mawk"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("closure %v, want %v", got, want)
	}
	if len(r.Choices) != 1 {
		t.Fatalf("choices: %+v", r.Choices)
	}
	c := r.Choices[0]
	var opts []string
	for _, o := range c.Options {
		opts = append(opts, o.Name)
	}
	if c.Dep != "awk" || c.Chosen != "mawk" || c.Why != "the smallest added closure" || !reflect.DeepEqual(opts, []string{"mawk", "original-awk", "gawk"}) ||
		c.Options[0].Added != 300*1024 || c.Options[1].Added != 1050*1024 || c.Options[2].Added != 6100*1024 || c.Options[2].Packages != 3 {
		t.Fatalf("choice record: %+v", c)
	}
	// The same index and roots always give the same answer.
	for range 5 {
		again, err := closure(t, ix, "app")
		if err != nil || !reflect.DeepEqual(names(again), names(r)) {
			t.Fatalf("a second resolution differs: %v %v", names(again), err)
		}
	}
}

func TestTieKeepsOrder(t *testing.T) {
	ix := debIndex(t, debtest.Suite{Name: "stable", Packages: []debtest.Package{
		{Name: "app", Version: "1", Depends: "zed | alpha, virt"},
		{Name: "zed", Version: "1", InstalledSize: 10},
		{Name: "alpha", Version: "1", InstalledSize: 10},
		{Name: "p-b", Version: "1", Provides: "virt", InstalledSize: 10},
		{Name: "p-a", Version: "1", Provides: "virt", InstalledSize: 10},
	}})
	r, err := closure(t, ix, "app")
	if err != nil {
		t.Fatal(err)
	}
	// Equal sizes: the first alternative as written; providers by name.
	if got, want := names(r), []string{"app", "p-a", "zed"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("closure %v, want %v", got, want)
	}
}

func TestAlreadyMetStaysMet(t *testing.T) {
	ix := debIndex(t, debtest.Suite{Name: "stable", Packages: []debtest.Package{
		// libscalar (>= 1.5) comes first, but perl (pulled in plainly
		// after it) provides it at that version: nothing more is needed.
		{Name: "app", Version: "1", Depends: "libscalar (>= 1.5), perl, tools | perl"},
		{Name: "libscalar", Version: "1.6", InstalledSize: 10},
		{Name: "perl", Version: "5", Provides: "libscalar (= 1.6)", InstalledSize: 5000},
		{Name: "tools", Version: "1", InstalledSize: 1},
	}})
	r, err := closure(t, ix, "app")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), []string{"app", "perl"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("closure %v, want %v", got, want)
	}
}

func TestConflictsForceSecondAlternative(t *testing.T) {
	ix := debIndex(t, debtest.Suite{Name: "stable", Packages: []debtest.Package{
		{Name: "app", Version: "1", Depends: "mta-small | mta-big, libx, client"},
		{Name: "mta-small", Version: "1", InstalledSize: 10},
		{Name: "mta-big", Version: "1", InstalledSize: 500},
		// libx conflicts with the smaller one; client is declared
		// conflicting by the smaller provider of its virtual.
		{Name: "libx", Version: "1", Extra: "Conflicts: mta-small"},
		{Name: "client", Version: "1", Depends: "ssl"},
		{Name: "ssl-small", Version: "1", Provides: "ssl", InstalledSize: 10, Extra: "Conflicts: client"},
		{Name: "ssl-big", Version: "1", Provides: "ssl", InstalledSize: 900},
	}})
	r, err := closure(t, ix, "app")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), []string{"app", "client", "libx", "mta-big", "ssl-big"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("closure %v, want %v", got, want)
	}
	for _, c := range r.Choices {
		if c.Dep == "mta-small | mta-big" {
			if c.Chosen != "mta-big" || c.Options[1].Name != "mta-small" || !strings.Contains(c.Options[1].Rejected, "libx: Conflicts: mta-small") ||
				c.Why != "the only candidate that conflicts with nothing in the closure" {
				t.Fatalf("choice record: %+v", c)
			}
		}
	}
}

func TestBreaksVersionRange(t *testing.T) {
	pkgs := func(pluginVersion string) []debtest.Package {
		return []debtest.Package{
			{Name: "app", Version: "1", Depends: "libcore, plugin | plugin-compat"},
			{Name: "libcore", Version: "3.0", Extra: "Breaks: plugin (<< 2.0~), plugin (>= 9)"},
			{Name: "plugin", Version: pluginVersion, InstalledSize: 10},
			{Name: "plugin-compat", Version: "1", InstalledSize: 800},
		}
	}
	for _, tc := range []struct{ version, want string }{
		{"1.5-1", "plugin-compat"}, // broken: below 2.0~
		{"2.0~rc1", "plugin"},      // not broken: 2.0~rc1 >= 2.0~
		{"2.4", "plugin"},
		{"9.1", "plugin-compat"}, // broken: the second range
	} {
		ix := debIndex(t, debtest.Suite{Name: "stable", Packages: pkgs(tc.version)})
		r, err := closure(t, ix, "app")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := names(r), []string{"app", "libcore", tc.want}; !reflect.DeepEqual(got, want) {
			t.Fatalf("plugin %s: closure %v, want %v", tc.version, got, want)
		}
	}
}

func TestBacktracking(t *testing.T) {
	ix := debIndex(t, debtest.Suite{Name: "stable", Packages: []debtest.Package{
		// v is decided first: p1 is smaller and conflicts with nothing yet.
		// Only when t is decided does it turn out that both of t's
		// providers need something p1 conflicts with; the search goes
		// back and takes p2.
		{Name: "app", Version: "1", Depends: "v, t"},
		{Name: "p1", Version: "1", Provides: "v", InstalledSize: 10, Extra: "Conflicts: s1, s2"},
		{Name: "p2", Version: "1", Provides: "v", InstalledSize: 700},
		{Name: "t1", Version: "1", Provides: "t", Depends: "s1"},
		{Name: "t2", Version: "1", Provides: "t", Depends: "s2", InstalledSize: 50},
		{Name: "s1", Version: "1"},
		{Name: "s2", Version: "1"},
	}})
	r, err := closure(t, ix, "app")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), []string{"app", "p2", "s1", "t1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("closure %v, want %v", got, want)
	}
	// The record says p1 was tried first and why it failed.
	c := r.Choices[0]
	if c.Dep != "v" || c.Chosen != "p2" || !strings.HasPrefix(c.Why, "the candidates before it led to no closure: p1 (unsatisfiable dependency s2, required by app → t2: s2 conflicts with p1 (p1: Conflicts: s2)") {
		t.Fatalf("choice record: %+v", c)
	}
}

func TestCycleThroughVirtual(t *testing.T) {
	ix := debIndex(t, debtest.Suite{Name: "stable", Packages: []debtest.Package{
		{Name: "aa", Version: "1", Depends: "vv"},
		{Name: "bb", Version: "1", Provides: "vv", Depends: "aa, cc"},
		{Name: "cc", Version: "1", Depends: "vv"},
		{Name: "other", Version: "1", Provides: "vv", InstalledSize: 5000},
	}})
	r, err := closure(t, ix, "aa")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), []string{"aa", "bb", "cc"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("closure %v, want %v", got, want)
	}
}

func TestImpossibleSet(t *testing.T) {
	ix := debIndex(t, debtest.Suite{Name: "stable", Packages: []debtest.Package{
		{Name: "app", Version: "1", Depends: "lib, tool"},
		{Name: "lib", Version: "1", Depends: "libssl1 | libssl3"},
		{Name: "libssl1", Version: "1", Extra: "Conflicts: tool"},
		{Name: "libssl3", Version: "1", Extra: "Breaks: tool (<< 3)"},
		{Name: "tool", Version: "2"},
	}})
	_, err := closure(t, ix, "app")
	var ue *resolver.UnsatisfiableError
	if !errors.As(err, &ue) {
		t.Fatalf("want an unsatisfiable error, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"libssl1 | libssl3", "required by app → lib",
		"libssl1 conflicts with tool (libssl1: Conflicts: tool), in through app → tool",
		"libssl3 conflicts with tool (libssl3: Breaks: tool (< 3)), in through app → tool"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("message %q lacks %q", msg, want)
		}
	}
}

func TestTiePriority(t *testing.T) {
	ix := debIndex(t, debtest.Suite{Name: "stable", Packages: []debtest.Package{
		{Name: "app", Version: "1", Depends: "virt, zed | alpha, real"},
		// Same sizes everywhere: the rules after the added closure decide.
		// virt: Priority, whatever the names (p-a first by name).
		{Name: "p-a", Version: "1", Provides: "virt", InstalledSize: 10, Extra: "Priority: optional"},
		{Name: "p-b", Version: "1", Provides: "virt", InstalledSize: 10, Extra: "Priority: important"},
		{Name: "p-c", Version: "1", Provides: "virt", InstalledSize: 10},
		// The first alternative, whatever the Priority.
		{Name: "zed", Version: "1", InstalledSize: 10, Extra: "Priority: extra"},
		{Name: "alpha", Version: "1", InstalledSize: 10, Extra: "Priority: required"},
		// The package of the name required over a provider of it.
		{Name: "real", Version: "1", InstalledSize: 10, Extra: "Priority: optional"},
		{Name: "fake", Version: "1", Provides: "real", InstalledSize: 10, Extra: "Priority: required"},
	}})
	r, err := closure(t, ix, "app")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), []string{"app", "p-b", "real", "zed"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("closure %v, want %v", got, want)
	}
	why := map[string]*resolver.Choice{}
	for _, c := range r.Choices {
		why[c.Dep] = c
	}
	for dep, want := range map[string]string{
		"virt":        "the same added closure as p-a; then Priority (p-b 2, p-a 4)",
		"zed | alpha": "the same added closure as alpha; then the first alternative",
		"real":        "the same added closure as fake; then the package of the name required, not a provider",
	} {
		c := why[dep]
		if c == nil || c.Why != want {
			t.Fatalf("choice %s: %+v, want why %q", dep, c, want)
		}
	}
	var order []string
	for _, o := range why["virt"].Options {
		order = append(order, fmt.Sprintf("%s:%d", o.Name, o.Priority))
	}
	// Unranked last.
	if want := []string{"p-b:2", "p-a:4", "p-c:0"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("virt's options %v, want %v", order, want)
	}
}
