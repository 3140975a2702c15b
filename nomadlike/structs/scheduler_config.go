package structs

// Scheduler algorithms: how the scheduler ranks nodes that fit.
const (
	// SchedulerAlgorithmBinpack prefers the fullest nodes (the default).
	SchedulerAlgorithmBinpack = "binpack"
	// SchedulerAlgorithmSpread prefers the emptiest nodes.
	SchedulerAlgorithmSpread = "spread"
)

// SchedulerConfig is the cluster-wide scheduler configuration an operator
// sets (Nomad's SchedulerConfiguration). The zero value is not the default:
// DefaultSchedulerConfig is.
type SchedulerConfig struct {
	// SchedulerAlgorithm is "binpack" or "spread"; empty means binpack.
	SchedulerAlgorithm string
	// PreemptionConfig says for which job types the scheduler may evict
	// lower-priority allocations to place higher-priority ones.
	PreemptionConfig PreemptionConfig
	// PauseEvalBroker pauses the leader's evaluation broker: evaluations
	// stay pending and no scheduler runs until it is false again (Nomad's
	// `operator scheduler set-config -pause-eval-broker`; needed to delete
	// evaluations).
	PauseEvalBroker bool
	CreateIndex     uint64
	ModifyIndex     uint64
}

// PreemptionConfig enables preemption per scheduler type.
type PreemptionConfig struct {
	SystemSchedulerEnabled   bool
	SysBatchSchedulerEnabled bool
	BatchSchedulerEnabled    bool
	ServiceSchedulerEnabled  bool
}

// DefaultSchedulerConfig is Nomad's default: bin-packing, and preemption for
// system jobs only.
func DefaultSchedulerConfig() *SchedulerConfig {
	return &SchedulerConfig{
		SchedulerAlgorithm: SchedulerAlgorithmBinpack,
		PreemptionConfig:   PreemptionConfig{SystemSchedulerEnabled: true},
	}
}

// Algorithm returns the ranking algorithm, binpack when unset.
func (c *SchedulerConfig) Algorithm() string {
	if c == nil || c.SchedulerAlgorithm == "" {
		return SchedulerAlgorithmBinpack
	}
	return c.SchedulerAlgorithm
}

// PreemptionEnabled reports whether the scheduler of jobType may preempt.
// A nil config means the defaults.
func (c *SchedulerConfig) PreemptionEnabled(jobType string) bool {
	if c == nil {
		c = DefaultSchedulerConfig()
	}
	p := c.PreemptionConfig
	switch jobType {
	case JobTypeSystem:
		return p.SystemSchedulerEnabled
	case JobTypeSysBatch:
		return p.SysBatchSchedulerEnabled
	case JobTypeBatch:
		return p.BatchSchedulerEnabled
	case JobTypeService:
		return p.ServiceSchedulerEnabled
	}
	return false
}

// Validate checks the algorithm name.
func (c *SchedulerConfig) Validate() error {
	var v ValidationError
	switch c.SchedulerAlgorithm {
	case "", SchedulerAlgorithmBinpack, SchedulerAlgorithmSpread:
	default:
		v.add("SchedulerAlgorithm", "unknown algorithm %q (use %q or %q)", c.SchedulerAlgorithm, SchedulerAlgorithmBinpack, SchedulerAlgorithmSpread)
	}
	return v.err()
}

// Copy returns a copy of c.
func (c *SchedulerConfig) Copy() *SchedulerConfig {
	if c == nil {
		return nil
	}
	n := *c
	return &n
}
