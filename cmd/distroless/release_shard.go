package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/distroless-dev/distroless"
)

// shardFlags are release's flags for a matrix split over CI jobs.
type shardFlags struct {
	shard  string
	finish bool
	matrix bool
	shards int
}

func (s *shardFlags) register(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&s.shard, "shard", "", "build and push only shard K/N of the matrix's platform images (by digest, with their SBOMs); --finish makes the images")
	f.BoolVar(&s.finish, "finish", false, "after every shard: make and push each image (index, tags, provenance, signatures) from the shards' platform images; refuses, naming them, when some are missing")
	f.BoolVar(&s.matrix, "matrix", false, "print the --shards shards as one line of JSON ({\"include\":[{\"shard\":\"K/N\",…}]}) for a CI matrix, and exit")
	f.IntVar(&s.shards, "shards", 4, "the number of shards --matrix lists")
}

// apply checks the flags and sets r's; done says --matrix printed the
// matrix (nothing else to do).
func (s *shardFlags) apply(cmd *cobra.Command, file string, r *distroless.ReleaseOptions) (done bool, err error) {
	n := 0
	for _, set := range []bool{s.shard != "", s.finish, s.matrix} {
		if set {
			n++
		}
	}
	if n > 1 {
		return false, &usageError{fmt.Errorf("give one of --shard, --finish and --matrix")}
	}
	if cmd.Flags().Changed("shards") && !s.matrix {
		return false, &usageError{fmt.Errorf("--shards goes with --matrix (a shard says K/N with --shard)")}
	}
	switch {
	case s.matrix:
		if r.DryRun {
			return false, &usageError{fmt.Errorf("--matrix pushes nothing; drop --dry-run")}
		}
		m, err := distroless.Matrix(file, r.Date, s.shards)
		if err != nil {
			return false, err
		}
		data, err := json.Marshal(m)
		if err != nil {
			return false, err
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", data)
		return true, err
	case s.shard != "":
		k, n, err := distroless.ParseShard(s.shard)
		if err != nil {
			return false, &usageError{fmt.Errorf("--shard: %w", err)}
		}
		r.Shard, r.Shards = k, n
	case s.finish:
		r.Finish = true
	}
	return false, nil
}
