// Package allocdir lays out an allocation's directory as Nomad does:
//
//	<root>/<allocID>/alloc/{logs,data,tmp}    shared by the group's tasks
//	<root>/<allocID>/<task>/{local,secrets,tmp} one per task
//
// Tasks are untrusted code that can write in alloc/ and in their own
// directory, so they can plant symlinks there. Everything this package does
// below <root>/<allocID> goes through an os.Root opened on the allocation
// directory: no path it builds, creates, changes or reads ever resolves to
// a file outside that directory (access.go has the read side, for the logs
// and file-system APIs).
package allocdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SecretsTmpfsEnv, set to "0" in a client's environment, keeps the tasks'
// secrets dirs plain directories (tests whose temporary data dirs are
// removed without the allocations being destroyed set it).
const SecretsTmpfsEnv = "NOMADLIKE_SECRETS_TMPFS"

// AllocDir is one allocation's directory tree.
type AllocDir struct {
	// Dir is <root>/<allocID>.
	Dir string
}

// New returns the directory of allocID under root (DataDir/alloc).
func New(root, allocID string) *AllocDir {
	return &AllocDir{Dir: filepath.Join(root, allocID)}
}

// SharedDir is <Dir>/alloc, NOMAD_ALLOC_DIR.
func (d *AllocDir) SharedDir() string { return filepath.Join(d.Dir, "alloc") }

// LogDir is <Dir>/alloc/logs, where every task's logs are written.
func (d *AllocDir) LogDir() string { return filepath.Join(d.Dir, "alloc", "logs") }

// TaskDir is <Dir>/<task>. The task name must be one path element
// (CheckTaskName); BuildTask refuses others.
func (d *AllocDir) TaskDir(task string) string { return filepath.Join(d.Dir, task) }

// CheckTaskName returns an error when task cannot name a directory inside
// the allocation directory: empty, ".", "..", or holding a slash or a NUL.
// The servers refuse such names at registration; this is the client's own
// check for allocations that reach it anyway.
func CheckTaskName(task string) error {
	if task == "" || task == "." || task == ".." || strings.ContainsAny(task, "/\\\x00") {
		return fmt.Errorf("task name %q cannot be used as a directory name (no '/', '\\', NUL, \".\" or \"..\")", task)
	}
	return nil
}

// OpenRoot opens the allocation directory as an os.Root, creating it first
// when missing. The caller closes it.
func (d *AllocDir) OpenRoot() (*os.Root, error) {
	if err := os.MkdirAll(d.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create alloc dir: %w", err)
	}
	r, err := os.OpenRoot(d.Dir)
	if err != nil {
		return nil, fmt.Errorf("open alloc dir: %w", err)
	}
	return r, nil
}

// Build creates the shared directories. It is idempotent, and a symlink a
// task planted in alloc/ (alloc/tmp -> /etc) makes it fail rather than
// create or chmod anything outside the allocation directory.
func (d *AllocDir) Build() error {
	root, err := d.OpenRoot()
	if err != nil {
		return fmt.Errorf("build alloc dir: %w", err)
	}
	defer root.Close()
	modes := map[string]os.FileMode{"alloc": 0o755, "alloc/logs": 0o755, "alloc/data": 0o755, "alloc/tmp": 0o1777 | os.ModeSticky}
	for _, sub := range []string{"alloc", "alloc/logs", "alloc/data", "alloc/tmp"} {
		if err := mkdirInRoot(root, sub, modes[sub]); err != nil {
			return fmt.Errorf("build alloc dir: %w", err)
		}
	}
	return nil
}

// BuildTask creates <Dir>/<task>/{local,secrets,tmp} and returns the task dir.
// secrets is readable by its owner only. It is idempotent, refuses a task
// name that is not one path element and, as Build, never leaves the
// allocation directory.
func (d *AllocDir) BuildTask(task string) (string, error) {
	if err := CheckTaskName(task); err != nil {
		return "", fmt.Errorf("build task dir: %w", err)
	}
	root, err := d.OpenRoot()
	if err != nil {
		return "", fmt.Errorf("build task dir for %q: %w", task, err)
	}
	defer root.Close()
	if err := mkdirInRoot(root, task, 0o755); err != nil {
		return "", fmt.Errorf("build task dir for %q: %w", task, err)
	}
	modes := map[string]os.FileMode{"local": 0o755, "secrets": 0o700, "tmp": 0o1777 | os.ModeSticky}
	for _, sub := range []string{"local", "secrets", "tmp"} {
		if err := mkdirInRoot(root, task+"/"+sub, modes[sub]); err != nil {
			return "", fmt.Errorf("build task dir for %q: %w", task, err)
		}
	}
	return d.TaskDir(task), nil
}

// mkdirInRoot makes sure rel is a directory (not a symlink) inside root
// with mode.
func mkdirInRoot(root *os.Root, rel string, mode os.FileMode) error {
	if err := root.Mkdir(rel, 0o755); err != nil && !os.IsExist(err) {
		return err
	}
	st, err := root.Lstat(rel)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is a %s, not a directory; it was replaced after the allocation started", rel, kind(st.Mode()))
	}
	return root.Chmod(rel, mode)
}

// kind names a file mode's type for messages.
func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeSymlink != 0:
		return "symlink"
	case m.IsRegular():
		return "regular file"
	case m&os.ModeNamedPipe != 0:
		return "named pipe"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// Destroy removes the whole tree, the tasks' secrets tmpfs unmounted first.
func (d *AllocDir) Destroy() error {
	if err := d.UnmountSecrets(); err != nil {
		return fmt.Errorf("remove alloc dir: %w", err)
	}
	if err := os.RemoveAll(d.Dir); err != nil {
		return fmt.Errorf("remove alloc dir: %w", err)
	}
	return nil
}

// UnmountAllSecrets unmounts the secrets tmpfs of every allocation under
// root (DataDir/alloc), for an agent that removes its data dir (-dev).
func UnmountAllSecrets(root string) error {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil // nothing mounted
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			errs = append(errs, New(root, e.Name()).UnmountSecrets())
		}
	}
	return errors.Join(errs...)
}
