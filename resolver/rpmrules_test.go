package resolver

import (
	"errors"
	"reflect"
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

func TestSearchBounded(t *testing.T) {
	// 16 independent choices of two candidates each, then one whose
	// candidates both need what the closure conflicts with: no
	// combination works, and trying them all (2^17) would take long. The
	// search gives up with an error naming the last dead end.
	var pkgs []*packages.Package
	var deps []string
	for i := range 16 {
		v := "v" + string(rune('a'+i))
		deps = append(deps, v)
		pkgs = append(pkgs, sized(pkg("p"+v+"1", "1", "", v), 1), sized(pkg("p"+v+"2", "1", "", v), 2))
	}
	blocker := pkg("blocker", "1", "")
	blocker.Conflicts = []packages.Atom{{Name: "xx"}}
	pkgs = append(pkgs, blocker, pkg("xx", "1", ""),
		pkg("l1", "1", "xx", "vlast"), pkg("l2", "1", "xx", "vlast"),
		pkg("app", "1", strings.Join(append(deps, "vlast", "blocker"), ", ")))
	ix := &fakeIndex{Pkgs: pkgs}
	_, err := Resolve(ix, []Level{{Name: "t", Roots: []Root{{Name: "app"}}}}, Options{})
	var th *TooHardError
	if !errors.As(err, &th) || !strings.Contains(err.Error(), "xx conflicts with blocker") {
		t.Fatalf("want the search to give up, got %v", err)
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
