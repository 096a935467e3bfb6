package resolver

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
)

// Rich Conflicts and Obsoletes (RPM boolean relations) in the neutral
// model, one operator at a time: a guard package at the root carries the
// relation, app needs the virtual v, which small (10 bytes) and big
// (1000) provide. When the relation would hold with small, big is taken;
// when not, small.

func op(kind packages.DepKind, args ...packages.Dep) packages.Dep {
	return packages.Dep{Kind: kind, Args: args}
}

// richFixture resolves roots over the fixture, the guard carrying rel.
func richFixture(t *testing.T, rel packages.Dep, obsoletes bool, roots ...string) (*Result, error) {
	t.Helper()
	guard := pkg("guard", "1", "")
	if obsoletes {
		guard.ObsoletesRich = []packages.Dep{rel}
	} else {
		guard.ConflictsRich = []packages.Dep{rel}
	}
	ix := &fakeIndex{Pkgs: []*packages.Package{
		guard,
		pkg("app", "1", "v"),
		sized(pkg("small", "1", "", "v", "tls", "smallfeat"), 10),
		sized(pkg("big", "1", "", "v", "bigfeat"), 1000),
		pkg("bb", "1", ""), pkg("cc", "1", ""),
		pkg("tlsprov", "1", "", "tls", "tlsx"),
	}}
	var rs []Root
	for _, r := range append([]string{"guard", "app"}, roots...) {
		rs = append(rs, Root{Name: r})
	}
	return Resolve(ix, []Level{{Name: "t", Roots: rs}}, Options{})
}

func TestRichConflictOperators(t *testing.T) {
	a := atomDep
	for _, c := range []struct {
		name   string
		rel    packages.Dep
		roots  []string
		obs    bool
		chosen string // small: the relation does not hold with it; big: it does
	}{
		{"and, both in", op(packages.DepAnd, a("small"), a("bb")), []string{"bb"}, false, "big"},
		{"and, one absent", op(packages.DepAnd, a("small"), a("bb")), nil, false, "small"},
		{"or inside and", op(packages.DepAnd, op(packages.DepOr, a("nothing"), a("small")), a("bb")), []string{"bb"}, false, "big"},
		// (small if bb): holds when bb is in and small too; rpm's reverse
		// reading, not "small or not bb".
		{"if, condition in", op(packages.DepIf, a("small"), a("bb")), []string{"bb"}, false, "big"},
		{"if, condition absent", op(packages.DepIf, a("small"), a("bb")), nil, false, "small"},
		// (bb if cc else small): cc in → bb, absent; cc absent → small.
		{"if-else, condition in", op(packages.DepIf, a("bb"), a("cc"), a("small")), []string{"cc"}, false, "small"},
		{"if-else, condition absent", op(packages.DepIf, a("bb"), a("cc"), a("small")), nil, false, "big"},
		// (small unless bb): holds when small is in and bb is not.
		{"unless, condition in", op(packages.DepUnless, a("small"), a("bb")), []string{"bb"}, false, "small"},
		{"unless, condition absent", op(packages.DepUnless, a("small"), a("bb")), nil, false, "big"},
		// (cc unless bb else small): bb in → small; bb absent → cc.
		{"unless-else, condition in", op(packages.DepUnless, a("cc"), a("bb"), a("small")), []string{"bb"}, false, "big"},
		{"unless-else, condition absent", op(packages.DepUnless, a("cc"), a("bb"), a("small")), nil, false, "small"},
		// (v with tls): one package providing both (small). (small with
		// tlsx) does not hold when tlsx comes from another package, as
		// (small and tlsx) does.
		{"with, one package has both", op(packages.DepWith, a("v"), a("tls")), nil, false, "big"},
		{"with, two packages", op(packages.DepWith, a("small"), a("tlsx")), []string{"tlsprov"}, false, "small"},
		{"and, two packages", op(packages.DepAnd, a("small"), a("tlsx")), []string{"tlsprov"}, false, "big"},
		// (v without bigfeat): small is such a package; big is not.
		{"without, holds", op(packages.DepWithout, a("v"), a("bigfeat")), nil, false, "big"},
		{"without, does not hold", op(packages.DepWithout, a("v"), a("smallfeat")), nil, false, "small"},
		// Obsoletes match package names only: v is small's Provides.
		{"obsoletes by name", op(packages.DepAnd, a("small"), a("bb")), []string{"bb"}, true, "big"},
		{"obsoletes, a Provides", op(packages.DepAnd, a("v"), a("bb")), []string{"bb"}, true, "small"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := richFixture(t, c.rel, c.obs, c.roots...)
			if err != nil {
				t.Fatal(err)
			}
			got := names(r)
			has := func(n string) bool {
				for _, g := range got {
					if g == n {
						return true
					}
				}
				return false
			}
			other := map[string]string{"small": "big", "big": "small"}[c.chosen]
			if !has(c.chosen) || has(other) {
				t.Fatalf("%s: closure %v, want %s, not %s", c.rel, got, c.chosen, other)
			}
		})
	}
}

