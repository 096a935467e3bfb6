package releasefile

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestAppKeys(t *testing.T) {
	f, err := decode(filepath.Join("rel", "release.yaml"), []byte(`registry: registry.example.com/apps
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
		_, err := decode("release.yaml", []byte("registry: r.example.com\nimages:\n  - profile: nodejs\n    "+c.entry+"\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.entry, err, c.want)
		}
	}
	// Python's keys: files relative to the release file, the index a URL.
	f, err = decode(filepath.Join("rel", "release.yaml"), []byte(`registry: registry.example.com/apps
images:
  - profile: python3
    name: api
    python-requirements: api/requirements.txt
    python-index: http://127.0.0.1:8080/simple/
  - profile: python3
    name: tool
    python-wheels: wheels
`))
	if err != nil {
		t.Fatal(err)
	}
	if ims, err = Expand(f, testEnv()); err != nil {
		t.Fatal(err)
	}
	if len(ims) != 2 || ims[0].App != (App{PythonRequirements: filepath.Join("rel", "api", "requirements.txt"), PythonIndex: "http://127.0.0.1:8080/simple/"}) ||
		ims[1].App != (App{PythonWheels: filepath.Join("rel", "wheels")}) {
		t.Errorf("python images: %+v", ims)
	}
	if _, err := decode("release.yaml", []byte("registry: r.example.com\nimages:\n  - profile: python3\n    python-index: file:///x\n")); err == nil || !strings.Contains(err.Error(), `line 4: python-index "file:///x": want an http(s) URL`) {
		t.Errorf("python-index file: URL: %v", err)
	}
	// Only images carry them.
	if _, err := decode("release.yaml", []byte("npm-lock: a.json\nimages: [nodejs]\n")); err == nil {
		t.Error("npm-lock at the file's level accepted")
	}
}
