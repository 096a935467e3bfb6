package distroless

import (
	"fmt"

	"github.com/distroless-dev/distroless/packages/fetch"
)

// CacheDir is the download cache directory the options name.
func CacheDir(o Options) (string, error) {
	c, err := o.cache()
	if err != nil {
		return "", err
	}
	return c.Dir, nil
}

// PruneCache removes from the options' cache the entries unused for
// longer than olderThan ("30d", "12h"; "" = not by age), then the least
// recently used while it holds more than maxSize ("10GB", "500MiB"; "" =
// no limit), and the leftovers of killed processes (see fetch.Prune).
// With neither given, olderThan is 30 days.
func PruneCache(o Options, olderThan, maxSize string) (fetch.PruneResult, error) {
	po := fetch.PruneOptions{MaxSize: -1}
	if olderThan == "" && maxSize == "" {
		olderThan = "30d"
	}
	var err error
	if olderThan != "" {
		if po.OlderThan, err = fetch.ParseAge(olderThan); err != nil {
			return fetch.PruneResult{}, &UsageError{fmt.Errorf("--older-than: %w", err)}
		}
	}
	if maxSize != "" {
		if po.MaxSize, err = fetch.ParseSize(maxSize); err != nil {
			return fetch.PruneResult{}, &UsageError{fmt.Errorf("--max-size: %w", err)}
		}
	}
	dir, err := CacheDir(o)
	if err != nil {
		return fetch.PruneResult{}, err
	}
	return fetch.Prune(dir, po)
}
