package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/pipeline"
)

// TestWithFlags: the library names an option by its field; the command
// names the flag that set it, in the same place of the message, and the
// flag that raises a size limit.
func TestWithFlags(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("linux/arm64: %w", &pipeline.OptionError{Option: "AddFiles", Value: "a:/b", Err: errors.New("boom")}),
			"linux/arm64: --add-file a:/b: boom"},
		{&pipeline.UsageError{Err: &pipeline.OptionError{Option: "Signer", Err: pipeline.ErrNoSignatureOutput}},
			"--sign-key: no output holds signatures: they go to registry pushes, and with --attach into OCI layouts and oci-archives"},
		{&pipeline.OptionError{Option: "Platforms", Value: `"a,b"`, Err: errors.New("names 2 platforms")},
			`--platform/--arch "a,b": names 2 platforms`},
		{fmt.Errorf("x: %w", &assemble.LimitError{Package: "p", File: "p.deb", Path: "f", Size: 3, Limit: 2}),
			"x: package p (p.deb): /f has 3 bytes, more than a file may have (2 bytes); --max-file-size raises the limit"},
		{&assemble.LimitError{Package: "p", File: "p.deb", Path: "f", Size: 3, Total: 9, Limit: 8, Image: true},
			"package p (p.deb): /f (3 bytes) brings the files of the packages to 9 bytes, more than the image may have (8 bytes); --max-image-size raises the limit"},
		{errors.New("plain"), "plain"},
		{errors.New("x: y (without Options.Distro, gen tries the built-in distros in turn: a)"),
			"x: y (without --distro, gen tries the built-in distros in turn: a)"},
		{errors.New("r speaks plain HTTP: allow it with RegistryOptions.Insecure, or with insecure = true for it in registries.conf"),
			"r speaks plain HTTP: allow it with --insecure, or with insecure = true for it in registries.conf"},
		{errors.New("Options.Add and Options.Exclude change the closure; set Mirrors.Security or Mirrors.Archive"),
			"--add and --exclude change the closure; set --security-mirror or --mirror"},
	} {
		if got := withFlags(c.err); got != c.want {
			t.Errorf("withFlags(%v)\n got %s\nwant %s", c.err, got, c.want)
		}
	}
	// The library's own words name no flag.
	if msg := (&pipeline.OptionError{Option: "AddFiles", Value: "a:/b", Err: errors.New("boom")}).Error(); msg != "added file a:/b: boom" {
		t.Errorf("library message %q", msg)
	}
}

// TestUserFlag: --user's errors name the flag, and a bad user is a usage
// error.
func TestUserFlag(t *testing.T) {
	if _, err := userFlag("nonroot"); err != nil {
		t.Fatal(err)
	}
	_, err := userFlag("Bad User")
	var ue *usageError
	if !errors.As(err, &ue) || err.Error() != `--user "Bad User": want nonroot, root, a numeric UID or NAME:UID[:GID]` {
		t.Errorf("got %v", err)
	}
	if _, err := sizeFlag("--max-file-size", "0"); err == nil || err.Error() != `--max-file-size: size "0": must be more than 0` {
		t.Errorf("size 0: %v", err)
	}
	if n, err := sizeFlag("--max-file-size", "2KiB"); err != nil || n != 2048 {
		t.Errorf("2KiB: %d, %v", n, err)
	}
}

func TestSourceDateEnv(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	if c, err := sourceDateEnv(); err != nil || c != nil {
		t.Errorf("unset: %v %v", c, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", " 1700000000 ")
	if c, err := sourceDateEnv(); err != nil || c == nil || c.Unix() != 1700000000 || c.Location() != time.UTC {
		t.Errorf("set: %v %v", c, err)
	}
	for _, bad := range []string{"yesterday", "-1", "253402300800", "1e9"} {
		t.Setenv("SOURCE_DATE_EPOCH", bad)
		if _, err := sourceDateEnv(); !errors.As(err, new(*usageError)) || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
			t.Errorf("%q: %v, want a usage error naming SOURCE_DATE_EPOCH", bad, err)
		}
	}
}
