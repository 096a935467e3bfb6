package rpm

import (
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
)

func TestPrimaryRefusesHostileIdentity(t *testing.T) {
	frag := func(name, epoch, ver, rel, arch string) []byte {
		s := seedPrimary[strings.Index(seedPrimary, "<package"):strings.Index(seedPrimary, "</package>")] + "</package>"
		s = strings.Replace(s, "<name>demo</name>", "<name>"+name+"</name>", 1)
		s = strings.Replace(s, `<version epoch="0" ver="1.0" rel="1"/>`, `<version epoch="`+epoch+`" ver="`+ver+`" rel="`+rel+`"/>`, 1)
		return []byte(strings.Replace(s, "<arch>x86_64</arch>", "<arch>"+arch+"</arch>", 1))
	}
	p, err := parsePackage(frag("glibc", "0", "2.34", "100.el9_4.2", "x86_64"), "http://r", "r")
	if err != nil || p.pkg.Name != "glibc" || p.pkg.Version != "2.34-100.el9_4.2" {
		t.Fatalf("a valid package: %+v %v", p, err)
	}
	for _, c := range [][6]string{
		{"../../usr/share/x", "0", "1.0", "1", "x86_64", `package name "../../usr/share/x"`},
		{".hidden", "0", "1.0", "1", "x86_64", "not an RPM package name"},
		{"a b", "0", "1.0", "1", "x86_64", "not an RPM package name"},
		{"demo", "0", "1.0/..", "1", "x86_64", "version part"},
		{"demo", "0", "1.0-2", "1", "x86_64", "version part"},
		{"demo", "0", "1.0", "1/../x", "x86_64", "release"},
		{"demo", "x", "1.0", "1", "x86_64", "epoch"},
		{"demo", "0", "1.0", "1", "../x86_64", "architecture"},
	} {
		_, err := parsePackage(frag(c[0], c[1], c[2], c[3], c[4]), "http://r", "r")
		if err == nil || !strings.Contains(err.Error(), c[5]) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%v: %v", c[:5], err)
		}
	}
}

// TestRPMIdentity: every fixture package's header says what the index
// says of it.
func TestRPMIdentity(t *testing.T) {
	fx := needFixture(t)
	ix, _ := openFixture(t)
	checked := 0
	for file, path := range fx.RPMs {
		if strings.Contains(file, ".module_") {
			continue // a module's package the index does not offer
		}
		checked++
		id, err := Payload{}.Identity(path)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		var found *packages.Package
		for _, p := range ix.Satisfiers(packages.Atom{Name: id.Name}) {
			if p.Name == id.Name && p.Version == id.Version && p.Arch == id.Arch {
				found = p
			}
		}
		if found == nil {
			// Only the highest version is offered; look it up by file.
			for _, p := range ix.Satisfiers(packages.Atom{Name: id.Name, Op: "=", Version: id.Version}) {
				if p.Name == id.Name && p.Version == id.Version {
					found = p
				}
			}
		}
		if found == nil || !strings.HasSuffix(found.URL, "/"+file) {
			t.Errorf("%s: identity %+v is not in the index as that file (%+v)", file, id, found)
			continue
		}
		if err := id.Matches(found); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		wrong := *found
		wrong.Version += ".1"
		if err := id.Matches(&wrong); err == nil || !strings.Contains(err.Error(), "version") {
			t.Errorf("%s: another version matched: %v", file, err)
		}
	}
	if checked < 10 {
		t.Errorf("only %d packages checked", checked)
	}
}
