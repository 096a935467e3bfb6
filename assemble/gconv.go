package assemble

// The gconv-modules generator: glibc's iconv configuration for the
// modules an image keeps.

import (
	"io/fs"
	"path"
	"sort"
	"strings"
)

func init() { registerGenerator("gconv-modules", gconvModules) }

// gconvModules rewrites glibc's iconv configuration (gconv-modules and
// gconv-modules.d/*.conf in each gconv directory) to name only the
// modules the image has, when pruning left some out: a "module" line
// whose module file is missing goes, and so does an "alias" line whose
// target no kept module converts. iconv_open of a kept encoding then
// works, and of a dropped one fails cleanly (EINVAL), as for a name glibc
// does not know. glibc reads these files when gconv-modules.cache, which
// lists every module, is absent, as the profiles that prune modules make
// it. A configuration that names only kept modules is left as it is.
func gconvModules(f imageFS) ([]File, error) {
	type conf struct {
		path string
		dir  string // the gconv directory its relative module names are in
	}
	var confs []conf
	files := map[string]bool{}
	err := f.Walk(func(p string, mode fs.FileMode, _ string) error {
		if mode.IsDir() {
			return nil
		}
		files[p] = true
		d, name := path.Split(p)
		d = strings.TrimSuffix(d, "/")
		switch {
		case name == "gconv-modules" && path.Base(d) == "gconv":
			confs = append(confs, conf{p, d})
		case strings.HasSuffix(name, ".conf") && path.Base(d) == "gconv-modules.d" && path.Base(path.Dir(d)) == "gconv":
			confs = append(confs, conf{p, path.Dir(d)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []File
	// Per gconv directory: which names a kept module converts from or to.
	byDir := map[string][]conf{}
	var dirs []string
	for _, c := range confs {
		if _, ok := byDir[c.dir]; !ok {
			dirs = append(dirs, c.dir)
		}
		byDir[c.dir] = append(byDir[c.dir], c)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		data := map[string][]byte{}
		for _, c := range byDir[d] {
			b, err := f.ReadFile(c.path)
			if err != nil {
				return nil, err
			}
			data[c.path] = b
		}
		kept := map[string]bool{} // upper-cased names with a kept module
		keepModule := func(fields []string) bool {
			mod := fields[3]
			if !strings.HasPrefix(mod, "/") {
				mod = d + "/" + mod
			}
			if !strings.HasSuffix(mod, ".so") {
				mod += ".so"
			}
			return files[mod]
		}
		for _, c := range byDir[d] {
			for _, line := range strings.Split(string(data[c.path]), "\n") {
				fields := gconvFields(line)
				if len(fields) >= 4 && fields[0] == "module" && keepModule(fields) {
					kept[strings.ToUpper(fields[1])] = true
					kept[strings.ToUpper(fields[2])] = true
				}
			}
		}
		for _, c := range byDir[d] {
			var b strings.Builder
			changed := false
			for _, line := range strings.SplitAfter(string(data[c.path]), "\n") {
				fields := gconvFields(line)
				drop := false
				switch {
				case len(fields) >= 4 && fields[0] == "module":
					drop = !keepModule(fields)
				case len(fields) >= 3 && fields[0] == "alias":
					drop = !kept[strings.ToUpper(fields[2])]
				}
				if drop {
					changed = true
					continue
				}
				b.WriteString(line)
			}
			if changed {
				out = append(out, File{Path: c.path, Mode: 0o644, Data: []byte(b.String())})
			}
		}
	}
	return out, nil
}

// gconvFields splits a configuration line into its fields, without the
// comment.
func gconvFields(line string) []string {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	return strings.Fields(line)
}
