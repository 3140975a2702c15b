package structs

// Resource usage of allocations, tasks and hosts, in Nomad's JSON shapes
// (GET /v1/client/allocation/{id}/stats and GET /v1/client/stats).

// MemoryStats is a task's memory use in bytes. Measured names the fields the
// driver really measured ("RSS", "Cache", "Usage", "Max Usage", ...); the
// others are zero.
type MemoryStats struct {
	RSS            uint64
	Cache          uint64
	Swap           uint64
	MappedFile     uint64
	Usage          uint64
	MaxUsage       uint64
	KernelUsage    uint64
	KernelMaxUsage uint64
	Measured       []string
}

// CpuStats is a task's CPU use over the last sampling interval. Percent is
// of one core (200 is two cores busy); SystemMode and UserMode split it.
// TotalTicks is the MHz consumed (Percent/100 times one core's MHz), the
// unit of resources.cpu.
type CpuStats struct { //nolint:revive // Nomad's name
	SystemMode       float64
	UserMode         float64
	TotalTicks       float64
	ThrottledPeriods uint64
	ThrottledTime    uint64
	Percent          float64
	Measured         []string
}

// ResourceUsage is memory and CPU use.
type ResourceUsage struct {
	MemoryStats *MemoryStats
	CpuStats    *CpuStats
	// DeviceStats is always empty: nomadlike has no device plugins.
	DeviceStats []any
}

// TaskResourceUsage is one task's usage; Pids, when the driver sees
// processes, breaks it down per process id. Timestamp is Unix nanoseconds.
type TaskResourceUsage struct {
	ResourceUsage *ResourceUsage
	Timestamp     int64
	Pids          map[string]*ResourceUsage
}

// AllocResourceUsage is an allocation's usage: the sum of its running
// tasks, and each task's.
type AllocResourceUsage struct {
	ResourceUsage *ResourceUsage
	Tasks         map[string]*TaskResourceUsage
	Timestamp     int64
}

// Add adds u's memory and CPU to r (for sums over tasks or processes).
func (r *ResourceUsage) Add(u *ResourceUsage) {
	if u == nil {
		return
	}
	if u.MemoryStats != nil {
		if r.MemoryStats == nil {
			r.MemoryStats = &MemoryStats{}
		}
		m, o := r.MemoryStats, u.MemoryStats
		m.RSS += o.RSS
		m.Cache += o.Cache
		m.Swap += o.Swap
		m.MappedFile += o.MappedFile
		m.Usage += o.Usage
		m.MaxUsage += o.MaxUsage
		m.KernelUsage += o.KernelUsage
		m.KernelMaxUsage += o.KernelMaxUsage
		m.Measured = mergeNames(m.Measured, o.Measured)
	}
	if u.CpuStats != nil {
		if r.CpuStats == nil {
			r.CpuStats = &CpuStats{}
		}
		c, o := r.CpuStats, u.CpuStats
		c.SystemMode += o.SystemMode
		c.UserMode += o.UserMode
		c.TotalTicks += o.TotalTicks
		c.ThrottledPeriods += o.ThrottledPeriods
		c.ThrottledTime += o.ThrottledTime
		c.Percent += o.Percent
		c.Measured = mergeNames(c.Measured, o.Measured)
	}
}

// mergeNames appends the names of b missing from a.
func mergeNames(a, b []string) []string {
	for _, n := range b {
		found := false
		for _, m := range a {
			if m == n {
				found = true
				break
			}
		}
		if !found {
			a = append(a, n)
		}
	}
	return a
}

// HostStats is a client node's resource use (GET /v1/client/stats).
type HostStats struct {
	Memory        *HostMemoryStats
	CPU           []*HostCPUStats
	DiskStats     []*HostDiskStats
	AllocDirStats *HostDiskStats
	// DeviceStats is always empty: nomadlike has no device plugins.
	DeviceStats []any
	// Uptime is the host's uptime in seconds.
	Uptime uint64
	// Timestamp is when the stats were taken, Unix nanoseconds.
	Timestamp int64
	// CPUTicksConsumed is the MHz all cores used over the sampling interval.
	CPUTicksConsumed float64
}

// HostMemoryStats is the host's memory in bytes.
type HostMemoryStats struct {
	Total     uint64
	Available uint64
	Used      uint64
	Free      uint64
}

// HostCPUStats is one core's use over the sampling interval, in percent.
type HostCPUStats struct {
	CPU    string
	User   float64
	System float64
	Idle   float64
}

// HostDiskStats is one mounted filesystem's use.
type HostDiskStats struct {
	Device            string
	Mountpoint        string
	Size              uint64
	Used              uint64
	Available         uint64
	UsedPercent       float64
	InodesUsedPercent float64
}

// AllocRestartRequest is the body of PUT /v1/client/allocation/{id}/restart:
// one task by name, or (TaskName empty) every running task.
type AllocRestartRequest struct {
	TaskName string
	AllTasks bool
}

// AllocSignalRequest is the body of PUT /v1/client/allocation/{id}/signal:
// Signal (a name such as "SIGHUP") to Task, or to every running task when
// Task is empty.
type AllocSignalRequest struct {
	Task   string
	Signal string
}
