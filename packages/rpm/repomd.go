package rpm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// maxRepomd bounds repomd.xml and its signature.
const maxRepomd = 4 << 20

// repoData is one metadata file repomd.xml lists.
type repoData struct {
	Type         string
	Href         string // relative to the repository base
	SHA256       string // of the file as downloaded
	Size         int64  // -1 when repomd gives none
	OpenSHA256   string // of the decompressed file
	OpenSize     int64  // -1 when repomd gives none
	Compression  string // gz, xz, zst, bz2 or ""
	checksumType string
}

// repomd is a parsed repomd.xml.
type repomd struct {
	URL      string
	Raw      []byte
	SHA256   string
	Revision string
	Data     map[string]*repoData
}

type xmlRepomd struct {
	XMLName  xml.Name `xml:"repomd"`
	Revision string   `xml:"revision"`
	Data     []struct {
		Type     string `xml:"type,attr"`
		Checksum struct {
			Type  string `xml:"type,attr"`
			Value string `xml:",chardata"`
		} `xml:"checksum"`
		OpenChecksum struct {
			Type  string `xml:"type,attr"`
			Value string `xml:",chardata"`
		} `xml:"open-checksum"`
		Location struct {
			Href string `xml:"href,attr"`
		} `xml:"location"`
		Size     string `xml:"size"`
		OpenSize string `xml:"open-size"`
	} `xml:"data"`
}

// parseRepomd reads repomd.xml (already verified, when it is signed).
func parseRepomd(url string, raw []byte) (*repomd, error) {
	var x xmlRepomd
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	if err := dec.Decode(&x); err != nil {
		return nil, fmt.Errorf("%s: not a repomd.xml: %v", url, err)
	}
	sum := sha256.Sum256(raw)
	r := &repomd{URL: url, Raw: raw, SHA256: hex.EncodeToString(sum[:]), Revision: strings.TrimSpace(x.Revision), Data: map[string]*repoData{}}
	for _, d := range x.Data {
		e := &repoData{
			Type:         d.Type,
			Href:         strings.TrimSpace(d.Location.Href),
			checksumType: strings.TrimSpace(d.Checksum.Type),
			SHA256:       strings.ToLower(strings.TrimSpace(d.Checksum.Value)),
			OpenSHA256:   strings.ToLower(strings.TrimSpace(d.OpenChecksum.Value)),
			Size:         parseSize(d.Size),
			OpenSize:     parseSize(d.OpenSize),
		}
		if e.Type == "" {
			continue
		}
		if _, dup := r.Data[e.Type]; dup {
			return nil, fmt.Errorf("%s: lists %s twice", url, e.Type)
		}
		if e.checksumType != "sha256" || !isHexDigest(e.SHA256) {
			// Only the types this package reads must be checkable.
			e.SHA256 = ""
		}
		if strings.TrimSpace(d.OpenChecksum.Type) != "sha256" || !isHexDigest(e.OpenSHA256) {
			e.OpenSHA256 = ""
		}
		switch ext := path.Ext(e.Href); ext {
		case ".gz", ".xz", ".zst", ".bz2":
			e.Compression = ext[1:]
		case ".xml", ".yaml":
		default:
			e.Compression = "?" + ext
		}
		r.Data[e.Type] = e
	}
	return r, nil
}

// need returns the entry of a type this package reads, checked.
func (r *repomd) need(typ string) (*repoData, error) {
	e, ok := r.Data[typ]
	if !ok {
		return nil, fmt.Errorf("%s lists no %s metadata", r.URL, typ)
	}
	switch {
	case e.Href == "" || strings.Contains(e.Href, "..") || strings.HasPrefix(e.Href, "/") || strings.Contains(e.Href, "://"):
		return nil, fmt.Errorf("%s: %s has a bad location %q", r.URL, typ, e.Href)
	case e.SHA256 == "":
		return nil, fmt.Errorf("%s: %s has no sha256 checksum (checksum type %q; only sha256 is accepted)", r.URL, typ, e.checksumType)
	case e.Compression != "" && strings.HasPrefix(e.Compression, "?"):
		return nil, fmt.Errorf("%s: %s is compressed in an unsupported format (%s)", r.URL, typ, e.Href)
	case e.OpenSHA256 == "" && e.Compression != "":
		return nil, fmt.Errorf("%s: %s has no sha256 open-checksum", r.URL, typ)
	}
	if e.Compression == "" {
		e.OpenSHA256, e.OpenSize = e.SHA256, e.Size
	}
	return e, nil
}

func parseSize(s string) int64 {
	var n int64
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 18 {
		return -1
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// verifyRepomd checks the detached, armored signature (repomd.xml.asc)
// of repomd.xml against keyring.
func verifyRepomd(url string, raw, asc []byte, keyring openpgp.EntityList, now time.Time) error {
	if len(keyring) == 0 {
		return fmt.Errorf("%s: signature not checked: the keyring is empty", url)
	}
	if len(bytes.TrimSpace(asc)) == 0 {
		return fmt.Errorf("%s.asc: empty signature", url)
	}
	config := &packet.Config{Time: func() time.Time { return now }}
	_, err := openpgp.CheckArmoredDetachedSignature(keyring, bytes.NewReader(raw), bytes.NewReader(asc), config)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, pgperrors.ErrUnknownIssuer) {
			msg = "signed by a key that is not in the keyring"
		}
		return fmt.Errorf("%s: bad signature (%s): %s", url, path.Base(url)+".asc", msg)
	}
	return nil
}
