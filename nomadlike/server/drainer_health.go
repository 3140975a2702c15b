package server

import (
	"context"
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Migration health. A group with a migrate block moves on to its next
// batch only once the replacements of the previous one are healthy: every
// task (but finished prestart/poststart ones and poststop ones) running for
// min_healthy_time. nomadlike has no service checks, so health_check
// "checks" means the same as "task_states". A replacement not healthy
// within healthy_deadline of its creation counts as failed: the drain goes
// on and the node gets an event saying so. A group without a migrate block
// moves on as soon as its replacements run.

// migrateProgress is the state of one group's migrations off a draining node.
type migrateProgress struct {
	// inflight counts marked allocations not yet migrated.
	inflight int
	// wake is the earliest time a replacement becomes healthy or reaches
	// its healthy_deadline (zero: none pending).
	wake time.Time
	// unhealthy are replacements that missed their healthy_deadline.
	unhealthy []*structs.Allocation
}

// replacementHealth is what a migration's replacement means for the drain.
type replacementHealth int

const (
	replacementHealthy replacementHealth = iota
	replacementPending                   // not healthy yet: the migration is in flight
	replacementFailed                    // missed its healthy_deadline
)

// checkReplacement judges replacement r of a migrated allocation of group tg
// (the job's current version) with migrate strategy m (nil: running is
// enough). For a pending one it returns when to look again.
func checkReplacement(r *structs.Allocation, tg *structs.TaskGroup, m *structs.MigrateStrategy, now time.Time) (replacementHealth, time.Time) {
	if m == nil {
		if r.ClientStatus == structs.AllocClientStatusRunning {
			return replacementHealthy, time.Time{}
		}
		return replacementPending, time.Time{}
	}
	deadline := time.Unix(0, r.CreateTime).Add(m.HealthyDeadline)
	if m.HealthyDeadline <= 0 {
		deadline = time.Time{}
	}
	if healthyAt, ok := healthyAt(r, tg, m.MinHealthyTime); ok {
		if !now.Before(healthyAt) {
			return replacementHealthy, time.Time{}
		}
		if deadline.IsZero() || healthyAt.Before(deadline) {
			return replacementPending, healthyAt
		}
	}
	if !deadline.IsZero() && !now.Before(deadline) {
		return replacementFailed, time.Time{}
	}
	return replacementPending, deadline
}

// healthyAt returns when r becomes healthy if its tasks keep running: the
// latest (re)start of a task that must run, plus minHealthy. ok is false
// when the allocation or one of those tasks is not running.
func healthyAt(r *structs.Allocation, tg *structs.TaskGroup, minHealthy time.Duration) (time.Time, bool) {
	if r.ClientStatus != structs.AllocClientStatusRunning {
		return time.Time{}, false
	}
	if r.Job != nil {
		if g := r.Job.LookupTaskGroup(r.TaskGroup); g != nil {
			tg = g
		}
	}
	var since time.Time
	states := r.TaskStateMap()
	for _, t := range tg.Tasks {
		if l := t.Lifecycle; l != nil && !l.Sidecar {
			continue // runs to completion (prestart, poststart) or after the others (poststop)
		}
		ts := states[t.Name]
		if ts == nil || ts.State != structs.TaskStateRunning || ts.StartedAt.IsZero() {
			return time.Time{}, false
		}
		start := ts.StartedAt
		if ts.LastRestart.After(start) {
			start = ts.LastRestart
		}
		if start.After(since) {
			since = start
		}
	}
	return since.Add(minHealthy), true
}

// reportUnhealthyMigrations records, once per replacement, a node event and
// a log line saying that the replacement of a migrated allocation missed its
// healthy_deadline and the drain goes on without it.
func (s *Server) reportUnhealthyMigrations(ctx context.Context, node *structs.Node, unhealthy []*structs.Allocation, now time.Time) error {
	reported := map[string]bool{}
	for _, e := range node.Events {
		if id := e.Details["replacement_alloc_id"]; id != "" {
			reported[id] = true
		}
	}
	for _, r := range unhealthy {
		if reported[r.ID] {
			continue
		}
		reported[r.ID] = true
		deadline := time.Duration(0)
		if r.Job != nil {
			if tg := r.Job.LookupTaskGroup(r.TaskGroup); tg != nil && tg.Migrate != nil {
				deadline = tg.Migrate.HealthyDeadline
			}
		}
		msg := fmt.Sprintf("Drain: replacement %s of migrated allocation %s (%s) was not healthy within its healthy_deadline (%s); counted as failed, drain continues",
			structs.ShortID(r.ID), structs.ShortID(r.PreviousAllocation), r.Name, deadline)
		req := &structs.NodeUpdateEligibilityRequest{
			NodeID: node.ID, Eligibility: node.SchedulingEligibility, UpdatedAt: now.Unix(),
			Event: &structs.NodeEvent{Message: msg, Subsystem: "Drain", Timestamp: now, Details: map[string]string{
				"replacement_alloc_id": r.ID, "migrated_alloc_id": r.PreviousAllocation, "healthy_deadline": deadline.String(),
			}},
		}
		if _, err := s.raftApply(ctx, structs.NodeUpdateEligibilityRequestType, req); err != nil {
			return fmt.Errorf("record unhealthy migration of %s: %w", r.PreviousAllocation, err)
		}
		s.logger.Warn("node drain: a migrated allocation's replacement missed its healthy_deadline; counted as failed, the drain continues",
			"node_id", node.ID, "alloc_id", r.PreviousAllocation, "replacement_id", r.ID, "name", r.Name, "healthy_deadline", deadline)
	}
	return nil
}
