package structs

import "time"

// NodeUsageReport is a client's periodic report of its running
// allocations' resource usage (PUT /v1/node/{id}/usage), which the leader's
// autoscaler reads (the nomad-apm queries: cpu, memory, cpu-allocated,
// memory-allocated). Servers keep it in memory only: it is gone after a
// leader change until the clients' next report.
type NodeUsageReport struct {
	Allocs map[string]*AllocUsage
}

// AllocUsage is one allocation's resource usage, summed over its tasks.
type AllocUsage struct {
	// CPUPercent is the CPU used, in percent of one core, as the
	// allocation's stats report it; CPUMHz the same in MHz (TotalTicks).
	CPUPercent, CPUMHz float64
	// MemoryBytes is the memory in use (RSS, or the cgroup's usage).
	MemoryBytes uint64
	// Timestamp is when the client measured it (Unix nanoseconds).
	Timestamp int64
}

// ScalingDecision is the built-in autoscaler's last evaluation of a policy:
// what it measured, what it decided and why (also for "no change"). GET
// /v1/scaling/policy/{id} adds it to the policy as LastDecision.
type ScalingDecision struct {
	Time     time.Time
	Check    string `json:",omitempty"`
	Query    string `json:",omitempty"`
	Metric   *float64
	Current  int64
	Desired  int64
	Action   string // "scale-up", "scale-down", "none", "skipped", "error"
	Reason   string
	EvalID   string `json:",omitempty"`
	Strategy string `json:",omitempty"`
}
