package npm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// lockFile is the part of a package-lock.json this package reads.
type lockFile struct {
	Name            string                `json:"name"`
	LockfileVersion *int                  `json:"lockfileVersion"`
	Packages        map[string]*lockEntry `json:"packages"`
}

// lockEntry is one entry of the lockfile's "packages" map.
type lockEntry struct {
	Name             string            `json:"name"`
	Version          string            `json:"version"`
	Resolved         string            `json:"resolved"`
	Integrity        string            `json:"integrity"`
	License          json.RawMessage   `json:"license"`
	Link             bool              `json:"link"`
	Dev              bool              `json:"dev"`
	Optional         bool              `json:"optional"`
	DevOptional      bool              `json:"devOptional"`
	InBundle         bool              `json:"inBundle"`
	HasInstallScript bool              `json:"hasInstallScript"`
	Bin              json.RawMessage   `json:"bin"`
	OS               stringList        `json:"os"`
	CPU              stringList        `json:"cpu"`
	Libc             stringList        `json:"libc"`
	Dependencies     map[string]string `json:"dependencies"`
	OptionalDeps     map[string]string `json:"optionalDependencies"`
	PeerDeps         map[string]string `json:"peerDependencies"`
	DevDeps          map[string]string `json:"devDependencies"`
	PeerDepsMeta     map[string]struct {
		Optional bool `json:"optional"`
	} `json:"peerDependenciesMeta"`
}

// stringList is a JSON string or array of strings (package.json's os,
// cpu and libc take both).
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = []string{s}
		return nil
	}
	var a []string
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("want a string or an array of strings, got %s", b)
	}
	*l = a
	return nil
}

// node is one package of the lockfile's tree.
type node struct {
	loc   string // the lockfile's key: node_modules/a/node_modules/@s/b
	name  string // the folder's package name: @s/b
	e     *lockEntry
	depth int
	in    []*edge
	out   []*edge
	inert bool // an optional package the platform cannot take, or one only it needs
}

type edge struct {
	from, to *node // from is nil for the root project
	optional bool
}

// parseLock reads a package-lock.json and checks its shape: version 2
// or 3, a packages map whose keys are node_modules paths.
func parseLock(data []byte) (*lockFile, error) {
	var lf lockFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&lf); err != nil {
		return nil, fmt.Errorf("not a package-lock.json: %w", err)
	}
	switch {
	case lf.LockfileVersion == nil:
		return nil, fmt.Errorf("no lockfileVersion: not a package-lock.json of npm 7 or later")
	case *lf.LockfileVersion == 1:
		return nil, fmt.Errorf("lockfileVersion 1 (npm 5 and 6) is not supported: it has no \"packages\" section; regenerate it with npm 7 or later (npm install --package-lock-only --lockfile-version 3)")
	case *lf.LockfileVersion != 2 && *lf.LockfileVersion != 3:
		return nil, fmt.Errorf("lockfileVersion %d is not supported (2 and 3 are)", *lf.LockfileVersion)
	}
	if lf.Packages == nil {
		return nil, fmt.Errorf("lockfileVersion %d without a \"packages\" section", *lf.LockfileVersion)
	}
	for k, e := range lf.Packages {
		if e == nil {
			return nil, fmt.Errorf("packages[%q] is null", k)
		}
	}
	return &lf, nil
}

// packageNameOf returns the package folder named by a lockfile key (the
// part after its last node_modules/) and the key's depth, or an error
// for a key that is not a clean node_modules path.
func packageNameOf(loc string) (string, int, error) {
	if loc == "" || strings.HasPrefix(loc, "/") || strings.Contains(loc, "\\") || strings.ContainsRune(loc, 0) {
		return "", 0, fmt.Errorf("package path %q is not a node_modules path", loc)
	}
	parts := strings.Split(loc, "/")
	depth := 0
	name := ""
	for i := 0; i < len(parts); {
		if parts[i] != "node_modules" {
			return "", 0, fmt.Errorf("package path %q is not a node_modules path (a workspace or a linked folder: only registry packages are installed)", loc)
		}
		i++
		if i >= len(parts) {
			return "", 0, fmt.Errorf("package path %q ends in node_modules", loc)
		}
		n := parts[i]
		i++
		if strings.HasPrefix(n, "@") {
			if i >= len(parts) {
				return "", 0, fmt.Errorf("package path %q ends in a scope", loc)
			}
			n += "/" + parts[i]
			i++
		}
		if err := checkName(n); err != nil {
			return "", 0, fmt.Errorf("package path %q: %w", loc, err)
		}
		name = n
		depth++
	}
	return name, depth, nil
}

