package client

import (
	"context"
)

// restore recreates alloc runners from local state; their task runners
// re-attach to running tasks with the drivers' RecoverTask.
func (c *Client) restore(ctx context.Context) error {
	allocs, err := c.db.Allocs()
	if err != nil {
		return err
	}
	for _, ra := range allocs {
		c.cfg.Logger.Info("restoring allocation from local state", "alloc_id", ra.Alloc.ID, "tasks_with_handles", len(ra.Handles))
		c.startAlloc(ctx, ra.Alloc, ra)
	}
	return nil
}
