// Package allocdir lays out an allocation's directory as Nomad does:
//
//	<root>/<allocID>/alloc/{logs,data,tmp}    shared by the group's tasks
//	<root>/<allocID>/<task>/{local,secrets,tmp} one per task
//
// It only creates and removes directories; it knows nothing of tasks' lives.
package allocdir

import (
	"fmt"
	"os"
	"path/filepath"
)

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

// TaskDir is <Dir>/<task>.
func (d *AllocDir) TaskDir(task string) string { return filepath.Join(d.Dir, task) }

// Build creates the shared directories. It is idempotent.
func (d *AllocDir) Build() error {
	for _, sub := range []string{"logs", "data", "tmp"} {
		p := filepath.Join(d.SharedDir(), sub)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("build alloc dir: %w", err)
		}
	}
	// tmp is world-writable with the sticky bit, as /tmp.
	if err := os.Chmod(filepath.Join(d.SharedDir(), "tmp"), 0o1777|os.ModeSticky); err != nil {
		return fmt.Errorf("build alloc dir: %w", err)
	}
	return nil
}

// BuildTask creates <Dir>/<task>/{local,secrets,tmp} and returns the task dir.
// secrets is readable by its owner only. It is idempotent.
func (d *AllocDir) BuildTask(task string) (string, error) {
	td := d.TaskDir(task)
	modes := map[string]os.FileMode{"local": 0o755, "secrets": 0o700, "tmp": 0o1777 | os.ModeSticky}
	for sub, mode := range modes {
		p := filepath.Join(td, sub)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", fmt.Errorf("build task dir for %q: %w", task, err)
		}
		if err := os.Chmod(p, mode); err != nil {
			return "", fmt.Errorf("build task dir for %q: %w", task, err)
		}
	}
	return td, nil
}

// Destroy removes the whole tree.
func (d *AllocDir) Destroy() error {
	if err := os.RemoveAll(d.Dir); err != nil {
		return fmt.Errorf("remove alloc dir: %w", err)
	}
	return nil
}
