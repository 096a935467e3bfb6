package deb_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/distroless-dev/distroless/packages/deb"
	"github.com/distroless-dev/distroless/packages/deb/debtest"
	"github.com/distroless-dev/distroless/packages/fetch"
)

const contents = `usr/lib/x86_64-linux-gnu/libyaml-0.so.2                  libs/libyaml-0-2
usr/lib/x86_64-linux-gnu/libyaml-0.so.2.0.9              libs/libyaml-0-2
usr/lib/x86_64-linux-gnu/libc.so.6                       libs/libc6
usr/share/doc/a file with spaces/libc.so.6               doc/odd,libs/odd2
usr/lib32/libc.so.6                                      libs/libc6-i386
usr/bin/hello                                            utils/hello
`

// TestFindFiles: names looked up in a suite's Contents-amd64.gz, as its
// signed InRelease lists it, by hash; answered again from the cache; a
// Contents file changed after signing is refused.
func TestFindFiles(t *testing.T) {
	s := basic
	s.Contents = map[string]string{"main": contents}
	a := debtest.New(t, debtest.Config{Suites: []debtest.Suite{s}, ByHash: true})
	ix, c := open(t, a, "bookworm")
	got, err := ix.FindFiles(ctx, []string{"libyaml-0.so.2", "libc.so.6", "libnothing.so.1"})
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(got["libyaml-0.so.2"]); s != "[{/usr/lib/x86_64-linux-gnu/libyaml-0.so.2 [libyaml-0-2]}]" {
		t.Errorf("libyaml-0.so.2: %s", s)
	}
	if s := fmt.Sprint(got["libc.so.6"]); s != "[{/usr/lib/x86_64-linux-gnu/libc.so.6 [libc6]} {/usr/lib32/libc.so.6 [libc6-i386]} {/usr/share/doc/a file with spaces/libc.so.6 [odd odd2]}]" {
		t.Errorf("libc.so.6: %s", s)
	}
	if _, ok := got["libnothing.so.1"]; ok {
		t.Errorf("libnothing.so.1: %v", got["libnothing.so.1"])
	}
	byHash := false
	for _, r := range a.Requests() {
		byHash = byHash || strings.HasPrefix(r, "dists/bookworm/main/by-hash/SHA256/")
	}
	if !byHash {
		t.Errorf("not fetched by hash: %v", a.Requests())
	}
	// The same question again: from the cache, no request.
	n := len(a.Requests())
	if _, err := ix.FindFiles(ctx, []string{"libc.so.6", "libyaml-0.so.2"}); err != nil || len(a.Requests()) != n {
		t.Errorf("asked again: %v, %d requests more", err, len(a.Requests())-n)
	}

	// Tampered after signing: the served file is not the one the
	// InRelease lists; nothing is cached.
	b := debtest.NewArchive(t, s)
	ix2, err := deb.Open(ctx, &fetch.Cache{Dir: t.TempDir()}, spec(b, "bookworm"))
	if err != nil {
		t.Fatal(err)
	}
	b.SetFile("dists/bookworm/main/Contents-amd64.gz", debtest.Gzip([]byte(strings.ReplaceAll(contents, "libs/libyaml-0-2", "libs/evil"))))
	if _, err := ix2.FindFiles(ctx, []string{"libyaml-0.so.2"}); err == nil || !strings.Contains(err.Error(), "Contents-amd64.gz") || !strings.Contains(err.Error(), "mismatch") {
		t.Errorf("tampered Contents: %v", err)
	}
	_ = c
}

// TestFindFilesNone: a suite whose InRelease lists no Contents file.
func TestFindFilesNone(t *testing.T) {
	a := debtest.NewArchive(t, basic)
	ix, _ := open(t, a, "bookworm")
	if _, err := ix.FindFiles(ctx, []string{"libc.so.6"}); err == nil || !strings.Contains(err.Error(), "list no Contents-amd64") {
		t.Errorf("got %v", err)
	}
}
