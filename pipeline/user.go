package pipeline

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/profiles"
)

// User is the image's user and working directory (ParseUser).
type User struct {
	given         string // as ParseUser was given it
	user, workdir string
	flag          bool // given: it wins over the profile's
	// Account, when set, is the user added to the top layer.
	Account *assemble.Account
}

// ParseUser maps a user to the config's user and working directory: nonroot
// and root (and their UIDs 65532 and 0, and nobody's 65534) are the
// image's own users; another numeric UID N is a user named userN, and
// NAME:UID[:GID] the user NAME, either added to /etc/passwd with a home
// /home/NAME that is the working directory.
func ParseUser(u string) (User, error) {
	pu, err := parseUser(u)
	pu.given = u
	return pu, err
}

// Nonroot is the image's default user, nonroot (65532), as given.
func Nonroot() User {
	return User{user: "65532:65532", workdir: "/home/nonroot", flag: true}
}

func parseUser(u string) (User, error) {
	switch u {
	case "", "nonroot":
		return User{user: "65532:65532", workdir: "/home/nonroot", flag: u != ""}, nil
	case "root":
		return User{user: "0:0", workdir: "/", flag: true}, nil
	}
	bad := fmt.Errorf("user %q: want nonroot, root, a numeric UID or NAME:UID[:GID]", u)
	id := func(s string) (int, bool) {
		n, err := strconv.ParseUint(s, 10, 31)
		return int(n), err == nil && strconv.FormatUint(n, 10) == s
	}
	name, uid, gid := "", 0, 0
	if f := strings.Split(u, ":"); len(f) == 1 {
		n, ok := id(u)
		if !ok {
			return User{}, bad
		}
		switch n {
		case 0:
			return User{user: "0:0", workdir: "/", flag: true}, nil
		case 65532:
			return User{user: "65532:65532", workdir: "/home/nonroot", flag: true}, nil
		case 65534:
			return User{user: "65534:65534", workdir: "/", flag: true}, nil
		}
		name, uid, gid = fmt.Sprintf("user%d", n), n, n
	} else {
		if len(f) > 3 || !validUserName(f[0]) {
			return User{}, bad
		}
		var ok bool
		if uid, ok = id(f[1]); !ok {
			return User{}, bad
		}
		gid = uid
		if len(f) == 3 {
			if gid, ok = id(f[2]); !ok {
				return User{}, bad
			}
		}
		name = f[0]
		if b, err := parseUser(name); name == "root" || name == "nonroot" {
			if b.user != fmt.Sprintf("%d:%d", uid, gid) {
				return User{}, fmt.Errorf("user %q: the image's %s is %s", u, name, b.user)
			}
			return b, err
		}
	}
	home := "/home/" + name
	return User{user: fmt.Sprintf("%d:%d", uid, gid), workdir: home, flag: true,
		Account: &assemble.Account{Name: name, UID: &uid, GID: gid, Home: home}}, nil
}

// validUserName is a user name ParseUser takes: a lower-case letter or "_",
// then lower-case letters, digits, "_", "-" and ".", at most 32.
func validUserName(s string) bool {
	if s == "" || len(s) > 32 || s == "nonroot" || s == "root" {
		return s == "nonroot" || s == "root"
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// with returns the user and working directory of an image of a profile
// with config cfg: the profile's own, each when it sets it and the user
// was not given.
func (u User) with(cfg profiles.Config) (user, workdir string) {
	user, workdir = u.user, u.workdir
	if cfg.User != "" && !u.flag {
		user = cfg.User
	}
	if cfg.Workdir != "" && !u.flag {
		workdir = cfg.Workdir
	}
	return user, workdir
}
