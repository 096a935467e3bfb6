package publish

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// staleTemp is the age after which a temporary file or directory next to
// an output is taken for the leftover of a killed gen: no write takes
// that long.
const staleTemp = time.Hour

// CleanStale removes what killed writes of output left next to it (the
// ".NAME.tmp-*" files and directories Write renames into place, and the
// ".NAME.old-*" directories of a swap) once older than staleTemp, and
// returns their paths. Younger ones may be a concurrent gen's write in
// progress and are kept. A registry output has nothing next to it.
func CleanStale(output string, opts WriteOptions) []string {
	t, err := parseOutput(output, opts)
	if err != nil {
		return nil
	}
	p := t.dir
	if p == "" {
		p = t.file
	}
	if p == "" {
		p = t.ociArchive
	}
	if p == "" {
		return nil
	}
	p = filepath.Clean(p)
	dir, base := filepath.Dir(p), filepath.Base(p)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	now := time.Now()
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, "."+base+".tmp-") && !strings.HasPrefix(n, "."+base+".old-") {
			continue
		}
		st, err := e.Info()
		if err != nil || now.Sub(st.ModTime()) <= staleTemp {
			continue
		}
		if os.RemoveAll(filepath.Join(dir, n)) == nil {
			removed = append(removed, filepath.Join(dir, n))
		}
	}
	return removed
}
