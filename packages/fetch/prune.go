package fetch

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PruneOptions say what Prune removes.
type PruneOptions struct {
	// OlderThan removes the entries not used for longer than this
	// (0: none by age).
	OlderThan time.Duration
	// MaxSize, when not negative, then removes the least recently used
	// entries until the cache holds at most this many bytes.
	MaxSize int64
	// InUse protects the entries used more recently than this from
	// MaxSize (a build running now may be about to open them); 0 means 10
	// minutes.
	InUse time.Duration
}

// PruneResult is what Prune did.
type PruneResult struct {
	Removed      int   `json:"removed"`
	RemovedBytes int64 `json:"removed_bytes"`
	Kept         int   `json:"kept"`
	KeptBytes    int64 `json:"kept_bytes"`
	// InUse counts the entries kept over MaxSize because they were used
	// in the last InUse.
	InUse int `json:"in_use"`
}

type entry struct {
	path string
	size int64
	used time.Time
}

// Prune removes cache entries under dir: the temporary files of killed
// processes older than StaleTemp, the entries unused for longer than
// o.OlderThan, and then the least recently used ones while the cache is
// larger than o.MaxSize. An entry's last use is the later of its access
// and modification times; reading an entry through Cache sets its access
// time. It is safe while other processes use the cache: every entry is a
// file that is only ever replaced by rename, a process that has a file
// open keeps reading it, and one that finds an entry gone fetches or
// rebuilds it; temporary files younger than StaleTemp, which may be
// writes in progress, are never removed.
func Prune(dir string, o PruneOptions) (PruneResult, error) {
	var res PruneResult
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		if err == nil {
			err = fmt.Errorf("not a directory")
		}
		return res, fmt.Errorf("cache %s: %w", dir, err)
	}
	inUse := o.InUse
	if inUse <= 0 {
		inUse = 10 * time.Minute
	}
	now := time.Now()
	var keep []entry
	remove := func(e entry) {
		if err := os.Remove(e.path); err == nil {
			res.Removed++
			res.RemovedBytes += e.size
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // vanished under us
		}
		if !d.Type().IsRegular() {
			return nil
		}
		st, err := d.Info()
		if err != nil {
			return nil
		}
		e := entry{path: p, size: st.Size(), used: st.ModTime()}
		if isTemp(d.Name()) {
			if now.Sub(st.ModTime()) > StaleTemp {
				remove(e)
			}
			return nil // a write in progress: neither kept nor counted
		}
		if a := atime(st); a.After(e.used) {
			e.used = a
		}
		if o.OlderThan > 0 && now.Sub(e.used) > o.OlderThan {
			remove(e)
			return nil
		}
		keep = append(keep, e)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("cache %s: %w", dir, err)
	}
	var total int64
	for _, e := range keep {
		total += e.size
	}
	if o.MaxSize >= 0 && total > o.MaxSize {
		sort.Slice(keep, func(i, j int) bool { return keep[i].used.Before(keep[j].used) })
		n := 0
		for _, e := range keep {
			if total <= o.MaxSize || now.Sub(e.used) < inUse {
				if total > o.MaxSize {
					res.InUse++
				}
				keep[n] = e
				n++
				continue
			}
			total -= e.size
			remove(e)
		}
		keep = keep[:n]
	}
	for _, e := range keep {
		res.Kept++
		res.KeptBytes += e.size
	}
	return res, nil
}

// ParseSize reads a size: bytes, or a number with a unit k, M, G, T (×1000)
// or KiB, MiB, GiB, TiB (×1024), B optional ("500MB", "2GiB", "10G").
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("size %q: want a number of bytes, or one with a unit such as 500MB or 2GiB", s)
	}
	mult := map[string]float64{"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)", s, unit)
	}
	return int64(f * mult), nil
}

// ParseAge reads a duration as time.ParseDuration does, also accepting
// days ("30d").
func ParseAge(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(t, "d"); ok {
		if n, err := strconv.ParseFloat(d, 64); err == nil && n >= 0 {
			return time.Duration(n * float64(24*time.Hour)), nil
		}
	}
	d, err := time.ParseDuration(t)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("age %q: want a duration such as 30d, 12h or 90m", s)
	}
	return d, nil
}
