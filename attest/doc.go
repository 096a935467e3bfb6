// Package attest makes what is attached beside an image rather than in
// it: the SLSA v1 build provenance (an in-toto statement), OCI 1.1
// referrer artifacts carrying a statement or an SBOM with the image
// manifest as their subject, and the cosign-format signatures of an
// image and of its attestations.
//
// Provenance builds the statement from what a build used: the builder,
// the invocation, the distro, the digest of every signed index file
// (InRelease, repomd.xml, Packages, primary), the lockfile, the profiles
// and the package files. It holds no time of its own: a build with the
// same inputs and SOURCE_DATE_EPOCH gives the same bytes.
//
// Referrer wraps one document in an artifact manifest whose subject is
// the image (artifactType = the document's media type, an empty config),
// which registries list through the referrers API and, for registries
// without it, go-containerregistry's remote.Write lists in the
// referrers tag schema index (tag sha256-HEX).
//
// Signer signs with a key file (an ECDSA P-256 PEM key, or a cosign key
// file, encrypted with a password; every form of key file cosign reads),
// ECDSA of the SHA-256 with the standard library: Sign gives the image's
// signature manifest (simple signing payload, tag sha256-HEX.sig) and
// Attest the attestations manifest (one DSSE envelope per in-toto
// statement, tag sha256-HEX.att), the formats `cosign verify --key` and
// `cosign verify-attestation --key` read.
//
// The statements are plain structs written by encoding/json, byte for
// byte what in-toto's protobuf types and protojson wrote (the tests
// compare the two): keys sorted, no space, Struct numbers as float64,
// timestamps in UTC with 0, 3, 6 or 9 fractional digits, empty fields
// left out; a string that is not UTF-8, a predicate with a name twice in
// an object and a value a protobuf Struct cannot hold are errors.
// Nothing is uploaded to a transparency log, so cosign verifies them with
// --insecure-ignore-tlog; keyless signing (a Fulcio certificate, a Rekor
// entry) would be another Signer with the certificate and bundle
// annotations cosign defines, on the same manifests.
//
// Verifier, from a public key (cosign.pub), checks those two manifests:
// VerifySignature that a signature of the key names the digest, and
// VerifyAttestations that the key signed every envelope, returning the
// statements.
package attest
