// tlsget fetches an https URL with Go's default trust (the system
// store: SSL_CERT_FILE, else the distro's bundle paths) and prints "ok"
// and the body, or "FAIL" and the error. Built static for the custom-CA
// tests.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
)

func main() {
	res, err := http.Get(os.Args[1])
	if err != nil {
		fmt.Println("FAIL go:", err)
		os.Exit(1)
	}
	b, _ := io.ReadAll(res.Body)
	fmt.Println("ok   go:", string(b))
}
