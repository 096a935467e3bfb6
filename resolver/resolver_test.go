package resolver

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/packagestest"
)

type fakeIndex = packagestest.Index

var (
	pkg       = packagestest.Pkg
	parseAtom = packagestest.Atom
)

func names(r *Result) []string {
	var n []string
	for _, s := range r.Packages {
		n = append(n, s.Pkg.Name)
	}
	return n
}

func prunedNames(r *Result) []string {
	var n []string
	for _, p := range r.Pruned {
		n = append(n, p.Name)
	}
	return n
}

var defaultPrune = []PruneRule{
	{Name: "dpkg", Reason: "package manager"},
	{Name: "debconf", Reason: "maintainer scripts"},
	{Name: "debconf-2.0", Reason: "maintainer scripts"},
	{Name: "*sh", Reason: "shell"},
}

func resolve(t *testing.T, ix *fakeIndex, roots ...string) (*Result, error) {
	t.Helper()
	var rs []Root
	for _, r := range roots {
		rs = append(rs, Root{Name: r})
	}
	return Resolve(ix, []Level{{Name: "test", Roots: rs}}, Options{Prune: defaultPrune})
}

func TestClosure(t *testing.T) {
	ix := &fakeIndex{Pkgs: []*packages.Package{
		pkg("app", "1", "libc, libz>=2, tzdata"),
		pkg("libc", "5", "libgcc"),
		pkg("libgcc", "1", "libc"), // a cycle
		pkg("libz", "3", "libc"),
		pkg("tzdata", "1", "debconf | debconf-2.0"),
		pkg("debconf", "1", "perl"),
		pkg("perl", "1", ""),
		pkg("unused", "1", ""),
	}}
	r, err := resolve(t, ix, "app")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), []string{"app", "libc", "libgcc", "libz", "tzdata"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("closure = %v, want %v", got, want)
	}
	if got, want := prunedNames(r), []string{"debconf"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("pruned = %v, want %v", got, want)
	}
	if r.Pruned[0].Reason != "maintainer scripts" || !reflect.DeepEqual(r.Pruned[0].NeededBy, []string{"tzdata"}) {
		t.Fatalf("pruned record = %+v", r.Pruned[0])
	}
	for _, s := range r.Packages {
		if s.Pkg.Name == "libgcc" && !reflect.DeepEqual(s.Chain, []string{"app", "libc", "libgcc"}) {
			t.Fatalf("chain of libgcc = %v", s.Chain)
		}
	}
}

