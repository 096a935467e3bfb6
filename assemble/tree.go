package assemble

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// generatedOwner marks nodes the build made rather than unpacked.
const generatedOwner = "(generated)"

// node is one path of the root filesystem.
type node struct {
	typ      byte // tar.TypeReg, TypeDir, TypeSymlink
	mode     int64
	uid, gid int
	c        content // a regular file's bytes
	link     string
	mtime    int64 // seconds since 1970
	layer    int
	owner    string // package label, or generatedOwner
	implicit bool   // a parent directory no entry named
	hl       *hlGroup
}

// hlGroup ties together the paths a package ships as hard links of one
// file.
type hlGroup struct{ _ byte } // not zero-sized: pointers must differ

// tree is the root filesystem being built, layer by layer.
type tree struct {
	view     map[string]*node   // the merged view of all layers so far
	layers   []map[string]*node // what each layer writes
	cur      int
	pr       *pruner
	errs     []string
	warnings []string
	times    mtimes
}

func newTree(pr *pruner) *tree {
	return &tree{view: map[string]*node{}, pr: pr, times: mtimes{gen: minMTime}}
}

// mtimes says which modification times the tree's entries get.
type mtimes struct {
	clamp    bool  // package mtimes later than max are lowered to it
	max, gen int64 // gen: the mtime of what the build makes
}

// minMTime is the earliest modification time an image has: 1980-01-03
// 00:00:00 UTC. ZIP (and so zipfile, zipapp, wheels, jar) cannot store a
// time before 1980-01-01 in local time; two days later is past it in
// every time zone. Generated files get it when SOURCE_DATE_EPOCH is unset.
const minMTime = 315532800 + 2*86400

// of returns the mtime an entry the package dates pm gets.
func (m mtimes) of(pm int64) int64 {
	if m.clamp && pm > m.max {
		pm = m.max
	}
	return max(pm, minMTime)
}

func (t *tree) startLayer() {
	t.layers = append(t.layers, map[string]*node{})
	t.cur = len(t.layers) - 1
}

func (t *tree) fail(format string, args ...any) {
	t.errs = append(t.errs, fmt.Sprintf(format, args...))
}

func (t *tree) add(p string, n *node) {
	n.layer = t.cur
	t.view[p] = n
	t.layers[t.cur][p] = n
}

// exists reports whether the image has path p (absolute), following
// symlinks.
func (t *tree) exists(p string) bool {
	rp, err := t.realpath(strings.TrimPrefix(p, "/"), true)
	return err == nil && (rp == "" || t.view[rp] != nil)
}

// placedUnder reports whether the current layer placed one of the paths
// watch names (absolute; one ending in "/" stands for what is under it).
func (t *tree) placedUnder(watch []string) bool {
	for p := range t.layers[t.cur] {
		for _, w := range watch {
			w = strings.TrimPrefix(w, "/")
			if p == w || strings.HasSuffix(w, "/") && strings.HasPrefix(p, w) {
				return true
			}
		}
	}
	return false
}

func splitPath(p string) []string {
	if p == "" || p == "." {
		return nil
	}
	return strings.Split(p, "/")
}

// errLoop is returned for symlink loops.
var errLoop = errors.New("too many levels of symbolic links")

// realpath resolves p (relative to the root) through the image's
// symlinks, clamping ".." at the root as the kernel does in a chroot;
// followLast says whether a symlink in the last component is followed.
// Components that do not exist are taken as they are.
func (t *tree) realpath(p string, followLast bool) (string, error) {
	comps := splitPath(p)
	var res []string
	hops := 0
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(res) > 0 {
				res = res[:len(res)-1]
			}
			continue
		}
		cand := strings.Join(append(res, c), "/")
		n := t.view[cand]
		if n != nil && n.typ == tar.TypeSymlink && (len(comps) > 0 || followLast) {
			hops++
			if hops > 40 {
				return "", errLoop
			}
			target := splitPath(strings.TrimPrefix(n.link, "/"))
			if strings.HasPrefix(n.link, "/") {
				res = res[:0]
			}
			comps = append(target, comps...)
			continue
		}
		res = append(res, c)
	}
	return strings.Join(res, "/"), nil
}

