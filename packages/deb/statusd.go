package deb

import (
	"fmt"
	"strings"
	"time"

	"github.com/distroless-dev/distroless/packages"
)

// StatusDir is where an image gets dpkg's package database: one file per
// package (its control record with a Status field) and its md5sums, the
// layout distroless images use and image scanners read.
const StatusDir = "/var/lib/dpkg/status.d"

var _ packages.PackageDB = Payload{}

// PackageDB is the Debian package database of the packages placed so far
// (packages.PackageDB): StatusDir/NAME, the package's own control file
// (from the .deb, not the index, so that a build from a lockfile writes
// the same bytes) with "Status: install ok installed", and
// StatusDir/NAME.md5sums when the package has md5sums. A second package
// of one name (another architecture) is NAME_ARCH. The files depend only
// on the packages before them, so a lower layer's files come out the same
// again. created is unused: status.d records no install time.
func (p Payload) PackageDB(installed []packages.Installed, created time.Time) ([]packages.DBFile, error) {
	var out []packages.DBFile
	names := map[string]bool{}
	owner := map[string]string{} // path -> package label
	for _, in := range installed {
		pkg := in.Pkg
		label := pkg.Name + " " + pkg.Version
		name := pkg.Name
		if names[name] {
			name += "_" + pkg.Arch
		}
		if !packages.SafeFileName(name) || !packages.SafeFileName(name+".md5sums") {
			// Names are checked where they enter; this is the last guard
			// before one becomes a path.
			return nil, fmt.Errorf("package %q: its name cannot be a file name in %s", pkg.Name, StatusDir)
		}
		names[name] = true
		m, err := p.controlFiles(in.File, "control", "md5sums")
		if err != nil {
			return nil, fmt.Errorf("reading the control archive of %s: %w", label, err)
		}
		control, err := controlMember(m, in.File, "control")
		if err != nil {
			return nil, fmt.Errorf("reading the control file of %s: %w", label, err)
		}
		files := []packages.DBFile{{Path: StatusDir + "/" + name, Data: statusRecord(control)}}
		md5sums := m["md5sums"]
		if len(md5sums) > 0 {
			files = append(files, packages.DBFile{Path: StatusDir + "/" + name + ".md5sums", Data: md5sums})
		}
		for _, f := range files {
			// A package named like another's md5sums file ("libc6.md5sums")
			// must not replace it.
			if other, ok := owner[f.Path]; ok {
				return nil, fmt.Errorf("packages %s and %s would both write %s", other, label, f.Path)
			}
			owner[f.Path] = label
		}
		out = append(out, files...)
	}
	return out, nil
}

// statusRecord is a package's status.d file: its control record, ending in
// one newline, with "Status: install ok installed" after the Package
// field unless it has a Status field.
func statusRecord(rec []byte) []byte {
	s := strings.TrimRight(strings.ReplaceAll(string(rec), "\r\n", "\n"), "\n \t")
	s = strings.TrimLeft(s, "\n")
	// Only the first stanza.
	if i := strings.Index(s, "\n\n"); i >= 0 {
		s = s[:i]
	}
	lines := strings.Split(s, "\n")
	hasStatus := false
	pkgLine := -1
	for i, l := range lines {
		k, _, ok := strings.Cut(l, ":")
		if !ok || strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			continue
		}
		switch strings.ToLower(k) {
		case "status":
			hasStatus = true
		case "package":
			if pkgLine < 0 {
				pkgLine = i
			}
		}
	}
	if !hasStatus {
		st := "Status: install ok installed"
		lines = append(lines[:pkgLine+1], append([]string{st}, lines[pkgLine+1:]...)...)
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}
