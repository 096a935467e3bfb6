package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/lockfile"
)

// TestShardFlags: --shard, --finish and --matrix exclude each other,
// --shards goes with --matrix, K/N is checked, all as usage errors before
// anything is read; --matrix prints one line of JSON from the release
// file and its lockfile, and refuses an image the lockfile lacks, naming
// it.
func TestShardFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "release.yaml")
	if err := os.WriteFile(file, []byte("registry: registry.example/x\ndistros: [debian:trixie]\nplatforms: [linux/amd64, linux/arm64]\nusers: [root, nonroot]\nimages: [static, base]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--shard", "1/2", "--finish"}, "one of --shard, --finish and --matrix"},
		{[]string{"--matrix", "--finish"}, "one of --shard, --finish and --matrix"},
		{[]string{"--shards", "3"}, "--shards goes with --matrix"},
		{[]string{"--shard", "3/2"}, "K/N"},
		{[]string{"--shard", "0/2"}, "K/N"},
		{[]string{"--matrix", "--dry-run"}, "--matrix pushes nothing"},
	} {
		_, err := run(t, append([]string{"release", file}, c.args...)...)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want a usage error saying %q", c.args, err, c.want)
		}
	}

	// No lockfile yet.
	if _, err := run(t, "release", file, "--matrix"); err == nil || !strings.Contains(err.Error(), "lockfile") {
		t.Errorf("--matrix without a lockfile: %v", err)
	}
	set := &lockfile.Set{}
	for _, p := range []string{"static", "base"} {
		for _, a := range []string{"amd64", "arm64"} {
			l := &lockfile.Lock{Version: lockfile.Version, Profile: p, Distro: "debian:trixie", Arch: a,
				Packages: []lockfile.Package{{Name: "base-files", Version: "13.8", Arch: a, Layer: p, SHA256: strings.Repeat("a", 64), Size: map[string]int64{"static": 1 << 20, "base": 8 << 20}[p], URL: "http://m.example/x.deb"}}}
			if !(p == "base" && a == "arm64") {
				set.Put(l)
			}
		}
	}
	lock := filepath.Join(dir, "release.lock.json")
	if err := lockfile.WriteSet(lock, set); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "release", file, "--matrix"); err == nil || !strings.Contains(err.Error(), "base on debian:trixie (arm64)") {
		t.Errorf("--matrix with base arm64 not locked: %v", err)
	}
	set.Put(&lockfile.Lock{Version: lockfile.Version, Profile: "base", Distro: "debian:trixie", Arch: "arm64",
		Packages: []lockfile.Package{{Name: "base-files", Version: "13.8", Arch: "arm64", Layer: "base", SHA256: strings.Repeat("b", 64), Size: 8 << 20, URL: "http://m.example/y.deb"}}})
	if err := lockfile.WriteSet(lock, set); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "release", file, "--matrix", "--shards", "3")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Include []struct {
			Shard  string   `json:"shard"`
			Images []string `json:"images"`
			Weight int64    `json:"weight"`
		} `json:"include"`
	}
	if strings.Count(strings.TrimSpace(out), "\n") != 0 || json.Unmarshal([]byte(out), &m) != nil || len(m.Include) != 3 {
		t.Fatalf("--matrix --shards 3: %q", out)
	}
	// Four units (static and base × amd64 and arm64, root and nonroot
	// together): the two base ones first, each alone, then static's two
	// together in the third shard.
	got := map[string]int{}
	for i, s := range m.Include {
		if s.Shard != []string{"1/3", "2/3", "3/3"}[i] {
			t.Errorf("shard %d named %s", i, s.Shard)
		}
		got[s.Shard] = len(s.Images)
	}
	if got["1/3"] != 2 || got["2/3"] != 2 || got["3/3"] != 4 || !strings.Contains(out, `"static (debian:trixie, latest) linux/arm64/v8"`) {
		t.Errorf("shards: %s", out)
	}
}
