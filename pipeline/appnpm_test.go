package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
)

func TestInstallNpmRefusals(t *testing.T) {
	node := []*packages.Package{{Name: "libc6"}, {Name: "nodejs"}}
	c := &fetch.Cache{Dir: t.TempDir(), Offline: true}
	big := filepath.Join(t.TempDir(), "package-lock.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxNpmLock + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, tc := range []struct {
		a    AppOptions
		pkgs []*packages.Package
		arch string
		want string
	}{
		{AppOptions{AppDir: "/srv"}, node, "amd64", "AppOptions.NpmRegistry and AppOptions.AppDir need AppOptions.NpmLock"},
		{AppOptions{NpmRegistry: "https://npm.example.com/"}, node, "amd64", "need AppOptions.NpmLock"},
		{AppOptions{NpmLock: "package-lock.json"}, []*packages.Package{{Name: "libc6"}}, "amd64", "the image has no nodejs"},
		{AppOptions{NpmLock: "no-such-lock.json"}, node, "amd64", "no-such-lock.json"},
		{AppOptions{NpmLock: big}, node, "amd64", "larger than"},
		{AppOptions{NpmLock: "../appdeps/npm/testdata/express/package-lock.json"}, node, "mips", `architecture "mips" has no node name`},
	} {
		if !wantNpm(tc.a) {
			t.Errorf("%+v: not wanted", tc.a)
			continue
		}
		_, err := installNpm(context.Background(), tc.a, appTarget{Arch: tc.arch, Packages: tc.pkgs, Cache: c})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "npm: ") {
			t.Errorf("%+v: %v, want %q", tc.a, err, tc.want)
		}
	}
	lock := "../appdeps/npm/testdata/express/package-lock.json"
	for _, c := range []struct {
		a    AppOptions
		want string
	}{
		{AppOptions{AppDir: "/srv"}, "AppOptions.NpmRegistry and AppOptions.AppDir need AppOptions.NpmLock"},
		{AppOptions{NpmLock: "no-such.json"}, "AppOptions.NpmLock: stat no-such.json"},
		{AppOptions{NpmLock: lock, AppDir: "srv"}, `AppOptions.AppDir "srv": want an absolute directory`},
		{AppOptions{NpmLock: lock, AppDir: "//"}, `AppOptions.AppDir "//": want an absolute directory in the image, not /`},
		{AppOptions{NpmLock: lock, NpmRegistry: "registry.example.com"}, `AppOptions.NpmRegistry "registry.example.com": want an http(s) URL`},
	} {
		if err := c.a.check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("check %+v: %v, want %q", c.a, err, c.want)
		}
	}
	if err := (AppOptions{NpmLock: lock, AppDir: "/srv/app", NpmRegistry: "https://npm.example.com/"}).check(); err != nil {
		t.Errorf("good options: %v", err)
	}
	if wantNpm(AppOptions{PythonRequirements: "r.txt"}) {
		t.Error("npm wanted for Python's options")
	}
}
