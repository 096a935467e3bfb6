package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/attest"
	"github.com/distroless-dev/distroless/packages/fetch"
	"github.com/distroless-dev/distroless/pipeline"
	"github.com/distroless-dev/distroless/sbom"
)

// buildFlags are the flags gen and release share that the library takes
// as typed values: read as text, parsed by apply.
type buildFlags struct {
	maxImageSize, maxFileSize string
	sbomFormat, signKey       string
}

// register registers the flags; what the help says of each is the
// command's (one image, or every image of a release).
func (b *buildFlags) register(c *cobra.Command, signHelp, sbomHelp, imageSizeHelp string) {
	f := c.Flags()
	f.StringVar(&b.signKey, "sign-key", "", signHelp)
	f.StringVar(&b.sbomFormat, "sbom-format", "spdx", sbomHelp)
	f.StringVar(&b.maxImageSize, "max-image-size", "", imageSizeHelp)
	f.StringVar(&b.maxFileSize, "max-file-size", "", "refuse a package with a file larger than this (default 1GiB)")
}

// apply parses the flags into g.
func (b *buildFlags) apply(g *pipeline.GenOptions) error {
	var err error
	if g.MaxImageSize, err = sizeFlag("--max-image-size", b.maxImageSize); err != nil {
		return err
	}
	if g.MaxFileSize, err = sizeFlag("--max-file-size", b.maxFileSize); err != nil {
		return err
	}
	if g.SBOMFormat, err = sbom.ParseFormat(b.sbomFormat); err != nil {
		return &usageError{err}
	}
	if g.SourceDate, err = sourceDateEnv(); err != nil {
		return err
	}
	if b.signKey != "" {
		// Decrypted with $COSIGN_PASSWORD.
		if g.Signer, err = attest.LoadKey(b.signKey, []byte(os.Getenv(attest.PasswordEnv))); err != nil {
			return err
		}
	}
	return nil
}

// sizeFlag is the byte count of a size flag's value (0 for "").
func sizeFlag(flag, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := fetch.ParseSize(v)
	if err == nil && n <= 0 {
		err = fmt.Errorf("size %q: must be more than 0", v)
	}
	if err != nil {
		return 0, &usageError{fmt.Errorf("%s: %w", flag, err)}
	}
	return n, nil
}

// userFlag is --user's image user.
func userFlag(v string) (pipeline.User, error) {
	u, err := pipeline.ParseUser(v)
	if err != nil {
		return u, &usageError{fmt.Errorf("--%w", err)} // user "x": … → --user "x": …
	}
	return u, nil
}

// compressionFlag is --compression's layer compression.
func compressionFlag(v string) (assemble.Compression, error) {
	c, err := assemble.ParseCompression(v)
	if err != nil {
		return c, &usageError{fmt.Errorf("--compression: %w", err)}
	}
	return c, nil
}

// optionFlags are the flags that set each option the library names in
// an OptionError.
var optionFlags = map[string]string{
	"Signer": "--sign-key", "CACerts": "--ca-cert", "AddFiles": "--add-file", "SBOM": "--sbom",
	"Add": "--add", "Exclude": "--exclude", "Platforms": "--platform/--arch",
}

// fieldFlags are the flags of the options the library's advice names by
// their fields, longest first.
var fieldFlags = []struct{ field, flag string }{
	{"Options.Add and Options.Exclude", "--add and --exclude"},
	{"RegistryOptions.CertDir", "--cert-dir DIR"},
	{"RegistryOptions.Insecure", "--insecure"},
	{"Mirrors.Security", "--security-mirror"},
	{"Mirrors.Archive", "--mirror"},
	{"Options.Keyring", "--keyring FILE"},
	{"Options.Distro", "--distro"},
	{"Options.Platforms", "--platform"},
	{"Options.Add", "--add"},
	{"AppOptions.PythonRequirements", "--python-requirements"},
	{"AppOptions.PythonWheels", "--python-wheels"},
	{"AppOptions.PythonIndex", "--python-index"},
	{"AppOptions.NpmRegistry", "--npm-registry"},
	{"AppOptions.NpmLock", "--npm-lock"},
	{"AppOptions.AppDir", "--app-dir"},
	{"AppOptions.NoLibs", "--no-app-libs"},
}

// fieldsAsFlags is msg (an error's or a warning's) with the options it
// names by their fields named by their flags.
func fieldsAsFlags(msg string) string {
	for _, f := range fieldFlags {
		msg = strings.ReplaceAll(msg, f.field, f.flag)
	}
	return msg
}

// withFlags is the message of err with the flags that set what it is
// about: an option the library names by its field gets its flag, and a
// size limit a package passes the flag that raises it.
func withFlags(err error) string {
	msg := fieldsAsFlags(err.Error())
	var oe *pipeline.OptionError
	if errors.As(err, &oe) {
		if f, ok := optionFlags[oe.Option]; ok {
			msg = strings.Replace(msg, oe.Error(), oe.Named(f), 1)
		}
	}
	if errors.Is(err, pipeline.ErrNoSignatureOutput) {
		msg = strings.Replace(msg, pipeline.ErrNoSignatureOutput.Error(),
			"no output holds signatures: they go to registry pushes, and with --attach into OCI layouts and oci-archives", 1)
	}
	var le *assemble.LimitError
	if errors.As(err, &le) {
		flag := "--max-file-size"
		if le.Image {
			flag = "--max-image-size"
		}
		msg = strings.Replace(msg, le.Error(), le.Error()+"; "+flag+" raises the limit", 1)
	}
	return msg
}

// sourceDateEnv is the time SOURCE_DATE_EPOCH names (seconds since the
// Unix epoch), nil when it is unset or empty.
func sourceDateEnv() (*time.Time, error) {
	v := strings.TrimSpace(os.Getenv("SOURCE_DATE_EPOCH"))
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 253402300799 {
		return nil, &usageError{fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970 (0 to 253402300799)", v)}
	}
	t := time.Unix(n, 0).UTC()
	return &t, nil
}
