package agent

import (
	"fmt"
	"math"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nomadlike/nomadlike/nomadlike/server"
)

// applyGC applies the server block's garbage collection keys, as Nomad's:
// job_gc_interval, job_gc_threshold, eval_gc_threshold,
// batch_eval_gc_threshold, deployment_gc_threshold, node_gc_threshold.
// An unset (or zero) key keeps Nomad's default. The leader collects
// everything in one pass, so eval_gc_interval, deployment_gc_interval and
// node_gc_interval, when set, only shorten the pass interval to the
// smallest one given. gc_heap_target is the server process's own Go
// garbage collection (gc_target.go).
func (s *fileServer) applyGC(c *Config) error {
	g := &c.Server.GC
	if err := setDuration(&g.Interval, s.JobGCInterval); err != nil {
		return err
	}
	for _, expr := range []hcl.Expression{s.EvalGCInterval, s.DeploymentGCInterval, s.NodeGCInterval} {
		var d time.Duration
		if err := setDuration(&d, expr); err != nil {
			return err
		}
		cur := g.Interval
		if cur == 0 {
			cur = server.DefaultJobGCInterval
		}
		if d > 0 && d < cur {
			g.Interval = d
		}
	}
	for _, k := range []struct {
		to   *time.Duration
		expr hcl.Expression
	}{
		{&g.JobThreshold, s.JobGCThreshold},
		{&g.EvalThreshold, s.EvalGCThreshold}, {&g.BatchEvalThreshold, s.BatchEvalGCThreshold},
		{&g.DeploymentThreshold, s.DeploymentGCThreshold}, {&g.NodeThreshold, s.NodeGCThreshold},
	} {
		if err := setDuration(k.to, k.expr); err != nil {
			return err
		}
	}
	if s.GCHeapTarget != nil {
		t, err := parseGCHeapTarget(*s.GCHeapTarget)
		if err != nil {
			return fmt.Errorf("server.%v", err)
		}
		c.Server.GCHeapTarget, c.Server.gcHeapTargetSet = t, true
	}
	return nil
}

// applyGC applies the client block's garbage collection keys: gc_interval,
// gc_max_allocs, gc_disk_usage_threshold and gc_inode_usage_threshold
// (percentages, 0 to 100).
func (cl *fileClient) applyGC(c *Config) error {
	g := &c.Client.GC
	if err := setDuration(&g.Interval, cl.GCInterval); err != nil {
		return err
	}
	if err := setDuration(&c.Client.UsageReportInterval, cl.UsageReportInterval); err != nil {
		return err
	}
	if v, ok, err := numberAttr(cl.GCMaxAllocs, "gc_max_allocs"); err != nil {
		return err
	} else if ok {
		if v < 1 || v != math.Trunc(v) || v > math.MaxInt32 {
			return fmt.Errorf("%s: gc_max_allocs = %v must be a whole number of allocations, 1 or more", loc(cl.GCMaxAllocs.Range()), v)
		}
		g.MaxAllocs = int(v)
	}
	for _, p := range []struct {
		to   *float64
		expr hcl.Expression
		name string
	}{
		{&g.DiskUsageThreshold, cl.GCDiskUsageThreshold, "gc_disk_usage_threshold"},
		{&g.InodeUsageThreshold, cl.GCInodeUsageThreshold, "gc_inode_usage_threshold"},
	} {
		if v, ok, err := numberAttr(p.expr, p.name); err != nil {
			return err
		} else if ok {
			if v <= 0 || v > 100 {
				return fmt.Errorf("%s: %s = %v must be a percentage above 0 and at most 100", loc(p.expr.Range()), p.name, v)
			}
			*p.to = v
		}
	}
	return nil
}

// numberAttr evaluates an optional number attribute; ok is false when it is
// absent. Errors name the attribute's file:line:col.
func numberAttr(expr hcl.Expression, name string) (v float64, ok bool, err error) {
	if expr == nil {
		return 0, false, nil
	}
	val, diags := expr.Value(nil)
	if diags.HasErrors() {
		return 0, false, diagError(diags)
	}
	if val.IsNull() {
		return 0, false, nil
	}
	if val.Type() != cty.Number {
		return 0, false, fmt.Errorf("%s: %s must be a number, not %s", loc(expr.Range()), name, val.Type().FriendlyName())
	}
	f, _ := val.AsBigFloat().Float64()
	return f, true, nil
}
