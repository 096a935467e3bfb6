package assemble

import (
	"archive/tar"
	"fmt"
	"path"
	"strings"
)

// pruner decides which paths PruneFiles leaves out.
type pruner struct {
	rules []pruneRule
}

type pruneRule struct {
	keep  bool
	comps []string
}

func newPruner(patterns []string) (*pruner, error) {
	p := &pruner{}
	for _, pat := range patterns {
		r := pruneRule{}
		s := strings.TrimSpace(pat)
		if strings.HasPrefix(s, "!") {
			r.keep, s = true, s[1:]
		}
		s = strings.Trim(s, "/")
		if s == "" {
			return nil, fmt.Errorf("prune pattern %q names the root", pat)
		}
		for _, c := range strings.Split(s, "/") {
			if c == "" || c == "." || c == ".." {
				return nil, fmt.Errorf("prune pattern %q: bad component %q", pat, c)
			}
			if _, err := path.Match(c, ""); err != nil {
				return nil, fmt.Errorf("prune pattern %q: %w", pat, err)
			}
			r.comps = append(r.comps, c)
		}
		p.rules = append(p.rules, r)
	}
	return p, nil
}

// match reports whether p (a clean path relative to the root) is pruned.
func (p *pruner) match(rel string) bool {
	if p == nil || len(p.rules) == 0 || rel == "" {
		return false
	}
	comps := strings.Split(rel, "/")
	for i := len(p.rules) - 1; i >= 0; i-- {
		if prefixMatch(p.rules[i].comps, comps) {
			return !p.rules[i].keep
		}
	}
	return false
}

// prunes reports whether a package's entry of tar type typ at rel is
// left out: match, except for the documentation links docLink keeps.
func (p *pruner) prunes(rel string, typ byte) bool {
	return p.match(rel) && !(typ == tar.TypeSymlink && p.docLink(rel))
}

// docLink reports whether rel is a package's documentation directory,
// usr/share/doc/NAME, whose copyright file pruning keeps. Such a path is
// kept when it is a symlink: Debian links a library's documentation
// directory to that of the package built from the same source (libgcc-s1
// → gcc-14-base), and the link keeps the package's copyright reachable at
// /usr/share/doc/NAME/copyright, where scanners read licenses.
func (p *pruner) docLink(rel string) bool {
	dir, name := path.Split(rel)
	return dir == "usr/share/doc/" && name != "" && !p.match(rel+"/copyright")
}

// prefixMatch reports whether pattern pat matches s or one of its
// ancestors.
func prefixMatch(pat, s []string) bool {
	if len(pat) == 0 {
		return true
	}
	if pat[0] == "**" {
		if prefixMatch(pat[1:], s) {
			return true
		}
		return len(s) > 0 && prefixMatch(pat, s[1:])
	}
	if len(s) == 0 {
		return false
	}
	if ok, _ := path.Match(pat[0], s[0]); !ok {
		return false
	}
	return prefixMatch(pat[1:], s[1:])
}
