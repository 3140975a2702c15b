package client

import (
	"context"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// DefaultUsageReportInterval is how often a client reports its running
// allocations' usage to the servers (the autoscaler's nomad-apm source).
const DefaultUsageReportInterval = 10 * time.Second

// usageLoop reports the usage of the running autoscaled allocations every
// Config.UsageReportInterval until ctx ends. A failed report is logged at
// debug and dropped: the next one replaces it.
func (c *Client) usageLoop(ctx context.Context) {
	every := c.cfg.UsageReportInterval
	if every <= 0 {
		every = DefaultUsageReportInterval
	}
	select {
	case <-c.sess.Registered():
	case <-ctx.Done():
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		report := c.usageReport(ctx)
		if len(report.Allocs) == 0 {
			continue
		}
		srv := c.sess.server()
		if err := srv.ReportNodeUsage(ctx, c.id.NodeID, report); err != nil && ctx.Err() == nil {
			c.cfg.Logger.Debug("report allocation usage", "error", err)
			c.sess.serverFailed(srv)
		}
	}
}

// usageReport measures every running allocation whose group has a
// scaling policy.
func (c *Client) usageReport(ctx context.Context) *structs.NodeUsageReport {
	c.mu.Lock()
	ids := make([]string, 0, len(c.runners))
	for id, e := range c.runners {
		if st, _ := e.runner.Status(); st == structs.AllocClientStatusRunning && e.runner.Autoscaled() {
			ids = append(ids, id)
		}
	}
	c.mu.Unlock()
	out := &structs.NodeUsageReport{Allocs: make(map[string]*structs.AllocUsage, len(ids))}
	for _, id := range ids {
		st, err := c.AllocStats(ctx, id)
		if err != nil || st == nil || st.ResourceUsage == nil {
			continue
		}
		u := &structs.AllocUsage{Timestamp: st.Timestamp}
		if cs := st.ResourceUsage.CpuStats; cs != nil {
			u.CPUPercent, u.CPUMHz = cs.Percent, cs.TotalTicks
		}
		if ms := st.ResourceUsage.MemoryStats; ms != nil {
			u.MemoryBytes = ms.RSS
			if ms.Usage > 0 {
				u.MemoryBytes = ms.Usage
			}
		}
		out.Allocs[id] = u
	}
	return out
}
