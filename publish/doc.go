// Package publish writes a built image or image index, with what is
// attached to it (SBOMs and provenance as referrers, cosign's signature
// and attestation tags), to where it goes: OCI layouts, oci-archives,
// docker-archives and registries (Artifact, WriteOutputs). It knows
// nothing of how the image was made.
//
// # Layouts and archives
//
// An OCI layout keeps its other tags; writers of one layout take turns
// through a lock on its directory (index.json.lock, removed when done),
// and a write builds the new layout beside the old one and swaps it into
// place (renameat2 RENAME_EXCHANGE where the kernel has it), so that an
// interrupted write leaves the old layout whole (write.go). A layout that
// is already exactly what the write would make of it is left as it is
// (unchanged.go). An oci-archive is such a
// layout as a tar (ociarchive.go); a docker-archive holds one image.
// CleanStale removes what killed writes left next to an output.
//
// # Registries
//
// Registry access is read the way podman and skopeo read theirs
// (registry.go): registries.conf for insecure and blocked registries,
// certs.d for CA certificates and client keys, auth.json and Docker's
// config.json (with credential helpers) for credentials. CheckPush
// asks each registry output for push access before anything is built.
// A push sends the image or index, then its referrers by digest, then
// its tagged attachments; layers a repository of the registry already
// holds are mounted from there (the blob memory remembers which), and
// stalled transfers time out.
//
// # What a registry already holds
//
// A Record is what a pushed artifact left in a registry. StaleTags asks
// with HEAD requests only which tags do not hold it (or whose repository
// lacks one of its attachments), and PushMissing sends each repository
// only what it lacks (held.go).
package publish
