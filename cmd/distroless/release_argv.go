package main

import "strings"

// releaseArgv is the invocation a release records in each image's
// provenance (and counts among an image's inputs): the arguments without
// the flags that change only what is printed, whether anything is pushed,
// where the cache is, how long the sandbox waits for a program of the
// runner's speed, or which part of the matrix this process takes, so
// that a run of the same release on another runner, with another cache or
// as shards, gives the same attachments.
func releaseArgv(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		flag, _, hasValue := strings.Cut(a, "=")
		switch flag {
		case "--json", "--dry-run", "-q", "--quiet", "--finish", "--matrix":
			continue
		case "--cache-dir", "--shard", "--sandbox-timeout":
			if !hasValue {
				i++ // its value
			}
			continue
		}
		out = append(out, a)
	}
	return out
}
