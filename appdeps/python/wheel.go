package python

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// member is one file of a wheel, read and checked.
type member struct {
	name string
	data []byte
	exec bool
}

// checkName refuses a member name that is absolute, climbs out or is
// not clean UTF-8 without NUL or backslash.
func checkName(n string) error {
	switch {
	case n == "" || strings.ContainsAny(n, "\x00\\"):
		return fmt.Errorf("member %q: a name with NUL or backslash, or empty", n)
	case strings.HasPrefix(n, "/"):
		return fmt.Errorf("member %q has an absolute path", n)
	}
	c := path.Clean(n)
	if c == ".." || strings.HasPrefix(c, "../") || slices.Contains(strings.Split(n, "/"), "..") {
		return fmt.Errorf("member %q climbs out of the wheel (..)", n)
	}
	return nil
}

// read reads the wheel's members, refusing unsafe ones before reading.
func (in *installer) read(blob string) ([]member, error) {
	zr, err := zip.OpenReader(blob)
	if err != nil {
		return nil, fmt.Errorf("not a zip archive: %w", err)
	}
	defer zr.Close()
	if len(zr.File) > maxMembers {
		return nil, fmt.Errorf("%d members, more than %d", len(zr.File), maxMembers)
	}
	seen := map[string]bool{}
	var total uint64
	for _, f := range zr.File {
		if err := checkName(f.Name); err != nil {
			return nil, err
		}
		m := f.Mode()
		switch {
		case m&fs.ModeSymlink != 0:
			return nil, fmt.Errorf("member %s is a symlink; wheels hold regular files only", f.Name)
		case m.IsDir() || strings.HasSuffix(f.Name, "/"):
			continue
		case !m.IsRegular():
			return nil, fmt.Errorf("member %s is a special file (%v); wheels hold regular files only", f.Name, m.Type())
		}
		if f.UncompressedSize64 > uint64(in.o.MaxFileSize) {
			return nil, fmt.Errorf("member %s declares %d bytes, more than a file may have (%d)", f.Name, f.UncompressedSize64, in.o.MaxFileSize)
		}
		total += f.UncompressedSize64
		if total+uint64(in.total) > uint64(in.o.MaxTotal) {
			return nil, fmt.Errorf("member %s: the wheels' files pass %d bytes, the limit", f.Name, in.o.MaxTotal)
		}
		c := path.Clean(f.Name)
		if seen[c] {
			return nil, fmt.Errorf("member %s is in the wheel twice", f.Name)
		}
		seen[c] = true
	}
	var out []member
	for _, f := range zr.File {
		if f.Mode().IsDir() || strings.HasSuffix(f.Name, "/") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", f.Name, err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, int64(f.UncompressedSize64)+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", f.Name, err)
		}
		if uint64(len(data)) != f.UncompressedSize64 {
			return nil, fmt.Errorf("member %s: %d bytes, its header says %d", f.Name, len(data), f.UncompressedSize64)
		}
		out = append(out, member{name: path.Clean(f.Name), data: data, exec: f.Mode().Perm()&0o111 != 0})
	}
	in.total += int64(total)
	return out, nil
}

// checkRecord checks that RECORD lists every member but itself (and its
// signatures) with a hash that matches and the size, and nothing else.
func checkRecord(distInfo string, record []byte, members []member) error {
	r := csv.NewReader(bytes.NewReader(record))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return fmt.Errorf("RECORD: %w", err)
	}
	listed := map[string][]string{}
	for _, row := range rows {
		if len(row) == 0 || (len(row) == 1 && row[0] == "") {
			continue
		}
		if len(row) != 3 {
			return fmt.Errorf("RECORD: %q is not PATH,HASH,SIZE", strings.Join(row, ","))
		}
		listed[path.Clean(row[0])] = row
	}
	self := map[string]bool{distInfo + "/RECORD": true, distInfo + "/RECORD.jws": true, distInfo + "/RECORD.p7s": true}
	for _, m := range members {
		if self[m.name] {
			continue
		}
		row, ok := listed[m.name]
		if !ok {
			return fmt.Errorf("RECORD does not list %s", m.name)
		}
		delete(listed, m.name)
		alg, want, ok := strings.Cut(row[1], "=")
		var h hash.Hash
		switch alg {
		case "sha256":
			h = sha256.New()
		case "sha384":
			h = sha512.New384()
		case "sha512":
			h = sha512.New()
		default:
			return fmt.Errorf("RECORD: %s has hash %q, not sha256, sha384 or sha512", m.name, row[1])
		}
		h.Write(m.data)
		got := base64.RawURLEncoding.EncodeToString(h.Sum(nil))
		if !ok || strings.TrimRight(want, "=") != got {
			return fmt.Errorf("RECORD lies: %s has %s=%s, RECORD says %s", m.name, alg, got, row[1])
		}
		if row[2] != "" && row[2] != fmt.Sprint(len(m.data)) {
			return fmt.Errorf("RECORD lies: %s has %d bytes, RECORD says %s", m.name, len(m.data), row[2])
		}
	}
	for n := range listed {
		if !self[n] {
			return fmt.Errorf("RECORD lists %s, which the wheel does not have", n)
		}
	}
	return nil
}
