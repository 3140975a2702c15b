package allocrunner

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
)

// allocDirHook builds the allocation's shared directories before any task runs.
type allocDirHook struct{ dir *allocdir.AllocDir }

func (h allocDirHook) Prerun() error {
	if err := h.dir.Build(); err != nil {
		return fmt.Errorf("alloc dir hook: %w", err)
	}
	return nil
}
