package main

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestExtraArgsAreUsageErrors: a command that takes no arguments refuses
// one as a usage error (exit 2), naming it and giving the usage.
func TestExtraArgsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"profiles", "x"}, {"cache", "x"}, {"cache", "dir", "x"}, {"cache", "prune", "x"}} {
		root := newRoot()
		root.SetArgs(args)
		root.SetOut(io.Discard)
		err := root.Execute()
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), `"x"`) || !strings.Contains(err.Error(), "usage: distroless "+strings.Join(args[:len(args)-1], " ")) {
			t.Errorf("%v: %v, want a usage error naming x with the usage", args, err)
		}
	}
}
