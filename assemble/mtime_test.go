package assemble

import (
	"testing"
	"time"
)

func dated(e fakeEntry, unix int64) fakeEntry {
	e.h.ModTime = time.Unix(unix, 0)
	return e
}

// TestMTimes: packaged entries keep their package's mtime, clamped to
// Created with ClampMTimes; generated ones get minMTime (or Created when
// clamping); nothing is dated before minMTime.
func TestMTimes(t *testing.T) {
	const (
		pkgTime = 1700000000 // 2023-11-14
		future  = 4102444800 // 2100-01-01
	)
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		clamp   bool
		created time.Time
		want    map[string]int64
	}{
		{"no clamp", false, created, map[string]int64{
			"usr/share/p/old": pkgTime, "usr/share/p/epoch": minMTime, "usr/share/p/future": future,
			"usr/share/p/link": pkgTime, "usr/share/p/hard": pkgTime, "usr/share/p": pkgTime + 1,
			"usr/share/q/implicit": pkgTime, "usr/share/q": minMTime, "etc/passwd": minMTime, "usr/bin": minMTime,
			"etc/generated": minMTime,
		}},
		{"clamp", true, created, map[string]int64{
			"usr/share/p/old": pkgTime, "usr/share/p/epoch": minMTime, "usr/share/p/future": created.Unix(),
			"usr/share/p/link": pkgTime, "usr/share/p/hard": pkgTime, "usr/share/p": pkgTime + 1,
			"etc/passwd": created.Unix(), "usr/share/q": created.Unix(), "etc/generated": created.Unix(),
		}},
		{"clamp before 1980", true, time.Unix(0, 0), map[string]int64{
			"usr/share/p/old": minMTime, "usr/share/p/future": minMTime, "etc/passwd": minMTime, "usr/share/q": minMTime,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			p := f.pkg("p",
				dated(dir("./usr/share/p/", 0o755), pkgTime+1),
				dated(reg("./usr/share/p/old", 0o644, "old"), pkgTime),
				dated(reg("./usr/share/p/epoch", 0o644, "epoch"), 0),
				dated(reg("./usr/share/p/future", 0o644, "future"), future),
				dated(sym("./usr/share/p/link", "old"), pkgTime),
				dated(hard("./usr/share/p/hard", "./usr/share/p/old"), 5), // a link has its file's time
			)
			q := f.pkg("q", dated(reg("./usr/share/q/implicit", 0o644, "q"), pkgTime))
			l := layer("only", p, q)
			l.Files = []File{{Path: "/etc/generated", Mode: 0o644, Data: []byte("g")}}
			s := f.spec(l)
			s.Created, s.ClampMTimes = tc.created, tc.clamp
			img, _ := mustBuild(t, s)
			fsys := rootfs(t, img)
			for p, want := range tc.want {
				tf, ok := fsys[p]
				if !ok {
					t.Errorf("/%s: missing", p)
					continue
				}
				if got := tf.h.ModTime.Unix(); got != want {
					t.Errorf("/%s: mtime %d (%v), want %d (%v)", p, got, tf.h.ModTime.UTC(), want, time.Unix(want, 0).UTC())
				}
			}
			for p, tf := range fsys {
				if tf.h.ModTime.Unix() < minMTime {
					t.Errorf("/%s: mtime %v is before the floor", p, tf.h.ModTime.UTC())
				}
			}
		})
	}
}
