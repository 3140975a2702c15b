package qemu

import (
	"context"
	"fmt"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var _ drivers.StatsDriver = (*Driver)(nil)

// TaskStats reports the QEMU process's memory (RSS: the guest's touched
// memory plus QEMU's own) and CPU use (all vCPU and I/O threads), read from
// /proc as raw_exec does, with CPU rates over the interval since the last
// call.
func (d *Driver) TaskStats(ctx context.Context, taskID string) (*structs.TaskResourceUsage, error) {
	t, err := d.tasks.Running(taskID, "resource usage")
	if err != nil {
		return nil, err
	}
	u, err := t.Usage.TreeStats(ctx, t.PID)
	if err != nil {
		if t.HasExited() {
			return nil, structs.NewConflict("resource usage: VM %q has exited", taskID)
		}
		return nil, fmt.Errorf("resource usage of VM %q: %w", taskID, err)
	}
	return u, nil
}
