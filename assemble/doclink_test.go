package assemble

import (
	"testing"
)

// A package whose doc directory is a link to another package's keeps the
// link (its copyright stays reachable); the target keeps only its
// copyright; a link whose target is not in the image goes; with
// documentation kept (no pruning) everything stays.
func TestDocLinksKept(t *testing.T) {
	fx := newFixture()
	base := fx.pkg("foo-base",
		reg("./usr/share/doc/foo-base/copyright", 0o644, "License: MIT\n"),
		reg("./usr/share/doc/foo-base/changelog.gz", 0o644, "x"))
	lib := fx.pkg("libfoo1",
		reg("./usr/lib/libfoo.so.1", 0o644, "lib"),
		sym("./usr/share/doc/libfoo1", "foo-base"))
	orphan := fx.pkg("libbar1",
		reg("./usr/lib/libbar.so.1", 0o644, "lib"),
		sym("./usr/share/doc/libbar1", "bar-base"),
		sym("./usr/share/doc/libbar1-extra/README", "../x"))
	img, _ := mustBuild(t, fx.spec(layer("low", base), layer("high", lib, orphan)))
	fs := rootfs(t, img)
	if f := fs["usr/share/doc/libfoo1"]; f.h == nil || f.h.Linkname != "foo-base" {
		t.Errorf("/usr/share/doc/libfoo1: want a link to foo-base, have %+v", f.h)
	}
	if f := fs["usr/share/doc/foo-base/copyright"]; string(f.data) != "License: MIT\n" {
		t.Errorf("foo-base's copyright: %q", f.data)
	}
	for _, p := range []string{"usr/share/doc/foo-base/changelog.gz", "usr/share/doc/libbar1", "usr/share/doc/libbar1-extra/README"} {
		if f, ok := fs[p]; ok {
			t.Errorf("/%s kept: %+v", p, f.h)
		}
	}

	spec := fx.spec(layer("low", base), layer("high", lib))
	spec.PruneFiles = nil
	img, _ = mustBuild(t, spec)
	fs = rootfs(t, img)
	if _, ok := fs["usr/share/doc/foo-base/changelog.gz"]; !ok {
		t.Error("without pruning, the changelog went")
	}
}

// Release files are written in the os-release layer.
func TestReleaseFiles(t *testing.T) {
	fx := newFixture()
	spec := fx.spec(layer("base", fx.pkg("a", reg("./usr/lib/a", 0o644, "a"))))
	spec.ReleaseFiles = map[string]string{"/etc/redhat-release": "Rocky Linux release 9\n", "/etc/system-release": "Rocky Linux release 9\n"}
	img, rep := mustBuild(t, spec)
	fs := rootfs(t, img)
	for _, p := range []string{"etc/redhat-release", "etc/system-release"} {
		if string(fs[p].data) != "Rocky Linux release 9\n" {
			t.Errorf("/%s = %q", p, fs[p].data)
		}
	}
	if last := rep.Layers[len(rep.Layers)-1]; last.Name != "os-release" {
		t.Errorf("top layer %s, want os-release", last.Name)
	}
}
