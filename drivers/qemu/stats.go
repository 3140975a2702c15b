package qemu

import (
	"context"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var _ drivers.StatsDriver = (*Driver)(nil)

// TaskStats reports the QEMU process's memory (RSS: the guest's touched
// memory plus QEMU's own) and CPU use (all vCPU and I/O threads), read from
// /proc as raw_exec does, with CPU rates over the interval since the last
// call.
func (d *Driver) TaskStats(ctx context.Context, taskID string) (*structs.TaskResourceUsage, error) {
	return d.tasks.TreeStats(ctx, taskID, "VM")
}
