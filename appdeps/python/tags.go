package python

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Target is the image a wheel is installed for.
type Target struct {
	// Python is the interpreter's version, "3.13".
	Python string
	// Arch is the OCI architecture: amd64, arm64, 386, arm, ppc64le,
	// s390x, riscv64.
	Arch string
	// Glibc is the C library's version, "2.41"; "" for none known (only
	// pure and linux_ARCH wheels then).
	Glibc string
	// Interpreter is the image's interpreter, the scripts' "#!" line:
	// /usr/bin/python3.13.
	Interpreter string
	// Prefix is the installation prefix (scripts go to Prefix/bin, data
	// to Prefix, headers to Prefix/include/pythonX.Y/NAME): /usr/local.
	Prefix string
	// Site is the site directory the interpreter finds without
	// PYTHONPATH: /usr/local/lib/python3.13/dist-packages on Debian.
	Site string
}

// wheelArch is the machine name wheels use for an OCI architecture.
var wheelArch = map[string]string{
	"amd64": "x86_64", "arm64": "aarch64", "386": "i686", "arm": "armv7l",
	"ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
}

// minGlibc is the oldest manylinux glibc of each machine.
var minGlibc = map[string]int{"x86_64": 5, "i686": 5, "aarch64": 17, "armv7l": 17, "ppc64le": 17, "s390x": 17, "riscv64": 31}

// legacyManylinux are the PEP 513/571/599 aliases.
var legacyManylinux = map[string]int{"manylinux1": 5, "manylinux2010": 12, "manylinux2014": 17}

// pyVersion splits "3.13" into 3, 13.
func pyVersion(v string) (int, int, error) {
	a, b, ok := strings.Cut(v, ".")
	maj, err1 := strconv.Atoi(a)
	mnr, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || maj != 3 {
		return 0, 0, fmt.Errorf("python version %q is not 3.N", v)
	}
	return maj, mnr, nil
}

// glibcVersion splits "2.41" into 2, 41.
func glibcVersion(v string) (int, int, bool) {
	a, b, ok := strings.Cut(v, ".")
	if i := strings.IndexFunc(b, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		b = b[:i]
	}
	maj, err1 := strconv.Atoi(a)
	mnr, err2 := strconv.Atoi(b)
	return maj, mnr, ok && err1 == nil && err2 == nil
}

// tagSet ranks the tags a target takes: lower is better.
type tagSet map[string]int

// supported are the tags t's interpreter takes, best first, as
// packaging.tags orders them for CPython.
func (t Target) supported() (tagSet, error) {
	_, mnr, err := pyVersion(t.Python)
	if err != nil {
		return nil, err
	}
	m, ok := wheelArch[t.Arch]
	if !ok {
		return nil, fmt.Errorf("architecture %s has no wheel platform name", t.Arch)
	}
	plats := t.platforms(m)
	var order []string
	add := func(py, abi, plat string) { order = append(order, py+"-"+abi+"-"+plat) }
	cp := fmt.Sprintf("cp3%d", mnr)
	for _, p := range plats {
		add(cp, cp, p)
	}
	for _, p := range plats {
		add(cp, "abi3", p)
	}
	for _, p := range plats {
		add(cp, "none", p)
	}
	for v := mnr - 1; v >= 2; v-- {
		for _, p := range plats {
			add(fmt.Sprintf("cp3%d", v), "abi3", p)
		}
	}
	for _, p := range plats {
		add(fmt.Sprintf("py3%d", mnr), "none", p)
		add("py3", "none", p)
	}
	for v := mnr - 1; v >= 0; v-- {
		for _, p := range plats {
			add(fmt.Sprintf("py3%d", v), "none", p)
		}
	}
	add(cp, "none", "any")
	add(fmt.Sprintf("py3%d", mnr), "none", "any")
	add("py3", "none", "any")
	for v := mnr - 1; v >= 0; v-- {
		add(fmt.Sprintf("py3%d", v), "none", "any")
	}
	ts := tagSet{}
	for i, tag := range order {
		if _, ok := ts[tag]; !ok {
			ts[tag] = i
		}
	}
	return ts, nil
}

