package parallel

import (
	"sync/atomic"
	"testing"
)

func TestAll(t *testing.T) {
	items := make([]int, 1000)
	for i := range items {
		items[i] = i
	}
	var seen atomic.Int64
	if !All(items, func(i int) bool { seen.Add(1); return true }) || seen.Load() != 1000 {
		t.Fatalf("all hold: got false or %d checks, want true and 1000", seen.Load())
	}
	seen.Store(0)
	if All(items, func(i int) bool { seen.Add(1); return i != 10 }) {
		t.Fatal("item 10 fails: got true")
	}
	// Workers stop taking items soon after the failure: far fewer than
	// all are checked.
	if n := seen.Load(); n < 11 || n > 100 {
		t.Errorf("checked %d items after a failure at the 11th, want 11 to 100", n)
	}
	if !All([]int(nil), func(int) bool { return false }) {
		t.Error("no items: got false, want true")
	}
}
