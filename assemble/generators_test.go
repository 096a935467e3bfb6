package assemble

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

func TestGenerators(t *testing.T) {
	registerGenerator("test-count", func(f imageFS) ([]File, error) {
		var libs []string
		err := f.Walk(func(p string, mode fs.FileMode, link string) error {
			if strings.HasPrefix(p, "/usr/lib/") && mode.IsRegular() {
				libs = append(libs, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		passwd, err := f.ReadFile("/etc/passwd")
		if err != nil {
			return nil, err
		}
		// Through the merged-/usr link /lib → usr/lib.
		rp, err := f.Realpath("/lib/liba.so.1")
		if err != nil {
			return nil, err
		}
		data := fmt.Sprintf("%s\n%d passwd lines\n%s\n", strings.Join(libs, ","), strings.Count(string(passwd), "\n"), rp)
		return []File{{Path: "/etc/generated", Mode: 0o644, Data: []byte(data)}}, nil
	})
	fx := newFixture()
	lower := layer("lower", fx.pkg("a", reg("./usr/lib/liba.so.1", 0o644, "a")))
	upper := layer("upper", fx.pkg("b", reg("./usr/lib/libb.so.1", 0o644, "b")))
	upper.Generate = []string{"test-count"}
	img, _ := mustBuild(t, fx.spec(lower, upper))
	got := string(rootfs(t, img)["etc/generated"].data)
	want := "/usr/lib/liba.so.1,/usr/lib/libb.so.1\n3 passwd lines\n/usr/lib/liba.so.1\n"
	if got != want {
		t.Fatalf("generated file = %q, want %q", got, want)
	}

	bad := layer("upper", fx.pkg("b", reg("./usr/lib/libb.so.1", 0o644, "b")))
	bad.Generate = []string{"no-such-generator"}
	_, _, err := Build(context.Background(), fx.spec(bad))
	if err == nil || !strings.Contains(err.Error(), `unknown generator "no-such-generator"`) || !strings.Contains(err.Error(), "test-count") {
		t.Fatalf("unknown generator: %v", err)
	}
}