// checkName refuses a package folder name that could leave its place:
// empty, ".", "..", a slash outside a scope, a NUL.
func checkName(n string) error {
	parts := strings.Split(n, "/")
	if len(parts) > 2 || (len(parts) == 2 && !strings.HasPrefix(parts[0], "@")) {
		return fmt.Errorf("bad package name %q", n)
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || p == "@" || p == "node_modules" || strings.ContainsAny(p, "\\\x00") {
			return fmt.Errorf("bad package name %q", n)
		}
	}
	return nil
}

// tree is the lockfile's packages as nodes, with the dependency edges
// node's module resolution gives them.
type tree struct {
	root  *lockEntry
	nodes map[string]*node
	order []*node // by depth, then path (npm's order for bin links)
}

func buildTree(lf *lockFile) (*tree, error) {
	t := &tree{root: lf.Packages[""], nodes: map[string]*node{}}
	if t.root == nil {
		t.root = &lockEntry{}
	}
	for loc, e := range lf.Packages {
		if loc == "" {
			continue
		}
		name, depth, err := packageNameOf(loc)
		if err != nil {
			return nil, err
		}
		t.nodes[loc] = &node{loc: loc, name: name, e: e, depth: depth}
	}
	for _, n := range t.nodes {
		t.order = append(t.order, n)
	}
	sort.Slice(t.order, func(i, j int) bool {
		a, b := t.order[i], t.order[j]
		if a.depth != b.depth {
			return a.depth < b.depth
		}
		return a.loc < b.loc
	})
	t.edges(nil, t.root, true)
	for _, n := range t.order {
		t.edges(n, n.e, false)
	}
	return t, nil
}

// edges adds the dependency edges out of from (nil: the root project,
// whose devDependencies count too).
func (t *tree) edges(from *node, e *lockEntry, root bool) {
	add := func(deps map[string]string, optional func(string) bool) {
		names := make([]string, 0, len(deps))
		for d := range deps {
			names = append(names, d)
		}
		slices.Sort(names)
		for _, d := range names {
			to := t.resolve(from, d)
			if to == nil {
				continue
			}
			ed := &edge{from: from, to: to, optional: optional(d)}
			if from != nil {
				from.out = append(from.out, ed)
			}
			to.in = append(to.in, ed)
		}
	}
	no := func(string) bool { return false }
	add(e.Dependencies, no)
	add(e.OptionalDeps, func(string) bool { return true })
	add(e.PeerDeps, func(d string) bool { return e.PeerDepsMeta[d].Optional })
	if root {
		add(e.DevDeps, no)
	}
}

// resolve finds the package require(name) finds from a package's folder:
// its own node_modules, then each enclosing one up to the project's.
func (t *tree) resolve(from *node, name string) *node {
	dir := ""
	if from != nil {
		dir = from.loc
	}
	for {
		loc := "node_modules/" + name
		if dir != "" {
			loc = dir + "/" + loc
		}
		if n := t.nodes[loc]; n != nil {
			return n
		}
		if dir == "" {
			return nil
		}
		// Up one package: strip "/node_modules/<name>" (scoped: two parts).
		i := strings.LastIndex(dir, "node_modules/")
		if i <= 0 {
			dir = ""
		} else {
			dir = strings.TrimSuffix(dir[:i], "/")
		}
	}
}

// Platform is what an image is for, in npm's terms (process.platform,
// process.arch, and the C library npm-install-checks reports).
type Platform struct {
	OS   string // "linux"
	CPU  string // "x64", "arm64", "arm", "ia32", "s390x", "ppc64", "riscv64"
	Libc string // "glibc" or "musl"
}

// NodeCPU is node's process.arch for an OCI architecture name (amd64 →
// x64, 386 → ia32, ppc64le → ppc64).
func NodeCPU(ociArch string) (string, error) {
	switch ociArch {
	case "amd64":
		return "x64", nil
	case "arm64":
		return "arm64", nil
	case "arm":
		return "arm", nil
	case "386":
		return "ia32", nil
	case "s390x":
		return "s390x", nil
	case "ppc64le":
		return "ppc64", nil
	case "riscv64":
		return "riscv64", nil
	case "loong64":
		return "loong64", nil
	}
	return "", fmt.Errorf("architecture %q has no node name", ociArch)
}

// checkList is npm-install-checks' test of one os, cpu or libc list:
// "any", or none of the negated entries and (when there are others) one
// of them.
func checkList(value string, list []string) bool {
	if len(list) == 1 && list[0] == "any" {
		return true
	}
	negated := 0
	match := false
	for _, e := range list {
		if t, ok := strings.CutPrefix(e, "!"); ok {
			negated++
			if value == t {
				return false
			}
		} else if value == e {
			match = true
		}
	}
	return match || negated == len(list)
}

