package pipeline

import "testing"

// Passwords in mirror URLs never reach the provenance.
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:s3cret@mirror.example/debian":          "https://user:xxxxx@mirror.example/debian",
		"--mirror=https://user:s3cret@mirror.example/debian": "--mirror=https://user:xxxxx@mirror.example/debian",
		"https://user@mirror.example/debian":                 "https://user@mirror.example/debian",
		"https://mirror.example/debian/pool/a@b.deb":         "https://mirror.example/debian/pool/a@b.deb",
		"oci:./out:latest":                                   "oci:./out:latest",
		"registry.example/app@sha256:abc":                    "registry.example/app@sha256:abc",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
