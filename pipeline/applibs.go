package pipeline

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/distroless-dev/distroless/appdeps"
	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/packages"
)

// findAppLibs finds the libraries the ELF files of the application's
// sets need (DT_NEEDED) that neither the sets nor the image's packages
// ship, and the package of the distro that ships each, through the
// distro's file index (Debian's Contents-ARCH). A library no package
// ships in the loader's default directories, or that several packages
// ship, is an error naming the file that needs it.
func findAppLibs(ctx context.Context, finder packages.FileFinder, d *distro.Distro, arch string, closure []*packages.Package, sets []*appdeps.Set) ([]AppLib, error) {
	dirs, machine, ok := assemble.LibraryDirs(arch, d.LibraryDirs())
	if !ok {
		return nil, fmt.Errorf("architecture %s: no library directories known", arch)
	}
	type need struct{ set, file, lib string }
	var needs []need
	shipped := map[string]bool{} // base names the sets ship
	for _, s := range sets {
		for _, f := range s.Files {
			if f.Mode.IsRegular() || f.Mode&fs.ModeSymlink != 0 {
				shipped[path.Base(f.Path)] = true
			}
		}
	}
	for _, s := range sets {
		for _, f := range s.Files {
			if !f.Mode.IsRegular() || !bytes.HasPrefix(f.Data, []byte(elf.ELFMAG)) {
				continue
			}
			libs, ok := neededOf(f.Data, machine)
			if !ok {
				continue // not one the loader of this image reads; the ELF check judges it
			}
			for _, l := range libs {
				if !shipped[l] && !strings.Contains(l, "/") {
					needs = append(needs, need{s.Name, f.Path, l})
				}
			}
		}
	}
	if len(needs) == 0 {
		return nil, nil
	}
	var names []string
	for _, n := range needs {
		if !slices.Contains(names, n.lib) {
			names = append(names, n.lib)
		}
	}
	slices.Sort(names)
	if finder == nil {
		return nil, &fileIndexError{fmt.Errorf("%s: %s needs %s, and the index of %s cannot say which package ships a file; turn the lookup off (AppOptions.NoLibs) and add the packages with Options.Add",
			needs[0].set, needs[0].file, strings.Join(names, ", "), d.Name)}
	}
	owners, err := finder.FindFiles(ctx, names)
	if err != nil {
		return nil, &fileIndexError{fmt.Errorf("looking up the application's libraries (%s): %w (AppOptions.NoLibs turns the lookup off)", strings.Join(names, ", "), err)}
	}
	inClosure := map[string]bool{}
	for _, p := range closure {
		inClosure[p.Name] = true
	}
	// A path under /lib is under /usr/lib in a merged-/usr image.
	usr := func(p string) string {
		if strings.HasPrefix(p, "/lib/") || p == "/lib" || strings.HasPrefix(p, "/lib64/") {
			return "/usr" + p
		}
		return p
	}
	var libDirs []string
	for _, d := range dirs {
		libDirs = append(libDirs, usr(d))
	}
	pkgOf := map[string]string{}
	for _, lib := range names {
		var cands []string
		var where []string
		for _, o := range owners[lib] {
			if !slices.Contains(libDirs, usr(path.Dir(o.Path))) {
				continue
			}
			where = append(where, o.Path)
			for _, p := range o.Packages {
				if !slices.Contains(cands, p) {
					cands = append(cands, p)
				}
			}
		}
		slices.Sort(cands)
		first := slices.IndexFunc(needs, func(n need) bool { return n.lib == lib })
		file := needs[first].file
		switch {
		case slices.ContainsFunc(cands, func(p string) bool { return inClosure[p] }):
			continue // the image has it
		case len(cands) == 0:
			return nil, fmt.Errorf("%s: %s needs %s, which no package of %s ships in the loader's directories (%s); bundle it in the application, or turn the lookup off (AppOptions.NoLibs) and add the package that has it with Options.Add",
				needs[first].set, file, lib, d.Name, strings.Join(dirs, ", "))
		case len(cands) > 1:
			return nil, fmt.Errorf("%s: %s needs %s, which several packages of %s ship (%s, as %s); add the one wanted with Options.Add",
				needs[first].set, file, lib, d.Name, strings.Join(cands, ", "), strings.Join(where, ", "))
		}
		pkgOf[lib] = cands[0]
	}
	var out []AppLib
	for _, n := range needs {
		if p, ok := pkgOf[n.lib]; ok {
			out = append(out, AppLib{Set: n.set, File: n.file, Needs: n.lib, Package: p})
		}
	}
	return out, nil
}

// fileIndexError is a lookup that could not be made: the distro's file
// index is missing or refused (a Contents file that does not match its
// signed Release). The libraries may all be in the image already, which
// only the build's ELF check can tell.
type fileIndexError struct{ err error }

func (e *fileIndexError) Error() string { return e.err.Error() }
func (e *fileIndexError) Unwrap() error { return e.err }

// neededOf is the DT_NEEDED list of an ELF file of machine m; ok is false
// for another machine or a file debug/elf cannot read (or panics on).
func neededOf(data []byte, m elf.Machine) (libs []string, ok bool) {
	defer func() {
		if recover() != nil {
			libs, ok = nil, false
		}
	}()
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil || ef.Machine != m {
		return nil, false
	}
	libs, err = ef.ImportedLibraries()
	return libs, err == nil
}