// fits says whether a package's os, cpu and libc take the platform.
func (p Platform) fits(e *lockEntry) bool {
	if len(e.OS) > 0 && !checkList(p.OS, e.OS) {
		return false
	}
	if len(e.CPU) > 0 && !checkList(p.CPU, e.CPU) {
		return false
	}
	if len(e.Libc) > 0 && (p.Libc == "" || !checkList(p.Libc, e.Libc)) {
		return false
	}
	return true
}

func (p Platform) String() string { return p.OS + "-" + p.CPU + "-" + p.Libc }

func want(e *lockEntry) string {
	var s []string
	if len(e.OS) > 0 {
		s = append(s, "os "+strings.Join(e.OS, ","))
	}
	if len(e.CPU) > 0 {
		s = append(s, "cpu "+strings.Join(e.CPU, ","))
	}
	if len(e.Libc) > 0 {
		s = append(s, "libc "+strings.Join(e.Libc, ","))
	}
	return strings.Join(s, ", ")
}

// omitted is npm's shouldOmit for --omit=dev: dev packages go; a
// devOptional one (needed by a dev dependency and by an optional one)
// stays unless optional ones are omitted too, which npm ci
// --omit=dev does not.
func omitted(e *lockEntry) bool { return e.Dev }

// markInert is arborist's platform check of an ideal tree: an optional
// package whose os, cpu or libc does not fit is inert, with the packages
// only it needs (npm's optionalSet); a required one that does not fit is
// an error.
func (t *tree) markInert(p Platform) error {
	for _, n := range t.order {
		e := n.e
		if n.inert || e.InBundle {
			continue
		}
		optional := e.Optional || e.DevOptional
		if !optional {
			if omitted(e) || p.fits(e) {
				continue
			}
			return fmt.Errorf("%s@%s (%s) is for %s, not %s, and is not optional", n.name, e.Version, n.loc, want(e), p)
		}
		if p.fits(e) {
			continue
		}
		for _, m := range optionalSet(n) {
			m.inert = true
		}
	}
	return nil
}

// optionalSet is arborist's optional-set.js: from n up through the
// non-optional edges into it to the optional boundary, then everything
// that set depends on that nothing outside it needs.
func optionalSet(n *node) []*node {
	set := map[*node]bool{n: true}
	list := []*node{n}
	for i := 0; i < len(list); i++ {
		for _, e := range list[i].in {
			if !e.optional && e.from != nil && !set[e.from] {
				set[e.from] = true
				list = append(list, e.from)
			}
		}
	}
	filter := func(e *edge) bool { return !set[e.to] && !(e.from != nil && e.from.inert) }
	deps := map[*node]bool{}
	var order []*node
	for _, m := range list {
		deps[m] = true
		order = append(order, m)
	}
	for i := 0; i < len(order); i++ {
		for _, e := range order[i].out {
			if e.to != nil && filter(e) && !deps[e.to] {
				deps[e.to] = true
				order = append(order, e.to)
			}
		}
	}
	for changed := true; changed && len(deps) > 0; {
		changed = false
		for _, d := range order {
			if !deps[d] {
				continue
			}
			for _, e := range d.in {
				if (e.from == nil || !deps[e.from]) && filter(e) {
					changed = true
					delete(deps, d)
					break
				}
			}
		}
	}
	var out []*node
	for _, m := range order {
		if deps[m] {
			out = append(out, m)
		}
	}
	return out
}

// bins is npm-normalize-package-bin: a lockfile's (or package.json's)
// bin field as link name → target in the package, names reduced to
// their base name, targets made relative and kept inside the package.
func bins(raw json.RawMessage, pkgName string) map[string]string {
	if len(raw) == 0 {
		return nil
	}
	m := map[string]string{}
	var s string
	var a []string
	var o map[string]any
	switch {
	case json.Unmarshal(raw, &s) == nil:
		if pkgName == "" {
			return nil
		}
		m[pkgName] = s
	case json.Unmarshal(raw, &a) == nil:
		for _, k := range a {
			m[path.Base(k)] = k
		}
	case json.Unmarshal(raw, &o) == nil:
		for k, v := range o {
			if vs, ok := v.(string); ok {
				m[k] = vs
			}
		}
	default:
		return nil
	}
	clean := map[string]string{}
	for k, v := range m {
		base := path.Join("/", path.Base(strings.NewReplacer("\\", "/", ":", "/").Replace(k)))[1:]
		target := path.Join("/", strings.ReplaceAll(v, "\\", "/"))[1:]
		if base == "" || target == "" || base == "." || base == ".." {
			continue
		}
		clean[base] = target
	}
	return clean
}
