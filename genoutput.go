package distroless

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/distroless-dev/distroless/publish"
)

// writeOptions are the output settings of an image of the named profile.
func writeOptions(profile string) publish.WriteOptions {
	return publish.WriteOptions{DefaultRef: "distroless/" + profile + ":latest"}
}

// writeOptions are the output settings of an image of the named profile,
// with gen's registry settings.
func (o GenOptions) writeOptions(profile string) publish.WriteOptions {
	w := writeOptions(profile)
	w.Registry = o.Registry
	return w
}

// outputsOf is the outputs gen writes (Output then Outputs, else
// oci:./PROFILE), each checked before anything is fetched.
func (o GenOptions) outputsOf(profile string) ([]string, error) {
	var outputs []string
	if o.Output != "" {
		outputs = append(outputs, o.Output)
	}
	outputs = append(outputs, o.Outputs...)
	if len(outputs) == 0 {
		outputs = []string{"oci:./" + profile}
	}
	seen := map[string]bool{}
	for _, output := range outputs {
		if seen[output] {
			return nil, fmt.Errorf("output %q is given twice", output)
		}
		seen[output] = true
		if err := checkOutput(output); err != nil {
			return nil, err
		}
		if err := publish.CheckOutput(output, o.writeOptions(profile)); err != nil {
			return nil, err
		}
	}
	return outputs, nil
}

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
