package rpmtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/therootcompany/xz"
)

// recompressZstd rewrites a metadata file of a repository as zstd and
// updates repomd.xml (before it is signed).
func recompressZstd(repo, typ string) error {
	mdPath := filepath.Join(repo, "repodata", "repomd.xml")
	md, err := os.ReadFile(mdPath)
	if err != nil {
		return err
	}
	s := string(md)
	start := strings.Index(s, `<data type="`+typ+`">`)
	if start < 0 {
		return fmt.Errorf("%s lists no %s", mdPath, typ)
	}
	end := start + strings.Index(s[start:], "</data>")
	block := s[start:end]
	href := between(block, `<location href="`, `"`)
	oldSum := between(block, `<checksum type="sha256">`, `<`)
	oldSize := between(block, `<size>`, `<`)
	raw, err := os.ReadFile(filepath.Join(repo, href))
	if err != nil {
		return err
	}
	xr, err := xz.NewReader(bytes.NewReader(raw), 0)
	if err != nil {
		return err
	}
	plain, err := io.ReadAll(xr)
	if err != nil {
		return err
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		return err
	}
	z := enc.EncodeAll(plain, nil)
	sum := sha256.Sum256(z)
	newSum := hex.EncodeToString(sum[:])
	newHref := "repodata/" + newSum + "-" + typ + ".xml.zst"
	if err := os.WriteFile(filepath.Join(repo, newHref), z, 0o644); err != nil {
		return err
	}
	os.Remove(filepath.Join(repo, href))
	nb := strings.Replace(block, href, newHref, 1)
	nb = strings.Replace(nb, oldSum, newSum, 1)
	nb = strings.Replace(nb, "<size>"+oldSize+"<", "<size>"+fmt.Sprint(len(z))+"<", 1)
	return os.WriteFile(mdPath, []byte(s[:start]+nb+s[end:]), 0o644)
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	if j := strings.Index(s, b); j >= 0 {
		return s[:j]
	}
	return s
}

// RewritePrimary replaces a repository's primary.xml with what edit makes
// of it, written as zstd, and updates repomd.xml (location, checksums,
// sizes). Sign repomd.xml again (SignRepomd) afterwards.
func RewritePrimary(repo string, edit func([]byte) []byte) error {
	mdPath := filepath.Join(repo, "repodata", "repomd.xml")
	md, err := os.ReadFile(mdPath)
	if err != nil {
		return err
	}
	s := string(md)
	start := strings.Index(s, `<data type="primary">`)
	if start < 0 {
		return fmt.Errorf("%s lists no primary", mdPath)
	}
	end := start + strings.Index(s[start:], "</data>")
	block := s[start:end]
	href := between(block, `<location href="`, `"`)
	raw, err := os.ReadFile(filepath.Join(repo, href))
	if err != nil {
		return err
	}
	var plain []byte
	switch {
	case strings.HasSuffix(href, ".gz"):
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return err
		}
		plain, err = io.ReadAll(zr)
		if err != nil {
			return err
		}
	case strings.HasSuffix(href, ".xz"):
		xr, err := xz.NewReader(bytes.NewReader(raw), 0)
		if err != nil {
			return err
		}
		if plain, err = io.ReadAll(xr); err != nil {
			return err
		}
	case strings.HasSuffix(href, ".zst"):
		dec, err := zstd.NewReader(nil)
		if err != nil {
			return err
		}
		plain, err = dec.DecodeAll(raw, nil)
		dec.Close()
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("%s: unknown compression", href)
	}
	plain = edit(plain)
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		return err
	}
	z := enc.EncodeAll(plain, nil)
	sum, openSum := sha256.Sum256(z), sha256.Sum256(plain)
	newHref := "repodata/" + hex.EncodeToString(sum[:]) + "-primary.xml.zst"
	if err := os.WriteFile(filepath.Join(repo, newHref), z, 0o644); err != nil {
		return err
	}
	os.Remove(filepath.Join(repo, href))
	nb := strings.Replace(block, href, newHref, 1)
	nb = strings.Replace(nb, between(block, `<checksum type="sha256">`, `<`), hex.EncodeToString(sum[:]), 1)
	nb = strings.Replace(nb, between(block, `<open-checksum type="sha256">`, `<`), hex.EncodeToString(openSum[:]), 1)
	nb = strings.Replace(nb, "<size>"+between(block, `<size>`, `<`)+"<", "<size>"+fmt.Sprint(len(z))+"<", 1)
	nb = strings.Replace(nb, "<open-size>"+between(block, `<open-size>`, `<`)+"<", "<open-size>"+fmt.Sprint(len(plain))+"<", 1)
	return os.WriteFile(mdPath, []byte(s[:start]+nb+s[end:]), 0o644)
}
