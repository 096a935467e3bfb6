package rpmtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// BuildShared is Build through a cache shared by the test processes of
// this machine: the fixture is built once for what it is made of (this
// package's source, the tools' versions, the host files it packages)
// under the user's cache directory, and each call copies it into dir, so
// that a test may change its copy (re-sign it, edit its metadata) as it
// would a fresh one. Building it takes rpmbuild tens of seconds of CPU,
// which every test run would otherwise spend again. Without a user cache
// directory it is Build.
func BuildShared(dir string) (*Fixture, error) {
	if why := Supported(); why != "" {
		return nil, fmt.Errorf("rpmtest: %s", why)
	}
	key, err := sharedKey()
	if err != nil {
		return nil, err
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return Build(dir) // no cache directory: a build of its own
	}
	parent := filepath.Join(base, "distroless-tests")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	shared := filepath.Join(parent, "rpmtest-"+key)
	if _, err := os.Stat(filepath.Join(shared, "fixture.json")); err != nil {
		if err := buildInto(parent, shared); err != nil {
			return nil, err
		}
	}
	return copyShared(shared, dir)
}

// sharedKey names what the fixture is made of.
func sharedKey() (string, error) {
	h := sha256.New()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("rpmtest: cannot find its own source")
	}
	srcs, err := filepath.Glob(filepath.Join(filepath.Dir(self), "*.go"))
	if err != nil || len(srcs) == 0 {
		return "", fmt.Errorf("rpmtest: its source in %s: %v", filepath.Dir(self), err)
	}
	for _, f := range srcs {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
		h.Write(b)
	}
	for _, t := range []string{"rpmbuild", "createrepo_c", "gpg", "gcc"} {
		out, err := output("/", nil, t, "--version")
		if err != nil {
			return "", err
		}
		line, _, _ := strings.Cut(string(out), "\n")
		fmt.Fprintf(h, "%s %s\n", t, line)
	}
	hostFiles, _ := filepath.Glob("/usr/lib/x86_64-linux-gnu/*.so.*")
	hostFiles = append(hostFiles, "/bin/true", "/etc/services", "/etc/protocols", "/etc/mime.types", "/usr/share/zoneinfo/UTC", "/usr/share/zoneinfo/Europe/Paris")
	for _, f := range hostFiles {
		if st, err := os.Stat(f); err == nil {
			fmt.Fprintf(h, "%s %d %d\n", f, st.Size(), st.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// sharedFixture is a Fixture with paths relative to its directory.
type sharedFixture Fixture

// buildInto builds the fixture in a new directory of parent and renames
// it to shared; when another process got there first, its build is kept.
// Older builds are removed.
func buildInto(parent, shared string) error {
	tmp, err := os.MkdirTemp(parent, "build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	f, err := Build(filepath.Join(tmp, "tree"))
	if err != nil {
		return err
	}
	// rpmbuild's work trees are not part of the fixture.
	if err := os.RemoveAll(filepath.Join(f.Dir, "rpmbuild")); err != nil {
		return err
	}
	for _, home := range []string{f.GPGHome, f.OtherGPGHome} {
		// The agents Build started go with their homes.
		_ = run("/", nil, "gpgconf", "--homedir", home, "--kill", "all")
	}
	rel := sharedFixture(*f)
	rebase := func(p string) string { return strings.TrimPrefix(p, f.Dir+"/") }
	rel.Dir = ""
	rel.KeyFile, rel.OtherKeyFile = rebase(f.KeyFile), rebase(f.OtherKeyFile)
	rel.GPGHome, rel.OtherGPGHome = rebase(f.GPGHome), rebase(f.OtherGPGHome)
	rel.Repos, rel.RPMs = map[string]string{}, map[string]string{}
	for k, v := range f.Repos {
		rel.Repos[k] = rebase(v)
	}
	for k, v := range f.RPMs {
		rel.RPMs[k] = rebase(v)
	}
	b, err := json.Marshal(rel)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "fixture.json"), b, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, shared); err != nil {
		if _, serr := os.Stat(filepath.Join(shared, "fixture.json")); serr == nil {
			return nil // another process's build is there
		}
		return err
	}
	old, _ := filepath.Glob(filepath.Join(parent, "rpmtest-*"))
	for _, o := range old {
		if o != shared {
			os.RemoveAll(o)
		}
	}
	return nil
}

// copyShared copies the shared build into dir (created when missing) and
// returns its Fixture there.
func copyShared(shared, dir string) (*Fixture, error) {
	b, err := os.ReadFile(filepath.Join(shared, "fixture.json"))
	if err != nil {
		return nil, err
	}
	var rel sharedFixture
	if err := json.Unmarshal(b, &rel); err != nil {
		return nil, fmt.Errorf("rpmtest: %s: %v", shared, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := run("/", nil, "cp", "-a", filepath.Join(shared, "tree")+"/.", dir); err != nil {
		return nil, err
	}
	// No agent socket of the build's: gpg starts its own agent.
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSocket != 0 {
			return os.Remove(p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	f := Fixture(rel)
	f.Dir = dir
	at := func(p string) string { return filepath.Join(dir, p) }
	f.KeyFile, f.OtherKeyFile = at(rel.KeyFile), at(rel.OtherKeyFile)
	f.GPGHome, f.OtherGPGHome = at(rel.GPGHome), at(rel.OtherGPGHome)
	f.Repos, f.RPMs = map[string]string{}, map[string]string{}
	for k, v := range rel.Repos {
		f.Repos[k] = at(v)
	}
	for k, v := range rel.RPMs {
		f.RPMs[k] = at(v)
	}
	for _, p := range append([]string{f.KeyFile, f.GPGHome, f.OtherGPGHome}, f.Repos["releases"], f.Repos["updates"]) {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("rpmtest: the shared build %s lacks %s: %v", shared, p, err)
		}
	}
	return &f, nil
}
