package profiles

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/packagestest"
	"github.com/distroless-dev/distroless/resolver"
)

var pkg = packagestest.Pkg

func bookwormLike() *packagestest.Index {
	return &packagestest.Index{Pkgs: []*packages.Package{
		pkg("tzdata", "1", ""), pkg("netbase", "1", ""), pkg("media-types", "1", ""), pkg("ca-certificates", "1", ""),
		pkg("libc6", "1", ""), pkg("libssl3", "1", ""),
		pkg("libstdc++6", "1", ""), pkg("libgcc-s1", "1", ""), pkg("libgomp1", "1", ""),
		pkg("python3.11-minimal", "1", ""), pkg("libpython3.11-stdlib", "1", ""), pkg("libc-bin", "1", ""),
		pkg("base-files", "1", ""), pkg("ncurses-base", "1", ""), pkg("python3-distutils", "1", ""), pkg("python3-lib2to3", "1", ""),
		pkg("python3-minimal", "1", "python3.11-minimal>=1, dpkg"),
	}}
}

func TestBuiltinsDecode(t *testing.T) {
	var names []string
	for _, p := range Builtins() {
		names = append(names, p.Name)
	}
	for _, want := range []string{"base", "cc", "debug", "python3", "python3.{minor}", "static"} {
		if !slices.Contains(names, want) {
			t.Errorf("builtins %v lack %s", names, want)
		}
	}
	rules, err := PruneList("deb")
	if err != nil {
		t.Fatal(err)
	}
	must := []string{"dpkg", "debconf", "debconf-2.0", "perl-base", "tar", "debianutils", "init-system-helpers",
		"install-info", "sensible-utils", "bash", "dash", "busybox", "openssl"}
	have := map[string]bool{}
	for _, r := range rules {
		if r.Reason == "" {
			t.Errorf("prune rule %s has no reason", r.Name)
		}
		have[r.Name] = true
	}
	for _, m := range must {
		if !have[m] {
			t.Errorf("prune list lacks %s", m)
		}
	}
	if _, err := PruneList("apk"); err == nil {
		t.Fatal("PruneList(apk) should fail")
	}
}

func TestExpandTemplate(t *testing.T) {
	plan, err := Expand("python3.11", bookwormLike(), "deb", "debian:bookworm")
	if err != nil {
		t.Fatal(err)
	}
	var levels []string
	for _, l := range plan.Levels {
		levels = append(levels, l.Name)
	}
	if !reflect.DeepEqual(levels, []string{"static", "base", "cc", "python3.11"}) {
		t.Fatalf("levels = %v", levels)
	}
	if got := plan.Levels[1].Roots[1].Name; got != "libssl3" {
		t.Fatalf("any: picked %s, want libssl3", got)
	}
	if !plan.Levels[0].Roots[3].NoDeps || plan.Levels[0].Roots[0].NoDeps {
		t.Fatalf("deps: false not honoured: %+v", plan.Levels[0].Roots)
	}
	if !reflect.DeepEqual(plan.Config.Entrypoint, []string{"/usr/bin/python3.11"}) {
		t.Fatalf("entrypoint = %v", plan.Config.Entrypoint)
	}
	if plan.Config.Env["SSL_CERT_FILE"] == "" {
		t.Fatal("env from static not merged")
	}
	last := plan.Chain[len(plan.Chain)-1]
	if len(last.Files) != 2 || last.Files[0].Link != "python3.11" {
		t.Fatalf("files = %+v", last.Files)
	}
}

// python3-distutils and python3-lib2to3 are roots (files only) where the
// distro has them; where it does not (trixie), the interpreter is named
// again. On both, only C.UTF-8 of libc-bin enters, in base.
func TestExpandPythonSplitStdlib(t *testing.T) {
	roots := func(ix *packagestest.Index) []string {
		plan, err := Expand("python3.11", ix, "deb", "test")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range plan.Levels[3].Roots {
			out = append(out, fmt.Sprintf("%s deps=%v", r.Name, !r.NoDeps))
		}
		if !slices.ContainsFunc(plan.Levels[1].Roots, func(r resolver.Root) bool { return r.Name == "libc-bin" && r.NoDeps }) {
			t.Errorf("base roots %+v lack libc-bin (files only)", plan.Levels[1].Roots)
		}
		return out
	}
	want := []string{"python3.11-minimal deps=true", "libpython3.11-stdlib deps=true",
		"python3-distutils deps=false", "python3-lib2to3 deps=false", "ncurses-base deps=false"}
	if got := roots(bookwormLike()); !reflect.DeepEqual(got, want) {
		t.Errorf("bookworm roots = %q, want %q", got, want)
	}
	ix := bookwormLike()
	ix.Pkgs = slices.DeleteFunc(ix.Pkgs, func(p *packages.Package) bool {
		return strings.HasPrefix(p.Name, "python3-distutils") || p.Name == "python3-lib2to3"
	})
	want[2], want[3] = "python3.11-minimal deps=false", "python3.11-minimal deps=false"
	if got := roots(ix); !reflect.DeepEqual(got, want) {
		t.Errorf("without them, roots = %q, want %q", got, want)
	}
}

func TestExpandNotPackaged(t *testing.T) {
	_, err := Expand("python3.12", bookwormLike(), "deb", "debian:bookworm")
	var np *NotPackagedError
	if !errors.As(err, &np) {
		t.Fatalf("want NotPackagedError, got %v", err)
	}
	if !reflect.DeepEqual(np.Have, []string{"python3.11"}) || !strings.Contains(err.Error(), "python3.11") {
		t.Fatalf("error = %v", err)
	}
	if _, err := Expand("ruby", bookwormLike(), "deb", "debian:bookworm"); err == nil || !strings.Contains(err.Error(), "static") {
		t.Fatalf("unknown profile error = %v", err)
	}
}

