package clitest

import (
	"testing"

	"github.com/distroless-dev/distroless/publish"
)

// Output parses an output (-o's form) as the command does, failing the
// test on an error.
func Output(tb testing.TB, s string) publish.Output {
	tb.Helper()
	o, err := publish.ParseOutput(s)
	if err != nil {
		tb.Fatal(err)
	}
	return o
}