// platforms are the platform tags of machine m on t's glibc, best first.
func (t Target) platforms(m string) []string {
	var out []string
	if maj, mnr, ok := glibcVersion(t.Glibc); ok && maj == 2 {
		for v := mnr; v >= minGlibc[m]; v-- {
			out = append(out, fmt.Sprintf("manylinux_2_%d_%s", v, m))
			for alias, at := range legacyManylinux {
				if at == v && (alias != "manylinux1" && alias != "manylinux2010" || m == "x86_64" || m == "i686") {
					out = append(out, alias+"_"+m)
				}
			}
		}
	}
	return append(out, "linux_"+m)
}

// wheelName is a wheel file name's parts (PEP 427).
type wheelName struct {
	Name, Version, Build string
	Tags                 []string // every py-abi-plat the compressed tag set expands to
}

// projectName is a valid project name (PEP 508), as a wheel's file name
// spells it.
var projectName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._]*[A-Za-z0-9])?$`)

// parseWheelName reads NAME-VER(-BUILD)?-PY-ABI-PLAT.whl.
func parseWheelName(file string) (wheelName, error) {
	base, ok := strings.CutSuffix(file, ".whl")
	if !ok {
		return wheelName{}, fmt.Errorf("%s is not a wheel (.whl)", file)
	}
	parts := strings.Split(base, "-")
	if len(parts) != 5 && len(parts) != 6 {
		return wheelName{}, fmt.Errorf("wheel file name %s is not NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl", file)
	}
	if !projectName.MatchString(parts[0]) {
		return wheelName{}, fmt.Errorf("wheel file name %s: %q is not a project name", file, parts[0])
	}
	w := wheelName{Name: parts[0], Version: parts[1]}
	if len(parts) == 6 {
		w.Build = parts[2]
	}
	n := len(parts)
	for _, py := range strings.Split(parts[n-3], ".") {
		for _, abi := range strings.Split(parts[n-2], ".") {
			for _, plat := range strings.Split(parts[n-1], ".") {
				w.Tags = append(w.Tags, py+"-"+abi+"-"+plat)
			}
		}
	}
	for _, p := range parts {
		if p == "" {
			return wheelName{}, fmt.Errorf("wheel file name %s has an empty part", file)
		}
	}
	return w, nil
}

// rank is the best rank of w's tags in ts, -1 when it has none.
func (ts tagSet) rank(w wheelName) int {
	best := -1
	for _, t := range w.Tags {
		if r, ok := ts[t]; ok && (best < 0 || r < best) {
			best = r
		}
	}
	return best
}

// whyNot says why none of w's tags suit t.
func (t Target) whyNot(w wheelName) string {
	m := wheelArch[t.Arch]
	for _, tag := range w.Tags {
		parts := strings.SplitN(tag, "-", 3)
		if len(parts) == 3 && strings.HasPrefix(parts[2], "musllinux") {
			return fmt.Sprintf("it is for musl libc (%s), the image has glibc", parts[2])
		}
	}
	for _, tag := range w.Tags {
		parts := strings.SplitN(tag, "-", 3)
		if len(parts) != 3 {
			continue
		}
		plat := parts[2]
		if plat != "any" && !strings.HasSuffix(plat, "_"+m) {
			return fmt.Sprintf("it is for platform %s, the image is linux %s", plat, m)
		}
		if need, ok := manylinuxGlibc(plat); ok {
			if _, have, ok := glibcVersion(t.Glibc); !ok || need > have {
				return fmt.Sprintf("it needs glibc 2.%d (%s), the image has glibc %s", need, plat, t.Glibc)
			}
		}
	}
	return fmt.Sprintf("its tags (%s) are not for python %s (cp3%s, abi3 or none)", strings.Join(w.Tags, ", "), t.Python, strings.TrimPrefix(t.Python, "3."))
}

// normalize is a project name as PEP 503 compares them.
func normalize(name string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(name) {
		if r == '-' || r == '_' || r == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteRune(r)
	}
	return b.String()
}

// manylinuxGlibc is the glibc minor version a manylinux platform tag
// needs.
func manylinuxGlibc(plat string) (int, bool) {
	if rest, ok := strings.CutPrefix(plat, "manylinux_2_"); ok {
		n, _, _ := strings.Cut(rest, "_")
		v, err := strconv.Atoi(n)
		return v, err == nil
	}
	for alias, v := range legacyManylinux {
		if strings.HasPrefix(plat, alias+"_") {
			return v, true
		}
	}
	return 0, false
}
