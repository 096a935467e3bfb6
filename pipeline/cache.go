package pipeline

import "github.com/distroless-dev/distroless/packages/fetch"

// CacheDir is the download cache directory the options name.
func CacheDir(o Options) (string, error) {
	c, err := o.Cache()
	if err != nil {
		return "", err
	}
	return c.Dir, nil
}

// PruneCache removes from the options' cache what po says (see
// fetch.Prune): the entries unused for longer than po.OlderThan, then the
// least recently used while it holds more than po.MaxSize, and the
// leftovers of killed processes.
func PruneCache(o Options, po fetch.PruneOptions) (fetch.PruneResult, error) {
	dir, err := CacheDir(o)
	if err != nil {
		return fetch.PruneResult{}, err
	}
	return fetch.Prune(dir, po)
}
