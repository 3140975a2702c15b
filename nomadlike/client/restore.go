package client

import (
	"context"
	"os"
	"path/filepath"
)

// restore recreates alloc runners from local state; their task runners
// re-attach to running tasks with the drivers' RecoverTask.
func (c *Client) restore(ctx context.Context) error {
	allocs, err := c.db.Allocs()
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, ra := range allocs {
		known[ra.Alloc.ID] = true
	}
	c.sweepTaskState(known)
	// Networks of allocations this client no longer knows (removed while
	// it was down, or set up just before it died) are torn down.
	if err := c.networks.Sweep(ctx, func(id string) bool { return known[id] }); err != nil {
		c.cfg.Logger.Error("tear down the networks of forgotten allocations", "error", err)
	}
	for _, ra := range allocs {
		c.cfg.Logger.Info("restoring allocation from local state", "alloc_id", ra.Alloc.ID, "tasks_with_handles", len(ra.Handles))
		c.startAlloc(ctx, ra.Alloc, ra)
	}
	return nil
}

// sweepTaskState removes the task state dirs (DataDir/client/tasks/<alloc>)
// of allocations the local state no longer holds: earlier versions left
// them behind when an allocation was collected.
func (c *Client) sweepTaskState(known map[string]bool) {
	root := c.stateRoot()
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || known[e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			c.cfg.Logger.Warn("remove task state of a forgotten allocation", "alloc_id", e.Name(), "error", err)
		}
	}
}

// stateRoot is where drivers keep per-task state: DataDir/client/tasks/<alloc>/<task>.
func (c *Client) stateRoot() string { return filepath.Join(c.cfg.DataDir, "client", "tasks") }
