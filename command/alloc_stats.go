package command

import (
	"context"
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// allocUsage reads an allocation's resource usage for `alloc status -stats`.
// Failing to read it is not fatal: the status is still worth showing, so
// the reason is printed instead.
func (c *cli) allocUsage(ctx context.Context, cl *api.Client, a *structs.Allocation) *structs.AllocResourceUsage {
	if a.ClientStatus != structs.AllocClientStatusRunning {
		c.out("Resource usage: none (the allocation is %s, not running)\n", a.ClientStatus)
		return nil
	}
	u, err := cl.AllocStats(ctx, a.ID, c.query())
	if err != nil {
		c.out("Resource usage unavailable: %v\n(Usage is read from the client agent of node %s; it must be running and reachable.)\n", err, shortID(a.NodeID, false))
		return nil
	}
	return u
}

// taskUsage returns a task's usage, nil when not measured.
func taskUsage(u *structs.AllocResourceUsage, task string) *structs.TaskResourceUsage {
	if u == nil {
		return nil
	}
	tu := u.Tasks[task]
	if tu == nil || tu.ResourceUsage == nil {
		return nil
	}
	return tu
}

// showTaskUsage prints a task's usage against its allocation, then the
// detailed memory and CPU figures its driver measured, as Nomad's
// `alloc status -stats` does.
func (c *cli) showTaskUsage(tr *structs.AllocatedTaskResources, tu *structs.TaskResourceUsage) {
	ru := tu.ResourceUsage
	cpu, mem := "-", "-"
	var cs structs.CpuStats
	var ms structs.MemoryStats
	if ru.CpuStats != nil {
		cs = *ru.CpuStats
		cpu = fmt.Sprintf("%.0f/%d MHz (%.1f%%)", cs.TotalTicks, tr.Cpu.CpuShares, cs.Percent)
	}
	if ru.MemoryStats != nil {
		ms = *ru.MemoryStats
		used := ms.RSS
		if ms.Usage > 0 {
			used = ms.Usage
		}
		mem = fmt.Sprintf("%s/%s", formatBytes(used), formatMB(tr.Memory.MemoryMB))
	}
	writeTable(c.stdout, []string{"CPU", "Memory"}, [][]string{{cpu, mem}})
	if ru.MemoryStats != nil {
		c.out("\nMemory Stats")
		var hdr, row []string
		for _, f := range []struct {
			name string
			v    uint64
		}{{"RSS", ms.RSS}, {"Cache", ms.Cache}, {"Swap", ms.Swap}, {"Usage", ms.Usage}, {"Max Usage", ms.MaxUsage}, {"Kernel Usage", ms.KernelUsage}, {"Kernel Max Usage", ms.KernelMaxUsage}} {
			if measured(ms.Measured, f.name) {
				hdr, row = append(hdr, f.name), append(row, formatBytes(f.v))
			}
		}
		writeTable(c.stdout, hdr, [][]string{row})
	}
	if ru.CpuStats != nil {
		c.out("\nCPU Stats")
		hdr := []string{"Percent", "System Mode", "User Mode", "Total Ticks"}
		row := []string{fmt.Sprintf("%.2f%%", cs.Percent), fmt.Sprintf("%.2f%%", cs.SystemMode), fmt.Sprintf("%.2f%%", cs.UserMode), fmt.Sprintf("%.0f", cs.TotalTicks)}
		if measured(cs.Measured, "Throttled Periods") {
			hdr = append(hdr, "Throttled Periods", "Throttled Time")
			row = append(row, fmt.Sprint(cs.ThrottledPeriods), fmt.Sprint(cs.ThrottledTime))
		}
		writeTable(c.stdout, hdr, [][]string{row})
	}
}

func measured(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// formatBytes prints a byte count in binary units ("1.5 MiB").
func formatBytes(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit && exp < 4; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTP"[exp])
}
