package assemble

// Users and groups a layer adds to /etc/passwd and /etc/group, with their
// home directories.

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// Account is a user or a group a layer adds. A user (UID set) gets an
// /etc/passwd entry, its home directory (owned by it, mode 0700, unless
// the image has that directory already) and, when no group has its GID,
// a group of its name; a group (UID nil) an /etc/group entry.
type Account struct {
	Name  string
	UID   *int // nil for a group
	GID   int  // the user's primary group, or the group's ID
	Home  string
	Shell string
}

// validAccountName is what useradd accepts by default: a letter or "_"
// first, then letters, digits, "_", "-" and "." (a "$" last for machine
// accounts is not taken), at most 32 bytes.
func validAccountName(n string) bool {
	if n == "" || len(n) > 32 {
		return false
	}
	for i, c := range n {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// accountDB is /etc/passwd or /etc/group as the image has it.
type accountDB struct {
	lines []string
	names map[string]int // name → ID
	ids   map[int]string // ID → name
}

func parseAccounts(data []byte, idField int) accountDB {
	db := accountDB{names: map[string]int{}, ids: map[int]string{}}
	for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if l == "" {
			continue
		}
		db.lines = append(db.lines, l)
		f := strings.Split(l, ":")
		if len(f) <= idField {
			continue
		}
		id, err := strconv.Atoi(f[idField])
		if err != nil {
			continue
		}
		db.names[f[0]] = id
		if _, ok := db.ids[id]; !ok {
			db.ids[id] = f[0]
		}
	}
	return db
}

func (db *accountDB) bytes() []byte { return []byte(strings.Join(db.lines, "\n") + "\n") }

// placeAccounts adds the layer's accounts to the image's /etc/passwd and
// /etc/group. A name or an ID the image has already is an error naming
// both, except a user or group that is exactly one the image has (same
// name and IDs), which is left as it is.
func (b *build) placeAccounts(accts []Account) error {
	if len(accts) == 0 {
		return nil
	}
	f := treeFS{b.t}
	pw, err := f.ReadFile("/etc/passwd")
	if err != nil {
		return err
	}
	gr, err := f.ReadFile("/etc/group")
	if err != nil {
		return err
	}
	users, groups := parseAccounts(pw, 2), parseAccounts(gr, 2)
	var homes []File
	addGroup := func(name string, gid int, explicit bool) error {
		if id, ok := groups.names[name]; ok {
			if id == gid {
				return nil
			}
			return fmt.Errorf("group %s (GID %d): the image has a group %s already, with GID %d", name, gid, name, id)
		}
		if other, ok := groups.ids[gid]; ok {
			if !explicit {
				return nil // the user's primary group exists under its name
			}
			return fmt.Errorf("group %s (GID %d): GID %d is the image's group %s already", name, gid, gid, other)
		}
		groups.lines = append(groups.lines, fmt.Sprintf("%s:x:%d:", name, gid))
		groups.names[name], groups.ids[gid] = gid, name
		return nil
	}
	// Groups first: a user may name one of them as its primary group.
	for _, a := range accts {
		if a.UID != nil {
			continue
		}
		if !validAccountName(a.Name) {
			return fmt.Errorf("group %q: not a valid group name (a letter or _, then letters, digits, _, - or ., at most 32)", a.Name)
		}
		if a.GID < 0 {
			return fmt.Errorf("group %s: GID %d is negative", a.Name, a.GID)
		}
		if err := addGroup(a.Name, a.GID, true); err != nil {
			return err
		}
	}
	for _, a := range accts {
		if a.UID == nil {
			continue
		}
		uid := *a.UID
		switch {
		case !validAccountName(a.Name):
			return fmt.Errorf("user %q: not a valid user name (a letter or _, then letters, digits, _, - or ., at most 32)", a.Name)
		case uid < 0 || a.GID < 0:
			return fmt.Errorf("user %s: UID %d, GID %d: IDs must not be negative", a.Name, uid, a.GID)
		case a.Home != "" && !path.IsAbs(a.Home):
			return fmt.Errorf("user %s: home %q must be an absolute path", a.Name, a.Home)
		case a.Shell != "" && !path.IsAbs(a.Shell):
			return fmt.Errorf("user %s: shell %q must be an absolute path", a.Name, a.Shell)
		case strings.ContainsAny(a.Home+a.Shell, ":\n"):
			return fmt.Errorf("user %s: home and shell must not hold ':' or a newline", a.Name)
		}
		home, shell := a.Home, a.Shell
		if home == "" {
			home = "/home/" + a.Name
		}
		if shell == "" {
			shell = "/sbin/nologin"
		}
		if id, ok := users.names[a.Name]; ok {
			if id == uid && sameUser(users, a.Name, uid, a.GID) {
				continue // exactly the image's own
			}
			return fmt.Errorf("user %s (UID %d): the image has a user %s already, with UID %d", a.Name, uid, a.Name, id)
		}
		if other, ok := users.ids[uid]; ok {
			return fmt.Errorf("user %s (UID %d): UID %d is the image's user %s already", a.Name, uid, uid, other)
		}
		if err := addGroup(a.Name, a.GID, false); err != nil {
			return err
		}
		users.lines = append(users.lines, fmt.Sprintf("%s:x:%d:%d:%s:%s:%s", a.Name, uid, a.GID, a.Name, path.Clean(home), shell))
		users.names[a.Name], users.ids[uid] = uid, a.Name
		if !b.t.exists(home) {
			homes = append(homes, File{Path: path.Clean(home), Mode: fs.ModeDir | 0o700, UID: uid, GID: a.GID})
		}
	}
	b.t.placeFile(File{Path: "/etc/passwd", Mode: 0o644, Data: users.bytes()})
	b.t.placeFile(File{Path: "/etc/group", Mode: 0o644, Data: groups.bytes()})
	for _, h := range homes {
		b.t.placeFile(h)
	}
	return nil
}

// sameUser reports whether the image's user name has UID uid and primary
// GID gid.
func sameUser(db accountDB, name string, uid, gid int) bool {
	for _, l := range db.lines {
		f := strings.Split(l, ":")
		if len(f) > 3 && f[0] == name {
			return f[2] == strconv.Itoa(uid) && f[3] == strconv.Itoa(gid)
		}
	}
	return false
}