func TestExpandAlias(t *testing.T) {
	plan, err := Expand("python3", bookwormLike(), "deb", "debian:bookworm")
	if err != nil {
		t.Fatal(err)
	}
	if plan.Name != "python3.11" || plan.Requested != "python3" || !strings.Contains(plan.Note, "python3.11") {
		t.Fatalf("plan = %s / %s / %s", plan.Name, plan.Requested, plan.Note)
	}
	ix := bookwormLike()
	ix.Pkgs = ix.Pkgs[:len(ix.Pkgs)-1] // no python3-minimal
	if _, err := Expand("python3", ix, "deb", "debian:bookworm"); err == nil || !strings.Contains(err.Error(), "python3-minimal") {
		t.Fatalf("missing default error = %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := map[string]string{
		"name: x\npackges: [a]\n":                                           "line 2: field packges not found",
		"packages: [a]\n":                                                   "field name is missing",
		"name: x\npackages:\n  - deps: false\n":                             "packages[0]: give exactly one of name or any",
		"name: x\nfiles:\n  - path: rel/x\n":                                `files[0]: path "rel/x" must be absolute`,
		"name: x\nfiles:\n  - path: /x\n    mode: 9\n":                      `mode "9" is not octal`,
		"name: x\npackages: {a: b}\n":                                       "cannot unmarshal",
		"name: x\nfiles:\n  - path: /x\n    src: a\n    content: b\n":       "files[0]: give one of src, link or content",
		"name: x\naccounts:\n  users:\n    - name: a\n":                     "accounts.users[0]: name and uid are required",
		"name: x\naccounts:\n  groups:\n    - gid: 5\n":                     "accounts.groups[0]: name and gid are required",
		"name: x\naccounts:\n  users:\n    - {name: a, uid: 1, home2: x}\n": "field home2 not found",
	}
	for in, want := range cases {
		_, err := Decode("my.yaml", []byte(in))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "my.yaml") {
			t.Errorf("Decode(%q) = %v, want error containing %q", in, err, want)
		}
	}
}

func TestExpandVariant(t *testing.T) {
	ix := bookwormLike()
	ix.Pkgs = append(ix.Pkgs, pkg("busybox-static", "1", ""))
	plan, err := Expand("python3.11-debug", ix, "deb", "debian:bookworm")
	if err != nil {
		t.Fatal(err)
	}
	var levels []string
	for _, l := range plan.Levels {
		levels = append(levels, l.Name)
	}
	if !reflect.DeepEqual(levels, []string{"static", "base", "cc", "python3.11", "python3.11-debug"}) {
		t.Fatalf("levels = %v", levels)
	}
	if plan.Name != "python3.11-debug" || plan.Config.Entrypoint[0] != "/usr/bin/python3.11" {
		t.Fatalf("plan %s, entrypoint %v", plan.Name, plan.Config.Entrypoint)
	}
	if !strings.HasSuffix(plan.Config.Env["PATH"], ":/busybox") {
		t.Fatalf("PATH = %q", plan.Config.Env["PATH"])
	}
	last := plan.Chain[len(plan.Chain)-1]
	if !reflect.DeepEqual(last.Generate, []string{"busybox-links"}) || !plan.Levels[4].Roots[0].NoDeps {
		t.Fatalf("debug level: %+v", last)
	}
	// The alias and an unknown base.
	if plan, err := Expand("python3-debug", ix, "deb", "debian:bookworm"); err != nil || plan.Name != "python3.11-debug" {
		t.Fatalf("python3-debug: %v %v", plan, err)
	}
	if _, err := Expand("ruby-debug", ix, "deb", "debian:bookworm"); err == nil || !strings.Contains(err.Error(), `unknown profile "ruby"`) {
		t.Fatalf("ruby-debug: %v", err)
	}
}

// An optional root is taken where the index has it, left out where it has
// not, and a prune rule of the chain drops it (tzdata-legacy's opt-out).
func TestOptionalRoot(t *testing.T) {
	trixie := &packagestest.Index{Pkgs: append(bookwormLike().Pkgs, pkg("tzdata-legacy", "1", "tzdata"))}
	roots := func(plan *Plan) []string {
		var out []string
		for _, r := range plan.Levels[0].Roots {
			out = append(out, r.Name)
		}
		return out
	}
	plan, err := Expand("static", trixie, "deb", "debian:trixie")
	if err != nil || !slices.Contains(roots(plan), "tzdata-legacy") {
		t.Fatalf("trixie-like: %v %v", roots(plan), err)
	}
	plan, err = Expand("static", bookwormLike(), "deb", "debian:bookworm")
	if err != nil || slices.Contains(roots(plan), "tzdata-legacy") {
		t.Fatalf("bookworm-like: %v %v", roots(plan), err)
	}
	p, err := Decode("mine.yaml", []byte("name: mine\nextends: static\nprune:\n  - name: tzdata-legacy\n    reason: no legacy zones\n"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err = ExpandProfile(p, "mine", "", trixie, "deb", "debian:trixie")
	if err != nil || slices.Contains(roots(plan), "tzdata-legacy") || !slices.Contains(roots(plan), "tzdata") {
		t.Fatalf("opted out: %v %v", roots(plan), err)
	}
}
