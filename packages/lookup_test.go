package packages_test

import (
	"testing"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/packagestest"
)

// providersFirst answers Satisfiers with the providers before the real
// package, as a format may when it prefers a provider.
type providersFirst struct{ *packagestest.Index }

func (ix providersFirst) Satisfiers(a packages.Atom) []*packages.Package {
	s := ix.Index.Satisfiers(a)
	var out []*packages.Package
	for _, p := range s {
		if p.Name != a.Name {
			out = append(out, p)
		}
	}
	for _, p := range s {
		if p.Name == a.Name {
			out = append(out, p)
		}
	}
	return out
}

// TestLookup: Lookup finds the real package of a name, never a package
// that only provides it, wherever the index lists it.
func TestLookup(t *testing.T) {
	mta := &packages.Package{Name: "exim", Version: "1", Provides: []string{"mail-transport-agent", "sendmail"}}
	sendmail := &packages.Package{Name: "sendmail", Version: "2"}
	base := &packagestest.Index{Pkgs: []*packages.Package{mta, sendmail}}
	for _, ix := range []packages.Index{base, providersFirst{base}} {
		if got := packages.Lookup(ix, "sendmail"); got != sendmail {
			t.Errorf("%T: Lookup(sendmail) = %v, want the real sendmail", ix, got)
		}
		if got := packages.Lookup(ix, "mail-transport-agent"); got != nil {
			t.Errorf("%T: Lookup of a virtual name = %v, want nil", ix, got)
		}
		if got := packages.Lookup(ix, "postfix"); got != nil {
			t.Errorf("%T: Lookup of an unknown name = %v, want nil", ix, got)
		}
	}
}

// looker answers Lookup itself, as the formats' indexes do.
type looker struct {
	*packagestest.Index
	calls int
}

func (ix *looker) Lookup(name string) *packages.Package {
	ix.calls++
	return packages.LookupSatisfiers(ix.Index, name)
}

// TestLookupAsksTheIndex: an index that implements Looker is asked, and
// LookupSatisfiers gives the same answers from Satisfiers alone.
func TestLookupAsksTheIndex(t *testing.T) {
	mta := &packages.Package{Name: "exim", Version: "1", Provides: []string{"sendmail"}}
	sendmail := &packages.Package{Name: "sendmail", Version: "2"}
	ix := &looker{Index: &packagestest.Index{Pkgs: []*packages.Package{mta, sendmail}}}
	if got := packages.Lookup(ix, "sendmail"); got != sendmail || ix.calls != 1 {
		t.Errorf("Lookup = %v after %d calls of the index's Lookup, want sendmail after 1", got, ix.calls)
	}
	if got := packages.LookupSatisfiers(providersFirst{ix.Index}, "sendmail"); got != sendmail {
		t.Errorf("LookupSatisfiers = %v, want the real sendmail", got)
	}
	if got := packages.LookupSatisfiers(ix.Index, "exim-virtual"); got != nil {
		t.Errorf("LookupSatisfiers of an unknown name = %v", got)
	}
}
