package rawexec

import (
	"fmt"
	"os"
	"os/user"
	"strconv"

	"github.com/nomadlike/nomadlike/drivers/supervisor"
)

// credential resolves the task's user. It returns nil (run as the agent's
// user) when name is empty or is the agent's own user.
func credential(name string) (*supervisor.Credential, error) {
	if name == "" {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("task user %q: %w; create the user on this host or change the task's user", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("task user %q has non-numeric uid %q", name, u.Uid)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("task user %q has non-numeric gid %q", name, u.Gid)
	}
	if os.Geteuid() != 0 {
		if int(uid) == os.Geteuid() {
			return nil, nil
		}
		return nil, fmt.Errorf("task user %q: running a task as another user needs the client to run as root (it runs as uid %d)", name, os.Geteuid())
	}
	cred := &supervisor.Credential{UID: uint32(uid), GID: uint32(gid)}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("task user %q: list groups: %w", name, err)
	}
	for _, g := range gids {
		n, err := strconv.ParseUint(g, 10, 32)
		if err == nil {
			cred.Groups = append(cred.Groups, uint32(n))
		}
	}
	return cred, nil
}
