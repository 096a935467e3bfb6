package npm

import (
	"archive/tar"
	"path"
	"strings"
	"testing"
)

// Bad input must produce errors, never panics; what is accepted stays
// inside its package.

func FuzzReadTarball(f *testing.F) {
	f.Add(tgz(f, pkgJSON("a", "1.0.0", `,"license":"MIT"`), tent{name: "package/lib/a.js", body: "x"}))
	f.Add(tgz(f, pkgJSON("a", "1.0.0", ""), tent{name: "package/../x", body: "x"}))
	f.Add(tgz(f, pkgJSON("a", "1.0.0", ""), tent{name: "package/l", typ: tar.TypeSymlink, link: "../../x"}))
	f.Add(tgz(f, pkgJSON("a", "1.0.0", ""), tent{name: "package/big", body: "x", size: 3 << 30}))
	f.Add([]byte("\x1f\x8b\x08\x00garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := readTarball(data, "fuzz", 1<<20, newBudget(4<<20))
		if err != nil {
			return
		}
		for _, m := range u.files {
			if m.rel == "" || path.IsAbs(m.rel) || m.rel != path.Clean(m.rel) || m.rel == ".." || strings.HasPrefix(m.rel, "../") {
				t.Fatalf("accepted member %q", m.rel)
			}
			if int64(len(m.data)) > 1<<20 || m.mode&^0o755 != 0 {
				t.Fatalf("member %q: %d bytes, mode %v", m.rel, len(m.data), m.mode)
			}
		}
	})
}

func FuzzLock(f *testing.F) {
	f.Add([]byte(`{"lockfileVersion":3,"packages":{"":{"dependencies":{"a":"1"}},"node_modules/a":{"version":"1.0.0","optional":true,"cpu":["arm64"],"dependencies":{"b":"1"}},"node_modules/b":{"version":"1.0.0","optional":true}}}`))
	f.Add([]byte(`{"lockfileVersion":2,"packages":{"node_modules/@s/a/node_modules/b":{"bin":{"../x":"../../y"}}}}`))
	f.Add([]byte(`{"lockfileVersion":3,"packages":{"node_modules/../../x":{}}}`))
	f.Add([]byte(`{"lockfileVersion":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, err := parseLock(data)
		if err != nil {
			return
		}
		tr, err := buildTree(lf)
		if err != nil {
			return
		}
		_ = tr.markInert(Platform{OS: "linux", CPU: "x64", Libc: "glibc"})
		for _, n := range tr.order {
			if strings.Contains(n.loc, "..") && strings.Contains("/"+n.loc+"/", "/../") {
				t.Fatalf("accepted package path %q", n.loc)
			}
			for name, target := range bins(n.e.Bin, n.name) {
				if strings.Contains(name, "/") || name == ".." || strings.HasPrefix(target, "../") || target == ".." || path.IsAbs(target) {
					t.Fatalf("bin %q -> %q", name, target)
				}
			}
		}
	})
}
