package assemble

import (
	"bytes"
	"io"
	"sync"
)

// partsReader reads a stream held in parts, one after the other.
type partsReader struct {
	parts [][]byte
	i     int // the part being read
}

// left is how many bytes are not read yet.
func (r *partsReader) left() int {
	n := 0
	for _, p := range r.parts[r.i:] {
		n += len(p)
	}
	return n
}

// next drops the parts read to their end.
func (r *partsReader) next() {
	for r.i < len(r.parts) && len(r.parts[r.i]) == 0 {
		r.i++
	}
}

// line returns the next line, without its newline; false when no newline
// is left.
func (r *partsReader) line() (string, bool) {
	var acc []byte
	for r.next(); r.i < len(r.parts); r.next() {
		p := r.parts[r.i]
		for k, c := range p {
			if c == '\n' {
				acc = append(acc, p[:k]...)
				r.parts[r.i] = p[k+1:]
				return string(acc), true
			}
		}
		acc = append(acc, p...)
		r.parts[r.i] = nil
	}
	return "", false
}

// take returns the next n bytes (the caller checked that n are left): a
// slice of a part when they lie in one, else a copy.
func (r *partsReader) take(n int) []byte {
	r.next()
	if n == 0 {
		return []byte{}
	}
	if p := r.parts[r.i]; len(p) >= n {
		r.parts[r.i] = p[n:]
		return p[:n:n]
	}
	out := make([]byte, 0, n)
	for len(out) < n {
		r.next()
		p := r.parts[r.i]
		k := min(len(p), n-len(out))
		out = append(out, p[:k]...)
		r.parts[r.i] = p[k:]
	}
	return out
}

// keepPyc keeps the compiler's output in the cache under key, in the
// background (counted in wg), from its parts; a failure only costs the
// next build the compile.
func keepPyc(cache DerivedCache, wg *sync.WaitGroup, key string, parts [][]byte) {
	if cache == nil || key == "" {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if sc, ok := cache.(StreamCache); ok {
			_ = sc.PutFrom(key, func(w io.Writer) error {
				for _, p := range parts {
					if _, err := w.Write(p); err != nil {
						return err
					}
				}
				return nil
			})
			return
		}
		_ = cache.Put(key, bytes.Join(parts, nil))
	}()
}
