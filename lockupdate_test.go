package distroless

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
	"github.com/distroless-dev/distroless/pipeline"
)

// twoSuiteDistro writes a distro file for a debtest archive with a main
// suite and a security suite.
func twoSuiteDistro(t *testing.T, a *debtest.Archive) string {
	t.Helper()
	dir := t.TempDir()
	writeArchiveKey(t, a, filepath.Join(dir, "key.asc"))
	def := fmt.Sprintf(`name: test:two
format: deb
architectures: [amd64]
keyring: key.asc
components: [main]
suites:
  - {name: two, url: "%[1]s"}
  - {name: two-security, url: "%[1]s"}
os-release:
  ID: testdeb
  VERSION_ID: "9"
`, a.URL)
	p := filepath.Join(dir, "two.yaml")
	if err := os.WriteFile(p, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUpdateLock: lock update against a signed test archive. The first
// run locks everything (changed, written); an unchanged archive changes
// nothing and leaves the file as it was (even when the cached InRelease
// is fresh, lock update reads the archive's current one); a fix in the
// security suite, a new dependency and a dropped one are each reported,
// the security one marked; --dry-run writes nothing.
func TestUpdateLock(t *testing.T) {
	a := debtest.New(t, debtest.Config{Suites: []debtest.Suite{
		{Name: "two", Packages: []debtest.Package{
			{Name: "app", Version: "1.0", Depends: "libx (>= 1), libold"},
			{Name: "libx", Version: "1.0"},
			{Name: "libold", Version: "3"},
		}},
		{Name: "two-security"},
	}})
	defer a.Close()
	distroFile := twoSuiteDistro(t, a)
	prof, err := pipeline.LoadProfileFile(writeProfile(t, "name: app\npackages: [app]\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := pipeline.Options{CacheDir: t.TempDir()}
	lock := filepath.Join(t.TempDir(), "app.lock")
	targets := []LockTarget{{ProfileFile: prof, Distro: distroFile}}
	ctx := context.Background()

	res, err := UpdateLock(ctx, lock, targets, false, false, o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || len(res.Images) != 1 || res.Images[0].Status != "new" || len(res.Images[0].Changes) != 3 {
		t.Fatalf("first update: %+v", res)
	}
	l, err := lockfile.Read(lock) // one image: gen --lock's form
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Packages) != 3 {
		t.Fatalf("locked %d packages", len(l.Packages))
	}
	first, _ := os.ReadFile(lock)

	res, err = UpdateLock(ctx, lock, targets, false, false, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed || res.Images[0].Status != "unchanged" {
		t.Fatalf("second update: %+v", res)
	}
	if again, _ := os.ReadFile(lock); !bytes.Equal(again, first) {
		t.Error("an update with nothing changed rewrote the lockfile")
	}

	// The security suite fixes libx; app 1.1 drops libold for libnew.
	a.SetSuite(debtest.Suite{Name: "two-security", Packages: []debtest.Package{
		{Name: "libx", Version: "1.0+deb9u1"},
	}})
	a.SetSuite(debtest.Suite{Name: "two", Packages: []debtest.Package{
		{Name: "app", Version: "1.1", Depends: "libx (>= 1), libnew"},
		{Name: "libx", Version: "1.0"},
		{Name: "libold", Version: "3"},
		{Name: "libnew", Version: "0.1"},
	}})
	res, err = UpdateLock(ctx, lock, targets, false, true, o)
	if err != nil {
		t.Fatal(err)
	}
	want := []PackageChange{
		{Name: "app", Arch: "amd64", From: "1.0", To: "1.1", Origin: "two"},
		{Name: "libnew", Arch: "amd64", To: "0.1", Origin: "two"},
		{Name: "libold", Arch: "amd64", From: "3"},
		{Name: "libx", Arch: "amd64", From: "1.0", To: "1.0+deb9u1", Security: true, Origin: "two-security"},
	}
	if !res.Changed || res.Images[0].Status != "changed" || !reflect.DeepEqual(res.Images[0].Changes, want) {
		t.Fatalf("update after the archive moved: %+v\nwant changes %+v", res, want)
	}
	if again, _ := os.ReadFile(lock); !bytes.Equal(again, first) {
		t.Error("--dry-run wrote the lockfile")
	}
	text := res.Text()
	for _, w := range []string{"app on test:two (amd64): 4 packages changed, 1 from the security suite",
		"    libx 1.0 → 1.0+deb9u1  [security]", "  + libnew 0.1", "  - libold 3", "    app 1.0 → 1.1\n"} {
		if !strings.Contains(text, w) {
			t.Errorf("report lacks %q:\n%s", w, text)
		}
	}
	if res.SecurityChanges() != 1 {
		t.Errorf("%d security changes, want 1", res.SecurityChanges())
	}

	if res, err = UpdateLock(ctx, lock, targets, false, false, o); err != nil || !res.Changed {
		t.Fatalf("update: %+v, %v", res, err)
	}
	l, err = lockfile.Read(lock)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range l.Packages {
		got = append(got, p.Name+"="+p.Version)
	}
	if strings.Join(got, " ") != "app=1.1 libnew=0.1 libx=1.0+deb9u1" && strings.Join(got, " ") != "app=1.1 libx=1.0+deb9u1 libnew=0.1" {
		t.Errorf("lockfile after the update pins %v", got)
	}
	if res, err = UpdateLock(ctx, lock, targets, false, false, o); err != nil || res.Changed {
		t.Errorf("update after writing: %+v, %v", res, err)
	}

	// A release's lockfile: an entry the matrix no longer builds is
	// dropped (prune), and said; without prune it is kept.
	other := *l
	other.Requested, other.Arch = "gone", "arm64"
	set := &lockfile.Set{Locks: []*lockfile.Lock{l, &other}}
	if err := lockfile.WriteSet(lock, set); err != nil {
		t.Fatal(err)
	}
	if res, err = UpdateLock(ctx, lock, targets, false, false, o); err != nil || res.Changed {
		t.Errorf("update keeping other entries: %+v, %v", res, err)
	}
	res, err = UpdateLock(ctx, lock, targets, true, false, o)
	if err != nil || !res.Changed || len(res.Images) != 2 || res.Images[1].Status != "removed" || res.Images[1].Key != "gone test:two arm64" {
		t.Fatalf("update with prune: %+v, %v", res, err)
	}
	if !strings.Contains(res.Text(), "app on test:two (arm64): removed (no longer in the release)") {
		t.Errorf("report: %s", res.Text())
	}
	got2, err := lockfile.ReadSet(lock)
	if err != nil || len(got2.Locks) != 1 || got2.Locks[0].Key() != l.Key() {
		t.Errorf("lockfile after prune: %+v, %v", got2, err)
	}
}

// TestUpdateLockRefuses: a damaged lockfile or an unknown profile is an
// error, and the lockfile stays as it was.
func TestUpdateLockRefuses(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.lock")
	if err := os.WriteFile(bad, []byte(`{"version":1,"locks":[{}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := UpdateLock(context.Background(), bad, []LockTarget{{Profile: "static", Distro: "debian:trixie"}}, false, false, pipeline.Options{CacheDir: dir, Offline: true})
	if err == nil || !strings.Contains(err.Error(), "bad.lock: locks[0]") {
		t.Errorf("damaged lockfile: %v", err)
	}
	if data, _ := os.ReadFile(bad); string(data) != `{"version":1,"locks":[{}]}` {
		t.Errorf("the damaged lockfile was rewritten: %s", data)
	}
	missing := filepath.Join(dir, "new.lock")
	_, err = UpdateLock(context.Background(), missing, []LockTarget{{Profile: "nosuchprofile", Distro: "debian:trixie"}}, false, false, pipeline.Options{CacheDir: dir, Offline: true})
	if err == nil || !strings.Contains(err.Error(), "nosuchprofile") {
		t.Errorf("unknown profile: %v", err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a failed update wrote %s", missing)
	}
}