// resolveParent returns where an entry at p lands: its parent directory
// resolved through symlinks, plus its base name.
func (t *tree) resolveParent(p string) (string, error) {
	dir, base := path.Split(p)
	if dir == "" {
		return p, nil
	}
	rd, err := t.realpath(strings.TrimSuffix(dir, "/"), true)
	if err != nil {
		return "", err
	}
	if rd == "" {
		return base, nil
	}
	return rd + "/" + base, nil
}

// ensureParents creates the missing ancestors of p as directories.
func (t *tree) ensureParents(p string) error {
	comps := splitPath(p)
	for i := 1; i < len(comps); i++ {
		a := strings.Join(comps[:i], "/")
		n := t.view[a]
		if n == nil {
			t.add(a, &node{typ: tar.TypeDir, mode: 0o755, implicit: true, owner: generatedOwner, mtime: t.times.gen})
			continue
		}
		if n.typ != tar.TypeDir {
			return fmt.Errorf("/%s is not a directory (a %s from %s)", a, kindName(n.typ), n.owner)
		}
	}
	return nil
}

func kindName(t byte) string {
	switch t {
	case tar.TypeDir:
		return "directory"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeReg:
		return "regular file"
	}
	return "entry"
}

// ensureUsrLink makes the merged-/usr symlink /d -> usr/d (and the
// directory /usr/d) exist.
func (t *tree) ensureUsrLink(d string) {
	if n := t.view[d]; n == nil {
		t.add(d, &node{typ: tar.TypeSymlink, mode: 0o777, link: "usr/" + d, owner: generatedOwner, mtime: t.times.gen})
	}
	if t.view["usr"] == nil {
		t.add("usr", &node{typ: tar.TypeDir, mode: 0o755, owner: generatedOwner, mtime: t.times.gen})
	}
	if t.view["usr/"+d] == nil {
		t.add("usr/"+d, &node{typ: tar.TypeDir, mode: 0o755, owner: generatedOwner, mtime: t.times.gen})
	}
}

// placePackages places the entries of one layer's packages: symlinks
// first, then directories, then files, each kind in path order (package
// order for equal paths), so that which package comes first in the list
// does not matter and a directory symlink shipped by one package is
// followed by the files another ships below it.
func (t *tree) placePackages(pkgs []*unpacked) {
	type ref struct {
		pk *unpacked
		i  int
	}
	var refs []ref
	groups := map[ref]*hlGroup{}
	for _, pk := range pkgs {
		for i := range pk.entries {
			refs = append(refs, ref{pk, i})
			if e := &pk.entries[i]; e.typ == tar.TypeLink {
				groups[ref{pk, e.hl}] = &hlGroup{}
			}
		}
	}
	phase := func(e *entry) int {
		switch e.typ {
		case tar.TypeSymlink:
			return 0
		case tar.TypeDir:
			return 1
		}
		return 2
	}
	order := map[*unpacked]int{}
	for i, pk := range pkgs {
		order[pk] = i
	}
	sort.SliceStable(refs, func(a, b int) bool {
		ea, eb := &refs[a].pk.entries[refs[a].i], &refs[b].pk.entries[refs[b].i]
		if pa, pb := phase(ea), phase(eb); pa != pb {
			return pa < pb
		}
		if ea.path != eb.path {
			return ea.path < eb.path
		}
		return order[refs[a].pk] < order[refs[b].pk]
	})
	for _, r := range refs {
		e := &r.pk.entries[r.i]
		g := groups[r]
		if e.typ == tar.TypeLink {
			g = groups[ref{r.pk, e.hl}]
		}
		t.placeEntry(r.pk, e, g)
	}
}

