package rpm

import (
	"context"
	"fmt"
	"testing"
)

// TestFindFiles: base names looked up in the fixture's file lists: a
// library and its link, a name two packages' paths end in, and none.
func TestFindFiles(t *testing.T) {
	ix, _ := openFixture(t)
	got, err := ix.FindFiles(context.Background(), []string{"libdemo.so.1", "libdemo.so.1.0", "libssl.so.3", "libnothing.so.9"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"libdemo.so.1":    "[{/usr/lib64/libdemo.so.1 [libdemo]}]",
		"libdemo.so.1.0":  "[{/usr/lib64/libdemo.so.1.0 [libdemo]}]",
		"libssl.so.3":     "[{/usr/lib/x86_64-linux-gnu/libssl.so.3 [openssl-libs]}]",
		"libnothing.so.9": "[]",
	} {
		if s := fmt.Sprint(got[name]); s != want {
			t.Errorf("%s: %s, want %s", name, s, want)
		}
	}
}
