package rpm

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
)

// atomNames lists every package name a requirement names.
func atomNames(ds []packages.Dep) []string {
	var out []string
	var walk func(d packages.Dep)
	walk = func(d packages.Dep) {
		if d.Kind == packages.DepAtom {
			out = append(out, d.Atom.Name)
		}
		for _, a := range d.Args {
			walk(a)
		}
	}
	for _, d := range ds {
		walk(d)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// TestRPMDescribe: what Describe reads from each package's header agrees
// with what createrepo_c put in the index from the same header (the
// requirements and provides by name), and the License header is read.
func TestRPMDescribe(t *testing.T) {
	fx := needFixture(t)
	ix, _ := openFixture(t)
	checked := 0
	for file, path := range fx.RPMs {
		if strings.Contains(file, ".module_") {
			continue
		}
		d, err := Payload{}.Describe(path)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		id, _ := Payload{}.Identity(path)
		var p *packages.Package
		for _, s := range ix.Satisfiers(packages.Atom{Name: id.Name}) {
			if s.Name == id.Name && s.Version == id.Version {
				p = s
			}
		}
		if p == nil {
			continue // an older version the index shadows
		}
		checked++
		// createrepo_c leaves out of the index what the package provides
		// itself and all but the newest symbol version of a library
		// (libc.so.6(GLIBC_2.34)(64bit) stands for the older ones): the
		// header has every one the index has, and more only of those.
		got, want := atomNames(d.Depends), atomNames(p.Depends)
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("%s: the index requires %s, the header does not: %v", file, w, got)
			}
		}
		for _, g := range got {
			lib, _, _ := strings.Cut(g, "(")
			if !slices.Contains(want, g) && !slices.Contains(d.Provides, g) &&
				!slices.ContainsFunc(want, func(w string) bool { return strings.HasPrefix(w, lib+"(") }) {
				t.Errorf("%s: the header requires %s, which the index leaves out for no reason createrepo_c has", file, g)
			}
		}
		var provNames []string
		for _, pr := range p.Provides {
			provNames = append(provNames, strings.Fields(pr)[0])
		}
		sort.Strings(provNames)
		prov := slices.Clone(d.Provides)
		sort.Strings(prov)
		if !slices.Equal(slices.Compact(prov), slices.Compact(provNames)) {
			t.Errorf("%s: provides from the header %v, from the index %v", file, prov, provNames)
		}
		if d.License.Expression != "MIT" {
			t.Errorf("%s: License %+v, want the spec's MIT", file, d.License)
		}
	}
	if checked < 5 {
		t.Fatalf("only %d packages checked", checked)
	}
}

// TestRPMDescribeRefusesNonRPM: a file that is not an rpm is an error
// naming it.
func TestRPMDescribeRefusesNonRPM(t *testing.T) {
	f := filepath.Join(t.TempDir(), "x.rpm")
	if err := os.WriteFile(f, []byte("\xed\xab\xee\xdb not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (Payload{}).Describe(f); err == nil || !strings.Contains(err.Error(), f) {
		t.Errorf("got %v", err)
	}
}