func (t *tree) placeEntry(pk *unpacked, e *entry, g *hlGroup) {
	fp, err := t.resolveParent(e.path)
	if err != nil {
		t.fail("%s: /%s: %v", pk.label, e.path, err)
		return
	}
	if fp == "" || t.pr.prunes(fp, e.typ) {
		return
	}
	if err := checkPath(fp); err != nil {
		t.fail("%s: %v", pk.label, err)
		return
	}
	if e.typ == tar.TypeSymlink {
		if err := checkLink(fp, e.link); err != nil {
			t.fail("%s: %v", pk.label, err)
			return
		}
	}
	n := &node{typ: e.typ, mode: e.mode, uid: e.uid, gid: e.gid, c: e.c, link: e.link, owner: pk.label, mtime: t.times.of(e.mtime)}
	if e.typ == tar.TypeLink {
		n.typ, n.link, n.hl = tar.TypeReg, "", g
		n.c = pk.entries[e.hl].c
	} else if g != nil {
		n.hl = g
	}
	ex := t.view[fp]
	if ex == nil {
		if err := t.ensureParents(fp); err != nil {
			t.fail("%s: /%s: %v", pk.label, fp, err)
			return
		}
		t.add(fp, n)
		return
	}
	if ex.owner == n.owner && ex.layer == t.cur && ex.typ != tar.TypeDir && n.typ != tar.TypeDir {
		// A package naming a path twice: the later entry wins, as when
		// its archive is extracted.
		t.add(fp, n)
		return
	}
	if ex.owner == generatedOwner && !ex.implicit && ex.typ != tar.TypeDir {
		t.warnings = append(t.warnings, fmt.Sprintf("%s: /%s: the generated file is kept", pk.label, fp))
		return
	}
	switch {
	case n.typ == tar.TypeDir && ex.typ == tar.TypeDir:
		if ex.implicit && ex.layer == t.cur {
			ex.mode, ex.uid, ex.gid, ex.owner, ex.implicit = n.mode, n.uid, n.gid, n.owner, false
			ex.mtime = n.mtime
		}
	case n.typ == tar.TypeDir && ex.typ == tar.TypeSymlink:
		// dpkg keeps a symlink to a directory where a package has one.
		rp, err := t.realpath(fp, true)
		if err != nil {
			t.fail("%s: /%s: %v", pk.label, fp, err)
			return
		}
		if rn := t.view[rp]; rn != nil && rn.typ != tar.TypeDir {
			t.conflict(fp, ex, n)
		}
	case n.typ == tar.TypeSymlink && ex.typ == tar.TypeSymlink:
		if n.link != ex.link {
			t.conflict(fp, ex, n)
		}
	case n.typ == tar.TypeReg && ex.typ == tar.TypeReg:
		eq, err := contentEqual(n.c, ex.c)
		if err != nil {
			t.fail("%s: /%s: %v", pk.label, fp, err)
			return
		}
		if !eq {
			t.conflict(fp, ex, n)
		}
	default:
		t.conflict(fp, ex, n)
	}
}

func (t *tree) conflict(p string, a, b *node) {
	what := "with different content"
	switch {
	case a.typ != b.typ:
		what = fmt.Sprintf("as a %s and as a %s", kindName(a.typ), kindName(b.typ))
	case a.typ == tar.TypeSymlink:
		what = fmt.Sprintf("as symlinks to %q and to %q", a.link, b.link)
	}
	t.fail("conflict: /%s is shipped by both %s and %s %s", p, a.owner, b.owner, what)
}

