package qemu

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
)

// checkUser refuses a task user other than the client's own: QEMU runs as
// the client agent's user, because it needs the task dir (for its QMP
// socket), the images and /dev/kvm, which another user may not reach.
func checkUser(name string) error {
	if name == "" {
		return nil
	}
	self := os.Geteuid()
	if u, err := user.Lookup(name); err == nil && u.Uid == strconv.Itoa(self) {
		return nil
	}
	if n, err := strconv.Atoi(name); err == nil && n == self {
		return nil
	}
	return fmt.Errorf("task user %q: the qemu driver runs QEMU as the client agent's user (uid %d) and cannot run it as another user; remove user from the task (users inside the guest are the guest's business)", name, self)
}
