package rpmtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// Fixture is a built set of repositories.
type Fixture struct {
	Dir string
	// Repos are the repository directories (each holds repodata/ and
	// its packages): "releases" (gzip metadata) and "updates" (xz
	// metadata, a module stream).
	Repos map[string]string
	// KeyFile is the armored public key that signed the packages and
	// both repomd.xml files; Fingerprint is its fingerprint.
	KeyFile, Fingerprint string
	// OtherKeyFile is another key's public half, and OtherGPGHome the
	// home that signs with it (for bad-signature tests).
	OtherKeyFile, OtherGPGHome string
	// GPGHome signs with the fixture's key.
	GPGHome string
	// RPMs maps each package's file name to its path.
	RPMs map[string]string
	// TrustedCA is the one certificate (PEM) of the fixture's
	// ca-certificates that a TLS trust bundle must hold: of the three it
	// lists, one is distrusted and one is for e-mail only.
	TrustedCA []byte
}

// Tools are the programs Build runs.
var Tools = []string{"rpmbuild", "rpmsign", "createrepo_c", "modifyrepo_c", "gpg", "gcc"}

// Supported reports why Build cannot run here, or "".
func Supported() string {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return "the RPM test repositories package the host's amd64 glibc"
	}
	for _, t := range Tools {
		if _, err := exec.LookPath(t); err != nil {
			return t + " is not installed (scripts/test.sh installs it)"
		}
	}
	return ""
}

// Build makes the fixture in dir (created when missing). It takes a
// few seconds.
func Build(dir string) (*Fixture, error) {
	if why := Supported(); why != "" {
		return nil, fmt.Errorf("rpmtest: %s", why)
	}
	f := &Fixture{Dir: dir, Repos: map[string]string{}, RPMs: map[string]string{}}
	src := filepath.Join(dir, "src")
	for _, d := range []string{src, filepath.Join(dir, "rpms")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	var err error
	if f.GPGHome, f.KeyFile, f.Fingerprint, err = newKey(filepath.Join(dir, "gnupg"), "distroless test key"); err != nil {
		return nil, err
	}
	if f.OtherGPGHome, f.OtherKeyFile, _, err = newKey(filepath.Join(dir, "gnupg-other"), "distroless other key"); err != nil {
		return nil, err
	}

	// Sources: the library and binary, and the host's C library.
	for name, body := range map[string]string{"libdemo.c": libdemoC, "demo.c": demoC} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	steps := [][]string{
		{"gcc", "-O1", "-shared", "-fPIC", "-Wl,-soname,libdemo.so.1", "-o", "libdemo.so.1.0", "libdemo.c"},
		{"ln", "-sf", "libdemo.so.1.0", "libdemo.so"},
		{"gcc", "-O1", "-o", "demo", "demo.c", "-L.", "-ldemo", "-Wl,-rpath,/usr/lib64"},
		{"cp", "-pL", "/bin/true", "/etc/services", "/etc/protocols", "/etc/mime.types", "/usr/share/zoneinfo/UTC", "."},
		{"cp", "-pL", "/usr/share/zoneinfo/Europe/Paris", "Paris"},
	}
	for _, lib := range []string{"libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2", "libssl.so.3", "libcrypto.so.3", "libstdc++.so.6", "libgcc_s.so.1", "libgomp.so.1"} {
		steps = append(steps, []string{"cp", "-pL", "/usr/lib/x86_64-linux-gnu/" + lib, "."})
	}
	for _, s := range steps {
		if err := run(src, nil, s...); err != nil {
			return nil, err
		}
	}
	if f.TrustedCA, err = writeTrustSource(filepath.Join(src, "ca-bundle.trust.p11-kit")); err != nil {
		return nil, err
	}

	// rpmbuild spends most of its time starting up and waiting: the
	// packages are built a few at a time, each in its own top directory.
	pkgs := fixturePackages()
	errs := make([]error, len(pkgs))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, p := range pkgs {
		name := strings.Fields(strings.SplitN(strings.SplitN(p.spec, "Name: ", 2)[1], "\n", 2)[0])[0]
		specFile := filepath.Join(dir, "rpms", fmt.Sprintf("%s-%s-%d.spec", name, p.repo, i))
		if err := os.WriteFile(specFile, []byte(p.spec), 0o644); err != nil {
			return nil, err
		}
		out := filepath.Join(dir, "repo", p.repo)
		top := filepath.Join(dir, "rpmbuild", fmt.Sprint(i))
		// rpm's own mkdir -p is not safe against a concurrent one
		// (EEXIST on a shared parent fails the build): every directory
		// the builds share is made here, before they start.
		for _, d := range []string{out, top} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, err
			}
		}
		args := []string{"rpmbuild", "-bb", "--quiet",
			"--define", "_topdir " + top,
			"--define", "_sourcedir " + src,
			"--define", "_rpmdir " + out,
			"--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
			"--define", "_source_date_epoch_from_changelog 0",
			"--define", "use_source_date_epoch_as_buildtime 1",
		}
		if p.payload != "" {
			args = append(args, "--define", "_binary_payload "+p.payload)
		}
		args = append(args, specFile)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = run(dir, []string{"SOURCE_DATE_EPOCH=1700000000"}, args...)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, repo := range []string{"releases", "updates"} {
		d := filepath.Join(dir, "repo", repo)
		f.Repos[repo] = d
		rpms, _ := filepath.Glob(filepath.Join(d, "*.rpm"))
		for _, r := range rpms {
			f.RPMs[filepath.Base(r)] = r
		}
		if err := f.Sign(f.GPGHome, rpms...); err != nil {
			return nil, err
		}
		ct := "gz"
		if repo == "updates" {
			ct = "xz"
		}
		if err := run(d, nil, "createrepo_c", "--quiet", "--no-database", "--general-compress-type="+ct, "."); err != nil {
			return nil, err
		}
		if repo == "updates" {
			mf := filepath.Join(dir, "modules.yaml")
			if err := os.WriteFile(mf, []byte(modulesYAML), 0o644); err != nil {
				return nil, err
			}
			// createrepo_c here writes no zstd: recompress primary.
			if err := recompressZstd(d, "primary"); err != nil {
				return nil, err
			}
			if err := run(d, nil, "modifyrepo_c", "--compress-type=gz", "--mdtype=modules", mf, "repodata"); err != nil {
				return nil, err
			}
		}
		if err := f.SignRepomd(f.GPGHome, d); err != nil {
			return nil, err
		}
	}
	return f, nil
}
