package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/distroless-dev/distroless/distro"
	"github.com/distroless-dev/distroless/packages"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/profiles"
	"github.com/distroless-dev/distroless/resolver"
)

// The resolution memo: gen keeps each profile's resolution (the expanded
// plan and the resolver's result) in the cache under a key that is a
// digest of everything the resolution depends on:
//
//   - the distroless binary (its Go build ID: the resolver, the built-in
//     profiles and the index reader are in it);
//   - the distro's index as its signed root names it: every InRelease
//     file's URL and SHA-256, and the URL and SHA-256 of every Packages
//     file it lists (which the signature covers); a new InRelease, even
//     one listing the same Packages files, gives another key;
//   - the keys the InRelease files were verified with, and the distro's
//     whole definition;
//   - the profile asked for (and a profile file's whole content), the
//     platform, --add, --exclude and --no-prune.
//
// The InRelease files are fetched and verified as always (the refresh
// rule is the same): only the Packages files, which the InRelease names
// by digest, are not opened, checked or read when the memo answers. A
// no-change gen of python3 on trixie thus skips hashing and reading its
// 57 MB index. Only Debian indexes are opened deferred (distro.Loader);
// for others the memo is not used.
//
// An entry is a named cache entry (its digest checked when read) naming
// its own key; one that fails, or whose content is not a sound
// resolution, is not used: the index is loaded and the profile resolved
// again. Only gen uses the memo; resolve and why read the index, so
// that what they print comes from it.

// resolutionEntry is the stored form of a resolution.
type resolutionEntry struct {
	Key    string
	Plan   *profiles.Plan
	Result *resolver.Result
}

// resolutionKey is the memo key of the resolution of profile on d with
// these options, whose index has these sources (InRelease and Packages
// files with their digests), or "" when there can be none.
func (o *Options) resolutionKey(profile string, d *distro.Distro, keys distro.Keys, sources []packages.IndexFile) string {
	id := toolID()
	if id == "" || len(sources) == 0 {
		return ""
	}
	k := struct {
		Tool, Profile, Arch string
		File                *profiles.Profile
		Add, Exclude        []string
		AppLibs             []string `json:",omitempty"`
		NoPrune             bool
		Distro              *distro.Distro
		Keys                []string
		Sources             []packages.IndexFile
	}{Tool: id, Profile: profile, Arch: o.arch(), File: o.Profile, Add: o.Add, Exclude: o.Exclude, AppLibs: o.appLibs, NoPrune: o.NoPrune,
		Distro: d, Sources: sources}
	for _, e := range keys {
		k.Keys = append(k.Keys, hex.EncodeToString(e.PrimaryKey.Fingerprint))
	}
	b, err := json.Marshal(k)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return "resolution/v1/" + hex.EncodeToString(sum[:])
}

// loadResolution is the resolution kept under key, or nil.
func loadResolution(c *fetch.Cache, key string, g packages.Grammar) (*profiles.Plan, *resolver.Result) {
	raw, err := c.Get(key)
	if err != nil {
		return nil, nil
	}
	var e resolutionEntry
	if err := json.Unmarshal(raw, &e); err != nil || e.Key != key {
		c.Warn(fmt.Sprintf("cache entry %s (%s) does not hold its resolution: not used, resolving again", c.NamedPath(key), key))
		return nil, nil
	}
	if err := checkResolution(e.Plan, e.Result, g); err != nil {
		c.Warn(fmt.Sprintf("cache entry %s (%s): %v: not used, resolving again", c.NamedPath(key), key, err))
		return nil, nil
	}
	return e.Plan, e.Result
}

// checkResolution checks that a decoded resolution is one gen can use:
// a plan of levels, each with its profile, and packages in those levels
// whose names and versions fit the format's grammar.
func checkResolution(plan *profiles.Plan, res *resolver.Result, g packages.Grammar) error {
	switch {
	case plan == nil || res == nil:
		return fmt.Errorf("no plan or result")
	case len(plan.Levels) == 0 || len(plan.Chain) != len(plan.Levels) || len(res.Levels) != len(plan.Levels):
		return fmt.Errorf("%d levels, %d profiles, %d resolved levels", len(plan.Levels), len(plan.Chain), len(res.Levels))
	}
	for _, p := range plan.Chain {
		if p == nil {
			return fmt.Errorf("a level without its profile")
		}
	}
	for _, s := range res.Packages {
		if s == nil || s.Pkg == nil || s.Level < 0 || s.Level >= len(plan.Levels) {
			return fmt.Errorf("a package without its level")
		}
		if err := packages.CheckIdentity(g, s.Pkg.Name, s.Pkg.Version, s.Pkg.Arch); err != nil {
			return err
		}
	}
	return nil
}

// storeResolution keeps a resolution under key, when it reads back as
// it is (a resolution JSON cannot carry whole is not kept).
func storeResolution(c *fetch.Cache, key string, plan *profiles.Plan, res *resolver.Result) {
	raw, err := json.Marshal(resolutionEntry{Key: key, Plan: plan, Result: res})
	if err != nil {
		return
	}
	var back resolutionEntry
	if json.Unmarshal(raw, &back) != nil {
		return
	}
	if again, err := json.Marshal(back); err != nil || !bytes.Equal(again, raw) {
		return
	}
	_ = c.Put(key, raw) // a cache that cannot be written still works
}
