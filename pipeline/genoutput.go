package pipeline

import (
	"fmt"

	"github.com/distroless-dev/distroless/publish"
)

// WriteOptions are the output settings of an image of the named profile.
func WriteOptions(profile string) publish.WriteOptions {
	return publish.WriteOptions{DefaultRef: "distroless/" + profile + ":latest"}
}

// writeOptions are the output settings of an image of the named profile,
// with gen's registry settings.
func (o GenOptions) writeOptions(profile string) publish.WriteOptions {
	w := WriteOptions(profile)
	w.Registry = o.Registry
	return w
}

// outputsOf is the outputs gen writes (Output then Outputs, else
// oci:./PROFILE), each checked with the write's settings before anything
// is fetched.
func (o GenOptions) outputsOf(profile string) ([]string, error) {
	var outputs []string
	for _, out := range append([]publish.Output{o.Output}, o.Outputs...) {
		if out.String() != "" {
			outputs = append(outputs, out.String())
		}
	}
	if len(outputs) == 0 {
		outputs = []string{"oci:./" + profile}
	}
	seen := map[string]bool{}
	for _, output := range outputs {
		if seen[output] {
			return nil, fmt.Errorf("output %q is given twice", output)
		}
		seen[output] = true
		if err := publish.CheckOutput(output, o.writeOptions(profile)); err != nil {
			return nil, err
		}
	}
	return outputs, nil
}
