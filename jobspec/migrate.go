package jobspec

import (
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var migrateSpec = blockSpec{
	Attrs: []string{"max_parallel", "health_check", "min_healthy_time", "healthy_deadline"},
}

// defaultMigrate returns Nomad's defaults for the fields a migrate block
// leaves out.
func defaultMigrate() *structs.MigrateStrategy {
	return &structs.MigrateStrategy{
		MaxParallel:     1,
		HealthCheck:     structs.UpdateStrategyHealthCheckChecks,
		MinHealthyTime:  10 * time.Second,
		HealthyDeadline: 5 * time.Minute,
	}
}

// decodeMigrate decodes a migrate block (job or group) over base.
func (d *decoder) decodeMigrate(b *hcl.Block, base *structs.MigrateStrategy) *structs.MigrateStrategy {
	m := *base
	c := d.content(b.Body, migrateSpec)
	a := c.Attributes
	if d.setInt(a, "max_parallel", &m.MaxParallel) && m.MaxParallel < 0 {
		d.errorf(a["max_parallel"].Expr.Range(), "Invalid migrate", "max_parallel cannot be negative, got %d", m.MaxParallel)
	}
	if attr, ok := a["health_check"]; ok {
		d.setString(a, "health_check", &m.HealthCheck)
		switch m.HealthCheck {
		case structs.UpdateStrategyHealthCheckChecks, structs.UpdateStrategyHealthCheckTaskStates:
		default:
			d.errorf(attr.Expr.Range(), "Invalid migrate",
				"health_check must be \"checks\" or \"task_states\", got %q", m.HealthCheck)
		}
	}
	d.setDuration(a, "min_healthy_time", &m.MinHealthyTime)
	if d.setDuration(a, "healthy_deadline", &m.HealthyDeadline) && m.HealthyDeadline == 0 {
		d.errorf(a["healthy_deadline"].Expr.Range(), "Invalid migrate", "healthy_deadline must be more than 0")
	}
	if m.HealthyDeadline > 0 && m.MinHealthyTime > m.HealthyDeadline {
		d.errorf(firstExprRange(a, b.DefRange, "min_healthy_time", "healthy_deadline"), "Invalid migrate", "min_healthy_time (%s) must not be more than healthy_deadline (%s)", m.MinHealthyTime, m.HealthyDeadline)
	}
	return &m
}

var disconnectSpec = blockSpec{
	Attrs:       []string{"lost_after"},
	Unsupported: []string{"replace", "reconcile", "stop_on_client_after"},
}

// decodeDisconnect decodes a group's disconnect block: only lost_after, the
// newer spelling of max_client_disconnect, is supported.
func (d *decoder) decodeDisconnect(b *hcl.Block) *time.Duration {
	c := d.content(b.Body, disconnectSpec)
	var lost time.Duration
	if d.setDuration(c.Attributes, "lost_after", &lost) {
		return &lost
	}
	return nil
}
