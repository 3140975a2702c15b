package jobspec

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var updateSpec = blockSpec{
	Attrs: []string{"stagger", "max_parallel", "health_check", "min_healthy_time",
		"healthy_deadline", "progress_deadline", "auto_revert", "auto_promote", "canary"},
}

// decodeUpdate decodes an update block over base: the fields it leaves out
// keep base's values. A job's block is decoded over Nomad's defaults
// (max_parallel 1, health_check "checks", min_healthy_time 10s,
// healthy_deadline 5m, progress_deadline 10m, stagger 30s), a group's over
// the job's block when there is one. path is the block's Validate field path
// (Update or TaskGroups["web"].Update).
func (d *decoder) decodeUpdate(b *hcl.Block, base *structs.UpdateStrategy, path string) *structs.UpdateStrategy {
	u := base.Copy()
	d.recordRange(path, b.DefRange)
	c := d.content(b.Body, updateSpec)
	a := c.Attributes
	d.setDuration(a, "stagger", &u.Stagger)
	if d.setInt(a, "max_parallel", &u.MaxParallel) && u.MaxParallel < 0 {
		d.errorf(a["max_parallel"].Expr.Range(), "Invalid update", "max_parallel cannot be negative, got %d; use 0 to update all allocations at once without a deployment", u.MaxParallel)
	}
	if attr, ok := a["health_check"]; ok {
		d.setString(a, "health_check", &u.HealthCheck)
		switch u.HealthCheck {
		case structs.UpdateStrategyHealthCheckChecks, structs.UpdateStrategyHealthCheckTaskStates, structs.UpdateStrategyHealthCheckManual:
		default:
			d.errorf(attr.Expr.Range(), "Invalid update",
				"health_check must be \"checks\", \"task_states\" or \"manual\", got %q", u.HealthCheck)
		}
	}
	d.setDuration(a, "min_healthy_time", &u.MinHealthyTime)
	d.setDuration(a, "healthy_deadline", &u.HealthyDeadline)
	d.setDuration(a, "progress_deadline", &u.ProgressDeadline)
	d.setBool(a, "auto_revert", &u.AutoRevert)
	d.setBool(a, "auto_promote", &u.AutoPromote)
	if d.setInt(a, "canary", &u.Canary) && u.Canary < 0 {
		d.errorf(a["canary"].Expr.Range(), "Invalid update", "canary cannot be negative, got %d", u.Canary)
	}

	// The checks job.Validate would make, located at the argument to change.
	at := func(names ...string) hcl.Range { return firstExprRange(a, b.DefRange, names...) }
	if u.HealthyDeadline > 0 && u.MinHealthyTime >= u.HealthyDeadline {
		d.errorf(at("min_healthy_time", "healthy_deadline"), "Invalid update",
			"min_healthy_time (%s) must be less than healthy_deadline (%s)", u.MinHealthyTime, u.HealthyDeadline)
	}
	if u.ProgressDeadline != 0 && u.HealthyDeadline > u.ProgressDeadline {
		d.errorf(at("healthy_deadline", "progress_deadline"), "Invalid update",
			"healthy_deadline (%s) must be less than or equal to progress_deadline (%s); set progress_deadline = \"0\" to have none", u.HealthyDeadline, u.ProgressDeadline)
	}
	if u.AutoPromote && u.Canary == 0 {
		d.errorf(at("auto_promote", "canary"), "Invalid update", "auto_promote needs canary > 0: only canaries are promoted")
	}
	if u.Canary > 0 && u.MaxParallel == 0 {
		d.errorf(at("canary", "max_parallel"), "Invalid update", "canaries need max_parallel > 0")
	}
	return u
}
