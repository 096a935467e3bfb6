package sbom

import (
	"time"

	"github.com/google/go-containerregistry/pkg/v1"

	"github.com/distroless-dev/distroless/attest"
)

// Referrer is an OCI 1.1 artifact manifest carrying doc as its one layer:
// artifactType and the layer's media type are mediaType (the format's:
// application/spdx+json, application/vnd.cyclonedx+json), the config is
// the empty descriptor, and subject is the image it describes. It is
// annotated with the creation time (SOURCE_DATE_EPOCH), so the same
// document of the same image is the same manifest. It is built by
// attest.ReferrerBareConfig.
func Referrer(subject v1.Descriptor, mediaType string, doc []byte, created time.Time) (v1.Image, error) {
	return attest.ReferrerBareConfig(subject, mediaType, doc, map[string]string{
		"org.opencontainers.image.created": created.UTC().Format(time.RFC3339),
	})
}
