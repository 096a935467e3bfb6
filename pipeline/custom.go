package pipeline

// What gen adds to an image beyond its profile's packages: CA
// certificates (--ca-cert), files from the build host (a profile's src:
// entries, --add-file) and accounts (a profile's accounts:, --user).

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/internal/trust"
	"github.com/distroless-dev/distroless/profiles"
)

// CheckCustom checks CACerts and AddFiles before anything is
// fetched: the certificates (as caCertFiles does) and the trees (as
// HostFiles walks them); the build checks them again as it reads them.
func (o GenOptions) CheckCustom() error {
	now := time.Now()
	for _, f := range o.CACerts {
		data, err := os.ReadFile(f)
		if err != nil {
			return &OptionError{Option: "CACerts", Err: err}
		}
		if _, err := trust.LocalCA(f, data, now); err != nil {
			return &OptionError{Option: "CACerts", Err: err}
		}
	}
	for _, a := range o.AddFiles {
		src, dest, err := addFileOf(a)
		if err != nil {
			return err
		}
		if _, err := assemble.HostFiles(src, dest, assemble.HostOptions{}); err != nil {
			return &OptionError{Option: "AddFiles", Value: a, Err: err}
		}
	}
	return nil
}

// caCertFiles are the image files of --ca-cert: each file, checked
// (PEM certificates only, none expired, none given twice), goes into the
// distro's directory of local CAs (distro.LocalCA) under its base name
// with the suffix the directory needs; the trust generators of the image
// add it to the bundles and the Java trust store.
func caCertFiles(files []string, d *distro.Distro) ([]assemble.File, error) {
	if len(files) == 0 {
		return nil, nil
	}
	dir, suffix := d.LocalCA()
	if dir == "" {
		return nil, &OptionError{Option: "CACerts", Err: fmt.Errorf("distro %s has no place for local CA certificates", d.Name)}
	}
	now := time.Now()
	var out []assemble.File
	byDER := map[string]string{}
	byName := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, &OptionError{Option: "CACerts", Err: err}
		}
		certs, err := trust.LocalCA(f, data, now)
		if err != nil {
			return nil, &OptionError{Option: "CACerts", Err: err}
		}
		for _, c := range certs {
			if g, ok := byDER[string(c.Raw)]; ok {
				return nil, &OptionError{Option: "CACerts", Err: fmt.Errorf("%s: certificate %q is a duplicate: %s has it already", f, subject(c), g)}
			}
			byDER[string(c.Raw)] = f
		}
		base := filepath.Base(f)
		name := strings.TrimSuffix(base, filepath.Ext(base)) + suffix
		if g, ok := byName[name]; ok {
			return nil, &OptionError{Option: "CACerts", Err: fmt.Errorf("%s and %s would both be %s/%s; rename one", g, f, dir, name)}
		}
		byName[name] = f
		out = append(out, assemble.File{Path: path.Join(dir, name), Mode: 0o644, Data: data, From: f})
	}
	return out, nil
}

func subject(c *x509.Certificate) string { return c.Subject.String() }

// hostFilesOf lists the files of a profile's src: entry, src relative to
// the profile file's directory dir.
func hostFilesOf(f profiles.File, dir string) ([]assemble.File, error) {
	src := f.Src
	if !filepath.IsAbs(src) {
		src = filepath.Join(dir, src)
	}
	o := assemble.HostOptions{UID: f.UID, GID: f.GID}
	if f.Mode != "" {
		m, err := strconv.ParseUint(f.Mode, 8, 32)
		if err != nil || m&^0o777 != 0 || m == 0 {
			return nil, fmt.Errorf("file %s: mode %q: want permission bits (0644)", f.Path, f.Mode)
		}
		o.Mode = fs.FileMode(m)
	}
	files, err := assemble.HostFiles(src, f.Path, o)
	if err != nil {
		return nil, fmt.Errorf("file %s: src %s: %w", f.Path, f.Src, err)
	}
	return files, nil
}

// addFileOf splits an added file SRC:DEST at its last colon.
func addFileOf(a string) (src, dest string, err error) {
	i := strings.LastIndexByte(a, ':')
	if i <= 0 || !strings.HasPrefix(a[i+1:], "/") {
		return "", "", &UsageError{&OptionError{Option: "AddFiles", Value: strconv.Quote(a), Err: errors.New("want SRC:DEST, DEST an absolute path in the image")}}
	}
	return a[:i], a[i+1:], nil
}

// accountsOf is a profile's accounts: groups, then users (GID defaults to
// the UID).
func accountsOf(a *profiles.Accounts) []assemble.Account {
	if a == nil {
		return nil
	}
	var out []assemble.Account
	for _, g := range a.Groups {
		out = append(out, assemble.Account{Name: g.Name, GID: *g.GID})
	}
	for _, u := range a.Users {
		uid := *u.UID
		gid := uid
		if u.GID != nil {
			gid = *u.GID
		}
		out = append(out, assemble.Account{Name: u.Name, UID: &uid, GID: gid, Home: u.Home, Shell: u.Shell})
	}
	return out
}

// HostFilesDigest is a digest of what a profile's src: entries copy from
// the host: each file's path in the image, type, mode, owner, link target,
// modification time and content.
// A file larger than maxFile (the build's limit) is refused before any of
// it is read.
func HostFilesDigest(p *profiles.Profile, maxFile int64) (string, error) {
	h := sha256.New()
	for _, f := range p.Files {
		if f.Src == "" {
			continue
		}
		files, err := hostFilesOf(f, p.Dir)
		if err != nil {
			return "", fmt.Errorf("profile %s: %w", p.Name, err)
		}
		for _, hf := range files {
			fmt.Fprintf(h, "%q %v %d %d %q %d\n", hf.Path, hf.Mode, hf.UID, hf.GID, hf.Link, hf.MTime)
			if hf.Source != "" {
				if hf.Size > maxFile {
					return "", (&assemble.LimitError{File: hf.Source, Path: strings.TrimPrefix(hf.Path, "/"), Size: hf.Size, Limit: maxFile})
				}
				r, err := assemble.OpenHostFile(hf.Source)
				if err != nil {
					return "", err
				}
				_, err = io.Copy(h, r)
				r.Close()
				if err != nil {
					return "", fmt.Errorf("%s: %w", hf.Source, err)
				}
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
