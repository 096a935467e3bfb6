package rpmtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Sign signs rpm packages with the key of a GnuPG home.
func (f *Fixture) Sign(home string, rpms ...string) error {
	if len(rpms) == 0 {
		return nil
	}
	fpr, err := fingerprint(home)
	if err != nil {
		return err
	}
	gpg, err := exec.LookPath("gpg")
	if err != nil {
		return err
	}
	args := append([]string{"rpmsign", "--addsign", "--define", "_gpg_name " + fpr, "--define", "_gpg_path " + home, "--define", "__gpg " + gpg}, rpms...)
	return run(f.Dir, []string{"GNUPGHOME=" + home}, args...)
}

// SignRepomd (re)writes repodata/repomd.xml.asc of a repository with the
// key of a GnuPG home.
func (f *Fixture) SignRepomd(home, repo string) error {
	md := filepath.Join(repo, "repodata", "repomd.xml")
	os.Remove(md + ".asc")
	return run(repo, []string{"GNUPGHOME=" + home}, "gpg", "--batch", "--yes", "--armor", "--detach-sign", "--output", md+".asc", md)
}

// newKey makes a throwaway signing key in home and exports its public
// half.
func newKey(home, uid string) (gpgHome, keyFile, fpr string, err error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", "", "", err
	}
	env := []string{"GNUPGHOME=" + home}
	if err := run(home, env, "gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid+" <test@example.invalid>", "rsa2048", "sign", "never"); err != nil {
		return "", "", "", err
	}
	keyFile = filepath.Join(home, "key.asc")
	out, err := output(home, env, "gpg", "--batch", "--armor", "--export")
	if err != nil {
		return "", "", "", err
	}
	if err := os.WriteFile(keyFile, out, 0o644); err != nil {
		return "", "", "", err
	}
	fpr, err = fingerprint(home)
	return home, keyFile, fpr, err
}

func fingerprint(home string) (string, error) {
	out, err := output(home, []string{"GNUPGHOME=" + home}, "gpg", "--batch", "--with-colons", "--list-keys")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			return f[9], nil
		}
	}
	return "", fmt.Errorf("no key in %s", home)
}

func run(dir string, env []string, args ...string) error {
	_, err := output(dir, env, args...)
	return err
}

func output(dir string, env []string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}