func TestAlternatives(t *testing.T) {
	cases := []struct {
		name  string
		pkgs  []*packages.Package
		roots []string
		want  []string
	}{
		{
			name:  "first satisfiable",
			pkgs:  []*packages.Package{pkg("app", "1", "missing | b | c"), pkg("b", "1", ""), pkg("c", "1", "")},
			roots: []string{"app"},
			want:  []string{"app", "b"},
		},
		{
			name: "prefers one already in the closure",
			pkgs: []*packages.Package{
				pkg("app", "1", "mime-support | media-types, lib"),
				pkg("lib", "1", "media-types"),
				pkg("mime-support", "1", "mailcap"),
				pkg("mailcap", "1", ""),
				pkg("media-types", "1", ""),
			},
			roots: []string{"app"},
			want:  []string{"app", "lib", "media-types"},
		},
		{
			name:  "version relation rules out the first",
			pkgs:  []*packages.Package{pkg("app", "1", "b>=2 | c"), pkg("b", "1", ""), pkg("c", "1", "")},
			roots: []string{"app"},
			want:  []string{"app", "c"},
		},
		{
			name:  "virtual via provides",
			pkgs:  []*packages.Package{pkg("app", "1", "awk"), pkg("mawk", "1", "", "awk"), pkg("gawk", "1", "", "awk")},
			roots: []string{"app"},
			want:  []string{"app", "mawk"}, // the index's preferred order
		},
		{
			name:  "versioned provides satisfy versioned deps; unversioned do not",
			pkgs:  []*packages.Package{pkg("app", "1", "libfoo>=2"), pkg("old", "1", "", "libfoo"), pkg("new", "1", "", "libfoo=3")},
			roots: []string{"app"},
			want:  []string{"app", "new"},
		},
		{
			name:  "lower level choice is kept",
			pkgs:  []*packages.Package{pkg("app", "1", "x | y"), pkg("x", "1", ""), pkg("y", "1", "")},
			roots: []string{"y", "app"},
			want:  []string{"app", "y"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := resolve(t, &fakeIndex{Pkgs: tc.pkgs}, tc.roots...)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(r); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("closure = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	ix := &fakeIndex{Pkgs: []*packages.Package{
		pkg("app", "1", "lib"),
		pkg("lib", "1", "libz>=9"),
		pkg("libz", "3", ""),
		pkg("python3.11-minimal", "1", ""),
	}}
	_, err := resolve(t, ix, "app")
	var ue *UnsatisfiableError
	if !errors.As(err, &ue) {
		t.Fatalf("want UnsatisfiableError, got %v", err)
	}
	if !reflect.DeepEqual(ue.Chain, []string{"app", "lib"}) || !strings.Contains(err.Error(), "libz (>= 9)") {
		t.Fatalf("error = %v (chain %v)", err, ue.Chain)
	}

	_, err = resolve(t, ix, "python3.12-minimal")
	var me *MissingRootError
	if !errors.As(err, &me) {
		t.Fatalf("want MissingRootError, got %v", err)
	}
	if len(me.Nearest) == 0 || me.Nearest[0] != "python3.11-minimal" {
		t.Fatalf("nearest = %v", me.Nearest)
	}
}

func TestNoDepsAndLevels(t *testing.T) {
	ix := &fakeIndex{Pkgs: []*packages.Package{
		pkg("ca-certificates", "1", "openssl, debconf"),
		pkg("openssl", "1", "libc"),
		pkg("libc", "1", ""),
		pkg("app", "1", "libc"),
	}}
	levels := []Level{
		{Name: "static", Roots: []Root{{Name: "ca-certificates", NoDeps: true}}},
		{Name: "app", Roots: []Root{{Name: "app"}}},
	}
	r, err := Resolve(ix, levels, Options{Prune: defaultPrune})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(r), []string{"app", "ca-certificates", "libc"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("closure = %v, want %v", got, want)
	}
	for _, s := range r.Packages {
		want := map[string]int{"ca-certificates": 0, "app": 1, "libc": 1}[s.Pkg.Name]
		if s.Level != want {
			t.Fatalf("%s in level %d, want %d", s.Pkg.Name, s.Level, want)
		}
	}
	if got := len(r.InLevel(0)); got != 1 {
		t.Fatalf("level 0 has %d packages", got)
	}
}

func TestRichDependencies(t *testing.T) {
	dep := func(kind packages.DepKind, args ...packages.Dep) packages.Dep {
		return packages.Dep{Kind: kind, Args: args}
	}
	atom := func(s string) packages.Dep { return packages.Dep{Kind: packages.DepAtom, Atom: parseAtom(s)} }
	app := pkg("app", "1", "")
	app.Depends = []packages.Dep{
		dep(packages.DepIf, atom("langpack"), atom("glibc")),          // glibc present → langpack
		dep(packages.DepIf, atom("never"), atom("absent"), atom("z")), // else branch
		dep(packages.DepWith, atom("libx>=2"), atom("libx<3")),        // one package in both
		dep(packages.DepWithout, atom("tool"), atom("tool-big")),      // not the big one
		dep(packages.DepAnd, atom("glibc"), atom("y")),
	}
	ix := &fakeIndex{Pkgs: []*packages.Package{
		app, pkg("glibc", "1", ""), pkg("langpack", "1", ""), pkg("z", "1", ""), pkg("y", "1", ""),
		pkg("never", "1", ""),
		pkg("libx", "3", ""), pkg("libx-compat", "1", "", "libx=2"),
		pkg("tool-big", "1", "", "tool"), pkg("tool-small", "1", "", "tool"),
	}}
	r, err := resolve(t, ix, "app")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"app", "glibc", "langpack", "libx-compat", "tool-small", "y", "z"}
	if got := names(r); !reflect.DeepEqual(got, want) {
		t.Fatalf("closure = %v, want %v", got, want)
	}
}

func TestDeterministic(t *testing.T) {
	mk := func() *fakeIndex {
		return &fakeIndex{Pkgs: []*packages.Package{
			pkg("app", "1", "a | b, c, d"), pkg("a", "1", "c"), pkg("b", "1", ""),
			pkg("c", "1", "d, e"), pkg("d", "1", "c"), pkg("e", "1", "dash"),
		}}
	}
	first, err := resolve(t, mk(), "app")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		again, err := resolve(t, mk(), "app")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(names(first), names(again)) || !reflect.DeepEqual(prunedNames(first), prunedNames(again)) {
			t.Fatalf("run %d differs: %v vs %v", i, names(first), names(again))
		}
	}
	if got := prunedNames(first); !reflect.DeepEqual(got, []string{"dash"}) {
		t.Fatalf("pattern prune: %v", got)
	}
}
