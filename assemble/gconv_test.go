package assemble

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostGconv is the host's glibc iconv directory (libc6 has every module).
func hostGconv(t *testing.T) (string, []string) {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/*-linux-gnu*/gconv")
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "gconv-modules")); err == nil {
			var files []string
			err := filepath.Walk(d, func(p string, info os.FileInfo, err error) error {
				if err == nil && info.Mode().IsRegular() {
					files = append(files, p)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return d, files
		}
	}
	t.Fatal("the host has no glibc gconv directory (libc6)")
	return "", nil
}

// gconvImage builds a one-layer image of the host's gconv files that keep
// says to keep, with the gconv-modules generator, and returns its files.
func gconvImage(t *testing.T, keep func(name string) bool) (string, map[string]tarFile) {
	dir, files := hostGconv(t)
	fx := newFixture()
	var entries []fakeEntry
	for _, f := range files {
		if !keep(filepath.Base(f)) && !strings.Contains(f, "gconv-modules") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, regBytes("."+f, 0o644, data))
	}
	l := layer("base", fx.pkg("libc6", entries...))
	l.Generate = []string{"gconv-modules"}
	spec := fx.spec(l)
	spec.AllowMissingLibs = true // the modules link libc, not in this image
	img, _ := mustBuild(t, spec)
	return strings.TrimPrefix(dir, "/"), rootfs(t, img)
}

// With every module, the configuration is the package's, unchanged.
func TestGconvModulesAllUnchanged(t *testing.T) {
	dir, fs := gconvImage(t, func(string) bool { return true })
	n := 0
	for p, f := range fs {
		if !strings.HasPrefix(p, dir+"/gconv-modules") || f.h.Typeflag != '0' {
			continue
		}
		host, err := os.ReadFile("/" + p)
		if err != nil {
			t.Fatal(err)
		}
		if string(host) != string(f.data) {
			t.Errorf("/%s changed although every module is there", p)
		}
		n++
	}
	if n < 2 {
		t.Fatalf("only %d configuration files", n)
	}
}

// With a subset, every module line names a kept file and every alias a
// kept encoding; the kept encodings keep all their lines.
func TestGconvModulesSubset(t *testing.T) {
	keep := map[string]bool{"UTF-16.so": true, "ISO8859-15.so": true, "EUC-JP.so": true, "libJIS.so": true}
	dir, fs := gconvImage(t, func(n string) bool { return keep[n] })
	var conf strings.Builder
	for p, f := range fs {
		if strings.HasPrefix(p, dir+"/gconv-modules") && f.h.Typeflag == '0' && !strings.HasSuffix(p, ".cache") {
			conf.Write(f.data)
			conf.WriteString("\n")
		}
	}
	modules := map[string]bool{}
	targets := map[string]bool{}
	for _, line := range strings.Split(conf.String(), "\n") {
		fs := gconvFields(line)
		switch {
		case len(fs) >= 4 && fs[0] == "module":
			if !keep[fs[3]+".so"] {
				t.Errorf("module line for a pruned module: %q", line)
			}
			modules[fs[1]], modules[fs[2]] = true, true
		case len(fs) >= 3 && fs[0] == "alias":
			targets[fs[2]] = true
		}
	}
	for tg := range targets {
		if !modules[tg] {
			t.Errorf("alias to %s, which no kept module converts", tg)
		}
	}
	for _, want := range []string{"UTF-16//", "UTF-16LE//", "ISO-8859-15//", "EUC-JP//"} {
		if !modules[want] {
			t.Errorf("no module line for %s", want)
		}
	}
	for _, a := range []string{"LATIN-9//", "EUCJP//", "UTF16//"} {
		found := false
		for _, line := range strings.Split(conf.String(), "\n") {
			fs := gconvFields(line)
			found = found || len(fs) >= 3 && fs[0] == "alias" && fs[1] == a
		}
		if !found {
			t.Errorf("alias %s dropped", a)
		}
	}
}
