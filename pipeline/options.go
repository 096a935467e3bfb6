package pipeline

import (
	"errors"
	"fmt"
)

// ErrNoSignatureOutput is the error of a signing key with no output to
// hold the signatures: no push, and no OCI layout or oci-archive taking
// the attachments (GenOptions.Attach).
var ErrNoSignatureOutput = errors.New("no output holds signatures: they go to registry pushes, and with the attachments into OCI layouts and oci-archives")

// OptionError is a setting of GenOptions, ReleaseOptions or Options that
// cannot work, by the name of its field, so that a command can name the
// flag that set it.
type OptionError struct {
	Option string // the field: "Signer", "CACerts", "AddFiles", "SBOM", "Add", "Exclude", "Platforms"
	Value  string // the value at fault, as the message shows it ("" when none)
	Err    error
}

// optionWords are the options' names in messages.
var optionWords = map[string]string{
	"Signer": "signing key", "CACerts": "CA certificate", "AddFiles": "added file", "SBOM": "SBOM file",
	"Add": "added packages", "Exclude": "excluded packages", "Platforms": "platforms",
}

func (e *OptionError) Error() string {
	w := optionWords[e.Option]
	if w == "" {
		w = e.Option
	}
	if e.Value != "" {
		return fmt.Sprintf("%s %s: %v", w, e.Value, e.Err)
	}
	return fmt.Sprintf("%s: %v", w, e.Err)
}

func (e *OptionError) Unwrap() error { return e.Err }

// Named is the message with name (a command's flag) in place of the
// option's words.
func (e *OptionError) Named(name string) string {
	if e.Value != "" {
		return fmt.Sprintf("%s %s: %v", name, e.Value, e.Err)
	}
	return fmt.Sprintf("%s: %v", name, e.Err)
}
