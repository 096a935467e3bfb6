//go:build !unix

package rpm

import "os"

func mapFile(path string) (data []byte, unmap func(), err error) {
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return data, func() {}, nil
}
