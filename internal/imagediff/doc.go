// Package imagediff says how two images differ: layer by layer, then
// file by file (path, type, mode, owner, size, content digest, link
// target), then the config's fields. verify compares an image with its
// rebuild through it.
package imagediff
