package releasefile

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestAppKeys(t *testing.T) {
	f, err := Decode(filepath.Join("rel", "release.yaml"), []byte(`registry: registry.example.com/apps
distros: [debian:trixie]
platforms: [linux/amd64]
users: [nonroot]
images:
  - profile: nodejs
    name: web
    npm-lock: web/package-lock.json
    npm-registry: https://npm.example.com/mirror/
    app-dir: /srv/web
  - profile: nodejs
    name: plain
`))
	if err != nil {
		t.Fatal(err)
	}
	ims, err := Expand(f, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	want := App{NpmLock: filepath.Join("rel", "web", "package-lock.json"), NpmRegistry: "https://npm.example.com/mirror/", AppDir: "/srv/web"}
	if len(ims) != 2 || ims[0].App != want || ims[1].App != (App{}) {
		t.Errorf("images: %+v", ims)
	}

	for _, c := range []struct{ entry, want string }{
		{"app-dir: srv", `line 4: app-dir "srv": want an absolute directory in the image, not /`},
		{"app-dir: /", `app-dir "/": want an absolute directory`},
		{"npm-registry: ftp://x/", `line 4: npm-registry "ftp://x/": want an http(s) URL`},
		{"npm-lock: ''", "line 4: npm-lock is empty"},
		{"npm-lock: [a]", "npm-lock: want a string"},
	} {
		_, err := Decode("release.yaml", []byte("registry: r.example.com\nimages:\n  - profile: nodejs\n    "+c.entry+"\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.entry, err, c.want)
		}
	}
	// Only images carry them.
	if _, err := Decode("release.yaml", []byte("npm-lock: a.json\nimages: [nodejs]\n")); err == nil {
		t.Error("npm-lock at the file's level accepted")
	}
}
