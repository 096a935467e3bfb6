package publish

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// outputForms lists the outputs gen accepts, for error messages.
const outputForms = "oci:DIR[:TAG] (an OCI layout), oci-archive:FILE[:REF] (a tar of one), docker-archive:FILE[:REF] (a tarball) or REGISTRY/REPO:TAG (a push)"

// checkOutput refuses an output without a transport that is not a
// registry reference: a path such as ./out, /tmp/out, ../out, out/ or
// ~/out must not be taken for a registry host.
func checkOutput(output string) error {
	if strings.HasPrefix(output, "oci:") || strings.HasPrefix(output, "oci-archive:") || strings.HasPrefix(output, "docker-archive:") {
		return nil
	}
	host, rest, hasSlash := strings.Cut(output, "/")
	switch {
	case output == "":
		return fmt.Errorf("output is empty; want %s", outputForms)
	case host == "" || host == "." || host == ".." || host == "~" || strings.HasPrefix(host, "~") ||
		strings.ContainsRune(output, '\\') || (hasSlash && (rest == "" || strings.HasSuffix(rest, "/"))):
		return fmt.Errorf("output %q is a path, not a registry reference: for an OCI layout say oci:%s, for a tarball docker-archive:%s; outputs are %s",
			output, strings.TrimSuffix(output, "/"), strings.TrimSuffix(output, "/"), outputForms)
	case !hasSlash:
		return fmt.Errorf("output %q has no transport and is not a registry reference: want %s (a registry is named by its host, e.g. docker.io/…)", output, outputForms)
	}
	if !registryHost(host) {
		return fmt.Errorf("output %q: %q is not a registry host (a domain with a dot, localhost, or an address, each with an optional :PORT); want %s", output, host, outputForms)
	}
	// The tag defaults to latest, as for podman and crane.
	if _, err := name.ParseReference(output); err != nil {
		return fmt.Errorf("output %q is not a registry reference (%v); want %s", output, err, outputForms)
	}
	return nil
}

// registryHost reports whether host (with an optional :PORT) names a
// registry: localhost, an IP address, or a DNS name with a dot.
func registryHost(host string) bool {
	h, port := host, ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		h, port = host[:i], host[i+1:]
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return false
		}
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		return net.ParseIP(h[1:len(h)-1]) != nil
	}
	if h == "localhost" || net.ParseIP(h) != nil {
		return true
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 && port == "" {
		return false // a bare word is a registry only with a port (registry:5000)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Output is a parsed output of WriteOutputs (ParseOutput): an OCI layout,
// an oci-archive, a docker-archive or a registry reference.
type Output struct {
	s string
}

// ParseOutput reads an output: oci:DIR[:TAG], oci-archive:FILE[:REF],
// docker-archive:FILE[:REF] or REGISTRY/REPO[:TAG|@DIGEST] (see
// WriteOutputs). A path without a transport is refused rather than taken
// for a registry, as is a registry reference whose first component names
// no registry host. What depends on the settings of a write (an archive's
// default name, registries.conf) is checked by CheckOutput.
func ParseOutput(s string) (Output, error) {
	if err := checkOutput(s); err != nil {
		return Output{}, err
	}
	var err error
	if !strings.HasPrefix(s, "oci:") && !strings.HasPrefix(s, "oci-archive:") && !strings.HasPrefix(s, "docker-archive:") {
		_, err = parseRegistryRef(s)
	} else {
		// Any default name will do: an archive that names none gets its
		// writer's.
		_, err = parseOutput(s, WriteOptions{DefaultRef: "distroless/output:latest"})
	}
	if err != nil {
		return Output{}, err
	}
	return Output{s: s}, nil
}

// String is the output as it was written; "" for the zero Output.
func (o Output) String() string { return o.s }
