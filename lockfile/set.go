package lockfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/distroless-dev/distroless/internal/atomicfile"
)

// Set is the lockfile of several images (a release matrix): one Lock per
// profile, distro and architecture. An image's user does not change its
// packages, so the users of one profile share an entry; a debug variant
// is a profile of its own (PROFILE-debug).
type Set struct {
	Version int     `json:"version"`
	Locks   []*Lock `json:"locks"`
	// Single says the file held one image's lockfile (the form gen --lock
	// reads and writes, of one platform or several), which WriteSet keeps
	// while the set holds one image (one profile on one distro).
	Single bool `json:"-"`
}

// Key is the entry a lock fills in a Set: the profile as it was asked
// for (python3, not python3.13), the distro and the architecture.
func (l *Lock) Key() string {
	p := l.Requested
	if p == "" {
		p = l.Profile
	}
	return SetKey(p, l.Distro, l.Arch)
}

// SetKey is the Key of a lock of profile (as asked for) on distro and arch.
func SetKey(profile, distro, arch string) string { return profile + " " + distro + " " + arch }

// Find returns the lock with the key, or nil.
func (s *Set) Find(key string) *Lock {
	for _, l := range s.Locks {
		if l.Key() == key {
			return l
		}
	}
	return nil
}

// Put adds a lock, replacing the one with the same key, and keeps the
// locks sorted by key (so that the file does not change with the order
// images are built in).
func (s *Set) Put(l *Lock) {
	for i, o := range s.Locks {
		if o.Key() == l.Key() {
			s.Locks[i] = l
			return
		}
	}
	s.Locks = append(s.Locks, l)
	sort.SliceStable(s.Locks, func(i, j int) bool { return s.Locks[i].Key() < s.Locks[j].Key() })
}

// ReadSet reads a lockfile of several images, or one image's lockfile as
// a set of one (Single). Each lock is checked as Read checks one, and no
// two may have the same key.
func ReadSet(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("lockfile %s: %w", path, err)
	}
	if _, ok := probe["locks"]; !ok {
		l, err := Read(path)
		if err != nil {
			return nil, err
		}
		// One image's lockfile; one of several platforms (version 2)
		// is a lock per platform.
		s := &Set{Version: Version, Single: true}
		s.Locks = l.Split() // in the file's order, which WriteSet keeps
		return s, nil
	}
	var s Set
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("lockfile %s: %w", path, err)
	}
	if s.Version != Version {
		return nil, fmt.Errorf("lockfile %s: version %d, this tool reads version %d", path, s.Version, Version)
	}
	seen := map[string]bool{}
	for i, l := range s.Locks {
		if l == nil {
			return nil, fmt.Errorf("lockfile %s: locks[%d] is null", path, i)
		}
		if err := l.check(fmt.Sprintf("%s: locks[%d]", path, i)); err != nil {
			return nil, err
		}
		if l.Version != Version {
			return nil, fmt.Errorf("lockfile %s: locks[%d]: each lock of a set is of one platform (version %d), not version %d", path, i, Version, l.Version)
		}
		if seen[l.Key()] {
			return nil, fmt.Errorf("lockfile %s: locks[%d]: %s on %s (%s) is locked twice", path, i, l.Profile, l.Distro, l.Arch)
		}
		seen[l.Key()] = true
	}
	return &s, nil
}

// WriteSet writes a set atomically (temporary file and rename): as one
// image's lockfile when it was read as one and still holds one lock,
// else as a set.
func WriteSet(path string, s *Set) error {
	if s.Single && len(s.Locks) > 0 {
		// Still one image (one profile on one distro, one lock per
		// platform): one lockfile, of version 2 for several platforms.
		first := s.Locks[0]
		one := true
		for _, l := range s.Locks {
			one = one && l.Profile == first.Profile && l.Requested == first.Requested && l.Distro == first.Distro
		}
		if one {
			l, err := Merge(s.Locks)
			if err != nil {
				return err
			}
			return Write(path, l)
		}
	}
	s.Version = Version
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(data, '\n'), atomicfile.Options{MkdirAll: true})
}
