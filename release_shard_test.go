package distroless

import (
	"fmt"
	"strings"
	"testing"
)

// TestAssignShards: every unit in exactly one shard, the heaviest units
// spread first, each shard's units in matrix order, the same input the
// same shards; more shards than units leave some empty.
func TestAssignShards(t *testing.T) {
	var units []*shardUnit
	for i, w := range []int64{5, 100, 7, 60, 40, 1, 50} {
		units = append(units, &shardUnit{key: fmt.Sprint("u", i), weight: w, images: []int{i}})
	}
	shards := assignShards(units, 3)
	seen := map[string]int{}
	var loads []int64
	for _, s := range shards {
		var load int64
		last := -1
		for _, u := range s {
			seen[u.key]++
			load += u.weight
			if u.images[0] < last {
				t.Errorf("shard not in matrix order: %v", s)
			}
			last = u.images[0]
		}
		loads = append(loads, load)
	}
	if len(seen) != len(units) {
		t.Fatalf("units placed: %v", seen)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("unit %s in %d shards", k, n)
		}
	}
	// LPT: 100 | 60 7 5 1 | 50 40 → 100, 73, 90.
	if fmt.Sprint(loads) != "[100 73 90]" {
		t.Errorf("loads %v, want [100 73 90]", loads)
	}
	again := assignShards(units, 3)
	if fmt.Sprint(keys(again)) != fmt.Sprint(keys(shards)) {
		t.Errorf("not deterministic: %v, then %v", keys(shards), keys(again))
	}
	if s := assignShards(units[:2], 4); len(s) != 4 || len(s[2])+len(s[3]) != 0 {
		t.Errorf("2 units in 4 shards: %v", keys(s))
	}
}

func keys(shards [][]*shardUnit) [][]string {
	var out [][]string
	for _, s := range shards {
		var ks []string
		for _, u := range s {
			ks = append(ks, u.key)
		}
		out = append(out, ks)
	}
	return out
}

func TestParseShard(t *testing.T) {
	for s, want := range map[string][2]int{"1/1": {1, 1}, "2/4": {2, 4}, "10/12": {10, 12}} {
		k, n, err := ParseShard(s)
		if err != nil || k != want[0] || n != want[1] {
			t.Errorf("%s: %d/%d, %v", s, k, n, err)
		}
	}
	for _, s := range []string{"", "1", "0/4", "5/4", "1/0", "-1/4", "a/b", "1/4/5", " 1/4", "01/4", "1/4x"} {
		if _, _, err := ParseShard(s); err == nil || !strings.Contains(err.Error(), "K/N") {
			t.Errorf("%q: %v", s, err)
		}
	}
}
