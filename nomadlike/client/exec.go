package client

import (
	"context"

	"github.com/nomadlike/nomadlike/drivers"
)

// ExecAlloc runs a command inside a running task of an allocation on this
// node (`alloc exec`) and returns its exit code. An unknown allocation is a
// 404; an unknown or stopped task, a driver without exec, or a command
// that cannot run is a 400.
func (c *Client) ExecAlloc(ctx context.Context, allocID, task string, req *drivers.ExecRequest) (int, error) {
	e, err := c.entry(allocID)
	if err != nil {
		return -1, err
	}
	return e.runner.Exec(ctx, task, req)
}

// CheckExec reports why ExecAlloc could not run a command in the task,
// without running one (the agent checks before upgrading to a websocket).
func (c *Client) CheckExec(allocID, task string) error {
	e, err := c.entry(allocID)
	if err != nil {
		return err
	}
	return e.runner.CheckExec(task)
}