func TestRichConflictUnsatisfiable(t *testing.T) {
	a := atomDep
	// Both providers of v are kept out while bb is in: found at once,
	// the message names the relation, the pair and the chains.
	_, err := richFixture(t, op(packages.DepAnd, op(packages.DepOr, a("small"), a("big")), a("bb")), false, "bb")
	var ue *UnsatisfiableError
	if !errors.As(err, &ue) {
		t.Fatalf("want an unsatisfiable error, got %v", err)
	}
	for _, want := range []string{"unsatisfiable dependency v, required by app",
		"guard conflicts with small and bb (guard: Conflicts: ((small | big) and bb)), in through guard; bb in through bb",
		"guard conflicts with big and bb"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	// Both kept out only while bb is absent: each is taken, and the
	// finished closure refused; no closure is left.
	_, err = richFixture(t, op(packages.DepUnless, a("v"), a("bb")), false)
	var ce *ConflictError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "guard conflicts with ") || !strings.Contains(err.Error(), "(guard: Conflicts: (v unless bb)), in through guard") {
		t.Fatalf("want a conflict error naming the pair, got %v", err)
	}
	var d *deadEnd
	if errors.As(err, &d) {
		t.Fatalf("the search's own error type leaked: %T", err)
	}
	// A self-conflict does not count: guard provides what it conflicts with.
	guard := pkg("guard", "1", "", "v")
	guard.ConflictsRich = []packages.Dep{op(packages.DepAnd, a("v"), a("guard"))}
	if _, err := Resolve(&fakeIndex{Pkgs: []*packages.Package{guard}}, []Level{{Name: "t", Roots: []Root{{Name: "guard"}}}}, Options{}); err != nil {
		t.Fatalf("self-conflict: %v", err)
	}
}

func TestRichConflictBackjump(t *testing.T) {
	// As TestBackjumpToCulprit, p1's conflict a rich one: (s1 and
	// marker) or (s2 and marker), marker a root. t's dead end depends on
	// the choice of v alone: the search goes back to it past 20 unrelated
	// choices (a million combinations one at a time) and takes p2.
	a := atomDep
	p1 := sized(pkg("p1", "1", "", "v"), 10)
	p1.ConflictsRich = []packages.Dep{op(packages.DepOr, op(packages.DepAnd, a("s1"), a("marker")), op(packages.DepAnd, a("s2"), a("marker")))}
	defer func(n int) { maxTries = n }(maxTries)
	maxTries = 200 // far below 2^20: only a jump back gets there
	r, err := Resolve(&fakeIndex{Pkgs: culpritIndex(p1, pkg("marker", "1", ""))}, []Level{{Name: "t", Roots: []Root{{Name: "marker"}, {Name: "app"}}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), culpritClosure("marker"); !reflect.DeepEqual(got, want) {
		t.Fatalf("closure %v\nwant    %v", got, want)
	}
}

func TestRichConflictFinalCheckBacktracks(t *testing.T) {
	// guard: Conflicts (small unless bb). small is taken for v (bb is
	// not in yet, so the relation may still come to be false); w is a
	// later choice of bb (big closure) or cc (small): cc is taken and the
	// finished closure refused, then bb: the relation no longer holds and
	// small stays.
	a := atomDep
	guard := pkg("guard", "1", "")
	guard.ConflictsRich = []packages.Dep{op(packages.DepUnless, a("small"), a("bb"))}
	ix := &fakeIndex{Pkgs: []*packages.Package{
		guard, pkg("app", "1", "v, w"),
		sized(pkg("small", "1", "", "v"), 10), sized(pkg("big", "1", "", "v"), 1000),
		sized(pkg("bb", "1", "", "w"), 300), sized(pkg("cc", "1", "", "w"), 20),
	}}
	r, err := Resolve(ix, []Level{{Name: "t", Roots: []Root{{Name: "guard"}, {Name: "app"}}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), []string{"app", "bb", "guard", "small"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("closure %v, want %v", got, want)
	}
}
