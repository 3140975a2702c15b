package client

import (
	"context"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// RestartAlloc restarts a task of an allocation on this node in place, or
// every running task when task is empty (all is Nomad's AllTasks, which
// must not name a task). User restarts do not count against the restart
// policy. An unknown allocation is a 404; an unknown or stopped task a 400.
func (c *Client) RestartAlloc(ctx context.Context, allocID, task string, all bool) error {
	if all && task != "" {
		return structs.NewBadRequest("restart allocation %s: AllTasks restarts every task and cannot be combined with TaskName %q; send one or the other", structs.ShortID(allocID), task)
	}
	e, err := c.entry(allocID)
	if err != nil {
		return err
	}
	return e.runner.Restart(ctx, task)
}

// SignalAlloc sends signal (a name such as "SIGHUP") to a task of an
// allocation on this node, or to every running task when task is empty.
func (c *Client) SignalAlloc(ctx context.Context, allocID, task, signal string) error {
	e, err := c.entry(allocID)
	if err != nil {
		return err
	}
	return e.runner.Signal(ctx, task, signal)
}

// LocalAlloc returns an allocation this client runs, nil if it runs no such
// one (the HTTP API authorizes client endpoints with its namespace and job).
func (c *Client) LocalAlloc(allocID string) *structs.Allocation {
	e, err := c.entry(allocID)
	if err != nil {
		return nil
	}
	return e.runner.Alloc()
}
