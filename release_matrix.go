// The matrix of a sharded release: its platform images as units weighed
// by their packages, and their split into N balanced shards.

package distroless

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/distroless-dev/distroless/lockfile"
	"github.com/distroless-dev/distroless/pipeline"
	"github.com/distroless-dev/distroless/releasefile"
)

// Shard is one shard of a release matrix: K/N, its platform images
// (IMAGE (DISTRO, VARIANT) PLATFORM) and their weight, the bytes of
// packages they are built from.
type Shard struct {
	Shard  string   `json:"shard"`
	Images []string `json:"images"`
	Weight int64    `json:"weight"`
}

// ReleaseMatrix is the shard list of a release file, as a CI engine's
// matrix takes it (GitHub Actions: fromJSON(...) gives one job per entry
// of include).
type ReleaseMatrix struct {
	Include []Shard `json:"include"`
}

// shardUnit is the platform images of one build on one platform: the
// user variants of a build share it, so they go to one shard.
type shardUnit struct {
	key    string
	arch   string
	images []int // indexes in the matrix
	weight int64
}

// shardUnits groups the matrix's platform images into units, in matrix
// order, each weighed by its lock's package sizes (and 1 MiB, so that a
// tiny image counts).
func shardUnits(ims []releasefile.Image, set *lockfile.Set) ([]*shardUnit, error) {
	var units []*shardUnit
	byKey := map[string]*shardUnit{}
	for i, im := range ims {
		profile, _, err := profileOf(im)
		if err != nil {
			return nil, err
		}
		settings, err := json.Marshal(im.Settings)
		if err != nil {
			return nil, err
		}
		group := strings.Join([]string{profile, im.Distro, strings.Join(im.Platforms, ","), fmt.Sprint(im.Debug), string(settings)}, "\x00")
		if u, err := pipeline.ParseUser(im.User); err != nil {
			return nil, err
		} else if u.Account != nil {
			group += "\x00" + im.User // built on its own
		}
		for _, arch := range im.Platforms {
			l := set.Find(lockfile.SetKey(profile, im.Distro, arch))
			if l == nil {
				return nil, fmt.Errorf("%s: lockfile has no entry for %s on %s (%s); a sharded release builds what the lockfile pins: update the release's lockfile (lock update of the release file) and commit it", im.Key(), profile, im.Distro, arch)
			}
			k := group + "\x00" + arch
			u := byKey[k]
			if u == nil {
				u = &shardUnit{key: k, arch: arch, weight: 1 << 20}
				for _, p := range l.Packages {
					u.weight += p.Size
				}
				byKey[k] = u
				units = append(units, u)
			}
			u.images = append(u.images, i)
		}
	}
	return units, nil
}

// assignShards puts each unit in one of n shards: the heaviest first,
// each into the lightest shard so far (the lowest numbered of equals).
// The same matrix and lockfile give the same shards.
func assignShards(units []*shardUnit, n int) [][]*shardUnit {
	order := append([]*shardUnit(nil), units...)
	sort.SliceStable(order, func(a, b int) bool {
		if order[a].weight != order[b].weight {
			return order[a].weight > order[b].weight
		}
		return order[a].key < order[b].key
	})
	shards := make([][]*shardUnit, n)
	load := make([]int64, n)
	for _, u := range order {
		k := 0
		for i := 1; i < n; i++ {
			if load[i] < load[k] {
				k = i
			}
		}
		shards[k] = append(shards[k], u)
		load[k] += u.weight
	}
	// Each shard's units in matrix order (the variants of a build one
	// after the other).
	pos := map[*shardUnit]int{}
	for i, u := range units {
		pos[u] = i
	}
	for _, s := range shards {
		sort.Slice(s, func(a, b int) bool { return pos[s[a]] < pos[s[b]] })
	}
	return shards
}

// ParseShard reads K/N (1 ≤ K ≤ N).
func ParseShard(s string) (k, n int, err error) {
	ks, ns, ok := strings.Cut(s, "/")
	if ok {
		_, err = fmt.Sscanf(ks+" "+ns, "%d %d", &k, &n)
	}
	if !ok || err != nil || fmt.Sprintf("%d/%d", k, n) != s || n < 1 || k < 1 || k > n {
		return 0, 0, fmt.Errorf("shard %q: want K/N with 1 ≤ K ≤ N (e.g. 2/4)", s)
	}
	return k, n, nil
}

// Matrix lists the n shards of a release file's matrix (its lockfile must
// pin every image), reading nothing from the network.
func Matrix(path, date string, n int) (*ReleaseMatrix, error) {
	if n < 1 {
		return nil, &pipeline.UsageError{Err: fmt.Errorf("shards: %d; want at least 1", n)}
	}
	f, ims, err := releaseUsage(path, date)
	if err != nil {
		return nil, err
	}
	set, err := lockfile.ReadSet(f.LockPath())
	if err != nil {
		return nil, fmt.Errorf("a sharded release builds what the lockfile pins: %w", err)
	}
	units, err := shardUnits(ims, set)
	if err != nil {
		return nil, err
	}
	m := &ReleaseMatrix{}
	for i, s := range assignShards(units, n) {
		sh := Shard{Shard: fmt.Sprintf("%d/%d", i+1, n), Images: []string{}}
		for _, u := range s {
			sh.Weight += u.weight
			for _, im := range u.images {
				sh.Images = append(sh.Images, ims[im].Key()+" "+pipeline.PlatformName(u.arch))
			}
		}
		m.Include = append(m.Include, sh)
	}
	return m, nil
}
