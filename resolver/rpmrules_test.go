package resolver

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
)

// RPM's rules in the neutral model: rich requirements, Conflicts matching
// Provides, Obsoletes matching names only.

func atomDep(name string) packages.Dep {
	return packages.Dep{Kind: packages.DepAtom, Atom: packages.Atom{Name: name}}
}

func sized(p *packages.Package, size int64) *packages.Package {
	p.InstalledSize = size
	return p
}

func TestRPMRichWithConflicts(t *testing.T) {
	app := pkg("app", "1", "")
	// (libsmall or libbig), and (tls if net) with net in the closure.
	app.Depends = []packages.Dep{
		{Kind: packages.DepOr, Args: []packages.Dep{atomDep("libsmall"), atomDep("libbig")}},
		atomDep("net"),
		{Kind: packages.DepIf, Args: []packages.Dep{atomDep("tls"), atomDep("net")}},
	}
	net := pkg("net", "1", "")
	net.Conflicts = []packages.Atom{{Name: "libsmall-abi"}} // a Provides of libsmall
	ix := &fakeIndex{Pkgs: []*packages.Package{
		app, net,
		sized(pkg("libsmall", "1", "", "libsmall-abi=1"), 10),
		sized(pkg("libbig", "1", ""), 1000),
		pkg("tls", "1", ""),
	}}
	r, err := Resolve(ix, []Level{{Name: "t", Roots: []Root{{Name: "app"}}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), []string{"app", "libbig", "net", "tls"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("closure %v, want %v", got, want)
	}
}

func TestRPMObsoletes(t *testing.T) {
	newTool := pkg("newtool", "3", "")
	// Obsoletes names packages, not what they provide: oldapi is
	// oldtool's Provides and does not count.
	newTool.Obsoletes = []packages.Atom{{Name: "oldtool", Op: "<", Version: "2"}, {Name: "oldapi"}}
	ix := &fakeIndex{Pkgs: []*packages.Package{
		pkg("app", "1", "api, oldapi"),
		newTool,
		sized(pkg("oldtool", "1", "", "api", "oldapi"), 10),
		sized(pkg("bigtool", "1", "", "api", "oldapi"), 500),
	}}
	levels := []Level{{Name: "base", Roots: []Root{{Name: "newtool"}}}, {Name: "app", Roots: []Root{{Name: "app"}}}}
	r, err := Resolve(ix, levels, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), []string{"app", "bigtool", "newtool"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("closure %v, want %v", got, want)
	}
	// Obsoletes on a version the closure's package does not have: no
	// conflict, the smaller provider is taken.
	newTool.Obsoletes = []packages.Atom{{Name: "oldtool", Op: "<", Version: "1"}, {Name: "api"}}
	r, err = Resolve(ix, levels, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), []string{"app", "newtool", "oldtool"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("closure %v, want %v", got, want)
	}
}

func TestRootConflict(t *testing.T) {
	a := pkg("aa", "1", "")
	a.Conflicts = []packages.Atom{{Name: "bb"}}
	ix := &fakeIndex{Pkgs: []*packages.Package{a, pkg("bb", "1", "")}}
	_, err := Resolve(ix, []Level{{Name: "t", Roots: []Root{{Name: "aa"}, {Name: "bb"}}}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "bb conflicts with aa (aa: Conflicts: bb)") {
		t.Fatalf("conflicting roots: %v", err)
	}
}

func TestImpossibleBehindChoices(t *testing.T) {
	// 40 independent choices of two candidates each, then one whose
	// candidates both need what the closure conflicts with: no
	// combination works. Going back one choice at a time would try 2^41
	// combinations; the dead end depends on none of the 40 choices, so
	// the search goes straight back past them and reports the set as
	// unsatisfiable, naming the chain and the conflicting pair.
	var pkgs []*packages.Package
	var deps []string
	for i := range 40 {
		v := fmt.Sprintf("v%02d", i)
		deps = append(deps, v)
		pkgs = append(pkgs, sized(pkg("p"+v+"a", "1", "", v), 1), sized(pkg("p"+v+"b", "1", "", v), 2))
	}
	blocker := pkg("blocker", "1", "")
	blocker.Conflicts = []packages.Atom{{Name: "xx"}}
	pkgs = append(pkgs, blocker, pkg("xx", "1", ""),
		pkg("l1", "1", "xx", "vlast"), pkg("l2", "1", "xx", "vlast"),
		pkg("app", "1", strings.Join(append(deps, "vlast", "blocker"), ", ")))
	ix := &fakeIndex{Pkgs: pkgs}
	_, err := Resolve(ix, []Level{{Name: "t", Roots: []Root{{Name: "app"}}}}, Options{})
	var ue *UnsatisfiableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "unsatisfiable dependency xx, required by app → l2: xx conflicts with blocker (blocker: Conflicts: xx), in through app → blocker") {
		t.Fatalf("want an unsatisfiable error, got %v", err)
	}
	var d *deadEnd
	if errors.As(err, &d) {
		t.Fatalf("the search's own error type leaked: %T", err)
	}
}

func TestSearchBounded(t *testing.T) {
	// A choice only backtracking finds (see TestBacktracking) takes five
	// tries (p1, t1, t2, p2, t1); with a bound of two the search gives
	// up, naming the last dead end.
	defer func(n int) { maxTries = n }(maxTries)
	maxTries = 2
	p1 := sized(pkg("p1", "1", "", "v"), 10)
	p1.Conflicts = []packages.Atom{{Name: "s1"}, {Name: "s2"}}
	ix := &fakeIndex{Pkgs: []*packages.Package{
		pkg("app", "1", "v, t"), p1, sized(pkg("p2", "1", "", "v"), 700),
		pkg("t1", "1", "s1", "t"), sized(pkg("t2", "1", "s2", "t"), 50), pkg("s1", "1", ""), pkg("s2", "1", ""),
	}}
	_, err := Resolve(ix, []Level{{Name: "t", Roots: []Root{{Name: "app"}}}}, Options{})
	var th *TooHardError
	if !errors.As(err, &th) || !strings.Contains(err.Error(), "no closure found after trying 2 candidates") || !strings.Contains(err.Error(), "s1 conflicts with p1") {
		t.Fatalf("want the search to give up, got %v", err)
	}
	maxTries = 5
	r, err := Resolve(ix, []Level{{Name: "t", Roots: []Root{{Name: "app"}}}}, Options{})
	if err != nil || !reflect.DeepEqual(names(r), []string{"app", "p2", "s1", "t1"}) {
		t.Fatalf("with five tries: %v %v", err, r)
	}
}

func TestRichElseThenCondition(t *testing.T) {
	// (plugin if engine else fallback): engine is not in the closure
	// when the condition is decided, so fallback is taken; fallback needs
	// engine-api, which only engine provides. Now engine is in: plugin
	// is required too.
	app := pkg("app", "1", "")
	app.Depends = []packages.Dep{
		{Kind: packages.DepIf, Args: []packages.Dep{atomDep("plugin"), atomDep("engine"), atomDep("fallback")}},
	}
	ix := &fakeIndex{Pkgs: []*packages.Package{
		app, pkg("fallback", "1", "engine-api"), pkg("engine", "1", "", "engine-api"), pkg("plugin", "1", ""),
	}}
	r, err := Resolve(ix, []Level{{Name: "t", Roots: []Root{{Name: "app"}}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), []string{"app", "engine", "fallback", "plugin"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("closure %v, want %v", got, want)
	}
}

func TestBackjumpToCulprit(t *testing.T) {
	// v is decided first (p1, the smaller), then 20 unrelated choices,
	// then t, both of whose candidates need what p1 conflicts with. The
	// dead end depends on v alone: the search goes back to it past the
	// 20 (2^20 combinations one at a time) and takes p2; the 20 keep
	// their first candidates.
	p1 := sized(pkg("p1", "1", "", "v"), 10)
	p1.Conflicts = []packages.Atom{{Name: "s1"}, {Name: "s2"}}
	defer func(n int) { maxTries = n }(maxTries)
	maxTries = 200 // far below 2^20: only a jump back gets there
	r, err := Resolve(&fakeIndex{Pkgs: culpritIndex(p1)}, []Level{{Name: "t", Roots: []Root{{Name: "app"}}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), culpritClosure(); !reflect.DeepEqual(got, want) {
		t.Fatalf("closure %v\nwant    %v", got, want)
	}
}

// culpritIndex is TestBackjumpToCulprit's index: app needs v (p1, the
// smaller, or p2), 20 unrelated virtuals u00…u19 (each with a smaller and
// a bigger provider) and t (t1 needing s1, or the bigger t2 needing s2);
// extra packages join it.
func culpritIndex(p1 *packages.Package, extra ...*packages.Package) []*packages.Package {
	pkgs := append([]*packages.Package{p1, sized(pkg("p2", "1", "", "v"), 700),
		pkg("t1", "1", "s1", "t"), sized(pkg("t2", "1", "s2", "t"), 50), pkg("s1", "1", ""), pkg("s2", "1", "")}, extra...)
	deps := []string{"v"}
	for i := range 20 {
		u := fmt.Sprintf("u%02d", i)
		deps = append(deps, u)
		pkgs = append(pkgs, sized(pkg("q"+u+"a", "1", "", u), 1), sized(pkg("q"+u+"b", "1", "", u), 2))
	}
	return append(pkgs, pkg("app", "1", strings.Join(append(deps, "t"), ", ")))
}

// culpritClosure is the closure wanted of culpritIndex once the search
// has gone back to v: p2, the 20 smaller providers, t1 and s1, and the
// extra names, sorted.
func culpritClosure(extra ...string) []string {
	want := append([]string{"app", "p2", "s1", "t1"}, extra...)
	for i := range 20 {
		want = append(want, fmt.Sprintf("qu%02da", i))
	}
	sort.Strings(want)
	return want
}
