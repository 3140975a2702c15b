package allocdir

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// secretsTmpfsOptions are the secrets dir's tmpfs options (Nomad's size).
const secretsTmpfsOptions = "size=1m,mode=0700"

// MountSecrets mounts a tmpfs on <task>/secrets, so what is rendered there
// (templates, identity tokens) never reaches the disk. It needs root; when
// it cannot mount, the directory stays as it is and the reason is
// returned for the caller to log. It is idempotent: an existing mount is
// kept. The mount target is the directory opened without leaving the
// allocation directory, so a symlink the task planted cannot redirect it.
func (d *AllocDir) MountSecrets(task string) (mounted bool, why string, err error) {
	if os.Getenv(SecretsTmpfsEnv) == "0" {
		return false, SecretsTmpfsEnv + "=0 turns the tmpfs off", nil
	}
	if os.Geteuid() != 0 {
		return false, "the client does not run as root, so it cannot mount a tmpfs", nil
	}
	root, err := d.OpenRoot()
	if err != nil {
		return false, "", err
	}
	defer root.Close()
	rel := task + "/secrets"
	dir, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return false, "", fmt.Errorf("open %s: %w", rel, err)
	}
	defer dir.Close()
	if isMountPoint(d.TaskDir(task), dir) {
		return true, "", nil
	}
	target := "/proc/self/fd/" + strconv.Itoa(int(dir.Fd()))
	if err := unix.Mount("tmpfs", target, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, secretsTmpfsOptions); err != nil {
		return false, fmt.Sprintf("mounting a tmpfs on %s failed: %v", filepath.Join(d.Dir, rel), err), nil
	}
	return true, "", nil
}

// isMountPoint reports whether dir (opened) is on another device than its
// parent path.
func isMountPoint(parent string, dir *os.File) bool {
	var st, pst unix.Stat_t
	if unix.Fstat(int(dir.Fd()), &st) != nil || unix.Lstat(parent, &pst) != nil {
		return false
	}
	return st.Dev != pst.Dev
}

// UnmountSecrets unmounts every task's secrets tmpfs: when the tasks are
// dead, and before the tree is removed (a mounted directory cannot be).
func (d *AllocDir) UnmountSecrets() error {
	entries, err := os.ReadDir(d.Dir)
	if err != nil {
		return nil // nothing to unmount
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "alloc" {
			continue
		}
		p := filepath.Join(d.Dir, e.Name(), "secrets")
		var st, pst unix.Stat_t
		if unix.Lstat(p, &st) != nil || unix.Lstat(filepath.Dir(p), &pst) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Dev == pst.Dev {
			continue
		}
		if err := unix.Unmount(p, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW); err != nil {
			return fmt.Errorf("unmount the secrets tmpfs %s: %w", p, err)
		}
	}
	return nil
}
