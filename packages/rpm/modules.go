package rpm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/distroless-dev/distroless/packages/fetch"
)

// maxModuleDocs bounds the documents of a modules file.
const maxModuleDocs = 1 << 20

// modularNEVRAs returns the NEVRAs of the packages that belong to the
// repository's module streams (the "modules" metadata, modulemd YAML
// documents). No stream is enabled in an image build, and RHEL 9 and its
// rebuilds have no default streams, so dnf would not install these
// packages: the index leaves them out. The list is cached by the digest
// of the modules file.
func modularNEVRAs(ctx context.Context, c *fetch.Cache, r Repo, md *repomd) ([]string, error) {
	e, err := md.need("modules")
	if err != nil {
		return nil, err
	}
	key := modulesKeyPrefix + e.OpenSHA256
	if b, err := c.Get(key); err == nil {
		return strings.Fields(string(b)), nil
	}
	blob, err := metadataBlob(ctx, c, r, e)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(blob)
	if err != nil {
		return nil, err
	}
	nevras, err := parseModules(data)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", baseURL(r), e.Href, err)
	}
	_ = c.Put(key, []byte(strings.Join(nevras, "\n")+"\n"))
	return nevras, nil
}

// parseModules reads modulemd documents and returns the NEVRAs their
// artifacts list, in the index's spelling (no epoch when it is 0).
func parseModules(data []byte) ([]string, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []string
	for n := 0; ; n++ {
		if n >= maxModuleDocs {
			return nil, errors.New("too many documents")
		}
		var doc struct {
			Document string `yaml:"document"`
			Data     struct {
				Artifacts struct {
					RPMs []string `yaml:"rpms"`
				} `yaml:"artifacts"`
			} `yaml:"data"`
		}
		err := dec.Decode(&doc)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("module metadata does not parse: %w", err)
		}
		if doc.Document != "modulemd" {
			continue
		}
		for _, a := range doc.Data.Artifacts.RPMs {
			if n, ok := normNEVRA(a); ok {
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// normNEVRA rewrites "name-epoch:version-release.arch" as the index
// spells a NEVRA.
func normNEVRA(s string) (string, bool) {
	s = strings.TrimSpace(s)
	dot := strings.LastIndexByte(s, '.')
	if dot <= 0 {
		return "", false
	}
	arch, rest := s[dot+1:], s[:dot]
	// name-[epoch:]version-release: the last two '-' split it.
	r := strings.LastIndexByte(rest, '-')
	if r <= 0 {
		return "", false
	}
	v := strings.LastIndexByte(rest[:r], '-')
	if v <= 0 {
		return "", false
	}
	evr, err := ParseEVR(rest[v+1:])
	if err != nil {
		return "", false
	}
	return rest[:v] + "-" + evr.String() + "." + arch, true
}
