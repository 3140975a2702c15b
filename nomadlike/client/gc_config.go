package client

import "time"

// GCConfig is the client's garbage collection of terminal allocations
// (client { gc_interval, gc_max_allocs, gc_disk_usage_threshold,
// gc_inode_usage_threshold }, as Nomad's). A zero field takes Nomad's default.
type GCConfig struct {
	// Interval is how often the client looks for allocations to destroy
	// (gc_interval, 1m).
	Interval time.Duration
	// MaxAllocs is how many terminal allocations the client keeps before
	// destroying the oldest (gc_max_allocs, 50).
	MaxAllocs int
	// DiskUsageThreshold is the usage (percent) of the file system holding
	// the allocation directories above which the oldest terminal
	// allocations are destroyed (gc_disk_usage_threshold, 80).
	DiskUsageThreshold float64
	// InodeUsageThreshold is the same for inodes
	// (gc_inode_usage_threshold, 70).
	InodeUsageThreshold float64
}

// Nomad's client garbage collection defaults.
const (
	DefaultGCInterval            = time.Minute
	DefaultGCMaxAllocs           = 50
	DefaultGCDiskUsageThreshold  = 80.0
	DefaultGCInodeUsageThreshold = 70.0
)

// withDefaults fills in the default of every zero field.
func (g GCConfig) withDefaults() GCConfig {
	if g.Interval <= 0 {
		g.Interval = DefaultGCInterval
	}
	if g.MaxAllocs <= 0 {
		g.MaxAllocs = DefaultGCMaxAllocs
	}
	if g.DiskUsageThreshold <= 0 {
		g.DiskUsageThreshold = DefaultGCDiskUsageThreshold
	}
	if g.InodeUsageThreshold <= 0 {
		g.InodeUsageThreshold = DefaultGCInodeUsageThreshold
	}
	return g
}
