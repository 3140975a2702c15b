package server

import "time"

// GCConfig is the server's garbage collection (server { job_gc_interval,
// job_gc_threshold, eval_gc_threshold, batch_eval_gc_threshold,
// deployment_gc_threshold, node_gc_threshold }, as Nomad's). A zero field
// takes Nomad's default.
type GCConfig struct {
	// Interval is how often the leader collects (job_gc_interval, 5m).
	Interval time.Duration
	// JobThreshold is how long a dead job is kept (job_gc_threshold, 4h).
	JobThreshold time.Duration
	// EvalThreshold is how long a terminal evaluation of a service or
	// system job is kept (eval_gc_threshold, 1h).
	EvalThreshold time.Duration
	// BatchEvalThreshold is eval_gc_threshold for batch jobs
	// (batch_eval_gc_threshold, 24h).
	BatchEvalThreshold time.Duration
	// DeploymentThreshold is how long a finished deployment is kept
	// (deployment_gc_threshold, 1h).
	DeploymentThreshold time.Duration
	// NodeThreshold is how long a down node is kept (node_gc_threshold, 24h).
	NodeThreshold time.Duration
}

// Nomad's garbage collection defaults.
const (
	DefaultJobGCInterval         = 5 * time.Minute
	DefaultJobGCThreshold        = 4 * time.Hour
	DefaultEvalGCThreshold       = time.Hour
	DefaultBatchEvalGCThreshold  = 24 * time.Hour
	DefaultDeploymentGCThreshold = time.Hour
	DefaultNodeGCThreshold       = 24 * time.Hour
)

// withDefaults fills in Nomad's default for every zero (or negative) field.
func (c GCConfig) withDefaults() GCConfig {
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&c.Interval, DefaultJobGCInterval)
	set(&c.JobThreshold, DefaultJobGCThreshold)
	set(&c.EvalThreshold, DefaultEvalGCThreshold)
	set(&c.BatchEvalThreshold, DefaultBatchEvalGCThreshold)
	set(&c.DeploymentThreshold, DefaultDeploymentGCThreshold)
	set(&c.NodeThreshold, DefaultNodeGCThreshold)
	return c
}

// gcCutoffs are, for each kind of object, the newest modify time (unix
// nanoseconds) an object may have to be old enough to collect.
type gcCutoffs struct {
	job, eval, batchEval, deployment, node int64
}

// cutoffs returns the cutoffs of a pass at now; a forced pass (thresholds
// of zero, `system gc`) accepts every terminal object whatever its age.
func (c GCConfig) cutoffs(now time.Time, force bool) gcCutoffs {
	if force {
		const all = int64(^uint64(0) >> 1)
		return gcCutoffs{job: all, eval: all, batchEval: all, deployment: all, node: all}
	}
	at := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	return gcCutoffs{
		job: at(c.JobThreshold), eval: at(c.EvalThreshold), batchEval: at(c.BatchEvalThreshold),
		deployment: at(c.DeploymentThreshold), node: at(c.NodeThreshold),
	}
}
