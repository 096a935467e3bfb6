// Package parallel runs a check over many items on every core at once.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// All reports whether ok holds for every item, checking them in order on
// every core at once; after the first failure no further item is begun.
func All[T any](items []T, ok func(T) bool) bool {
	next := make(chan T)
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range next {
				if !failed.Load() && !ok(it) {
					failed.Store(true)
				}
			}
		}()
	}
	for _, it := range items {
		if failed.Load() {
			break
		}
		next <- it
	}
	close(next)
	wg.Wait()
	return !failed.Load()
}