// placeFile places a generated file; it takes precedence over what is
// there, but cannot turn a directory into something else or back.
func (t *tree) placeFile(f File) {
	p, ok := cleanName(f.Path)
	if !ok || p == "" {
		t.fail("generated file %q: not a path inside the image", f.Path)
		return
	}
	p, _, whole := mergeUsr(p)
	if whole {
		t.fail("generated file %q: /%s is a merged-/usr symlink", f.Path, strings.TrimPrefix(p, "usr/"))
		return
	}
	fp, err := t.resolveParent(p)
	if err != nil || fp == "" {
		t.fail("generated file %q: %v", f.Path, err)
		return
	}
	if err := checkPath(fp); err != nil {
		t.fail("generated file %q: %v", shortPath(f.Path), err)
		return
	}
	n := &node{uid: max(f.UID, 0), gid: max(f.GID, 0), owner: generatedOwner, mode: int64(f.Mode.Perm()), mtime: t.times.gen}
	if f.MTime != 0 {
		n.mtime = t.times.of(f.MTime)
	}
	switch {
	case f.Mode.IsDir():
		n.typ = tar.TypeDir
		if f.Mode&fs.ModeSticky != 0 {
			n.mode |= 0o1000
		}
	case f.Mode&fs.ModeSymlink != 0:
		if f.Link == "" {
			t.fail("generated symlink %q has no target", f.Path)
			return
		}
		n.typ, n.mode = tar.TypeSymlink, 0o777
		n.link, _ = cleanLink(fp, f.Link)
		if err := checkLink(fp, n.link); err != nil {
			t.fail("generated file %q: %v", shortPath(f.Path), err)
			return
		}
	case f.Mode.IsRegular():
		n.typ, n.c = tar.TypeReg, memContent(f.Data)
		if f.src != nil {
			n.c = *f.src
		}
	default:
		t.fail("generated file %q: unsupported mode %v", f.Path, f.Mode)
		return
	}
	if ex := t.view[fp]; ex != nil {
		if (ex.typ == tar.TypeDir) != (n.typ == tar.TypeDir) {
			t.fail("generated file %q: would replace a %s from %s with a %s", f.Path, kindName(ex.typ), ex.owner, kindName(n.typ))
			return
		}
	}
	if err := t.ensureParents(fp); err != nil {
		t.fail("generated file %q: %v", f.Path, err)
		return
	}
	t.add(fp, n)
}

// dropPrunedLinks removes the current layer's symlinks that pruning left
// dangling.
func (t *tree) dropPrunedLinks() {
	if t.pr == nil || len(t.pr.rules) == 0 {
		return
	}
	for pass := 0; pass < 8; pass++ {
		changed := false
		for p, n := range t.layers[t.cur] {
			if n.typ != tar.TypeSymlink || n.owner == generatedOwner {
				continue
			}
			rp, err := t.realpath(p, true)
			if err != nil || t.view[rp] != nil || !t.pr.match(rp) {
				continue
			}
			delete(t.layers[t.cur], p)
			if t.view[p] == n {
				delete(t.view, p)
			}
			changed = true
		}
		if !changed {
			return
		}
	}
}

// tarEntry is one entry of a layer's tar stream.
type tarEntry struct {
	path   string
	n      node
	linkTo string // set for the second and later paths of a hard-link group
}

// snapshot lists what the current layer writes: its own nodes plus the
// directories above them, sorted parents first, with hard-link groups
// written as one file and links to it.
func (t *tree) snapshot() []tarEntry {
	own := t.layers[t.cur]
	set := make(map[string]*node, len(own))
	for p, n := range own {
		set[p] = n
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := set[d]; ok {
				break
			}
			if vn := t.view[d]; vn != nil {
				set[d] = vn
			}
		}
	}
	out := make([]tarEntry, 0, len(set))
	for p, n := range set {
		out = append(out, tarEntry{path: p, n: *n})
	}
	sort.Slice(out, func(i, j int) bool { return pathLess(out[i].path, out[j].path) })
	first := map[*hlGroup]*tarEntry{}
	for i := range out {
		e := &out[i]
		if e.n.hl == nil || e.n.typ != tar.TypeReg {
			continue
		}
		f := first[e.n.hl]
		if f == nil {
			first[e.n.hl] = e
			continue
		}
		if f.n.mode == e.n.mode && f.n.uid == e.n.uid && f.n.gid == e.n.gid && f.n.mtime == e.n.mtime && f.n.c.same(e.n.c) {
			e.linkTo = f.path
		}
	}
	return out
}

// pathLess orders paths component by component, so a directory's subtree
// is contiguous and follows it.
func pathLess(a, b string) bool {
	for {
		ca, ra, _ := strings.Cut(a, "/")
		cb, rb, _ := strings.Cut(b, "/")
		if ca != cb {
			return ca < cb
		}
		if ra == "" || rb == "" {
			return ra == "" && rb != ""
		}
		a, b = ra, rb
	}
}
