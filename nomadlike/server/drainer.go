package server

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// drainerRetryWait bounds how long the drainer waits after a failed write
// before it looks again.
const drainerRetryWait = time.Second

// The drainer runs on the leader. For every draining node it marks
// allocations for migration (DesiredTransition.Migrate) and creates an
// evaluation per job, so the scheduler moves them; it paces each task
// group by its migrate block's max_parallel (1 without one): an allocation
// counts as migrating from its mark until its replacement is healthy per the
// migrate block (drainer_health.go), runs when the group has none, ends, or
// misses its healthy_deadline (reported as a node event).
// Higher-priority jobs' allocations are marked (and their evaluations
// created) first, as Nomad's drainer orders them.
// System and sysbatch allocations are marked last, once nothing else is
// left on the node, and never with IgnoreSystemJobs. At the drain's
// deadline everything left is marked at once. When nothing (counted) is
// left the drain completes: Drain false, the node stays ineligible, event
// "Node drain complete".
//
// It wakes on any change of nodes or allocations and at the nearest
// deadline; the decisions themselves are planNodeDrain, a pure function.

// drainStep is what the drainer does next for one node.
type drainStep struct {
	// mark are allocations to mark for migration.
	mark []*structs.Allocation
	// complete ends the drain.
	complete bool
	// wake is when a replacement may become healthy or time out (zero: none).
	wake time.Time
	// unhealthy are replacements that missed their healthy_deadline.
	unhealthy []*structs.Allocation
}

// drainView is what planNodeDrain reads besides the node's allocations.
type drainView interface {
	JobByID(ws memdb.WatchSet, namespace, id string) (*structs.Job, error)
	AllocsByJob(ws memdb.WatchSet, namespace, jobID string, all bool) ([]*structs.Allocation, error)
}

// drainSnapshotTaken, when set (tests only), is called by drainOnce right
// after it took its snapshot. Atomic: a test sets it while the server's
// own drainer may be reading it.
var drainSnapshotTaken atomic.Pointer[func()]

// runDrainer drives every draining node until ctx ends (leadership lost).
func (s *Server) runDrainer(ctx context.Context) {
	logger := s.logger.With("component", "drainer")
	for {
		ws := memdb.NewWatchSet()
		next, err := s.drainOnce(ctx, ws, time.Now())
		if ctx.Err() != nil {
			return
		}
		wait := time.Duration(-1)
		if err != nil {
			logger.Error("node drain step failed; retrying", "error", err, "retry_in", drainerRetryWait)
			wait = drainerRetryWait
		}
		if !next.IsZero() {
			if d := time.Until(next); wait < 0 || d < wait {
				wait = max(d, 0)
			}
		}
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if wait >= 0 {
			wctx, cancel = context.WithTimeout(ctx, wait)
		}
		_ = ws.WatchCtx(wctx) // a timeout or a change: either way, look again
		cancel()
	}
}

// drainOnce takes one step for every draining node, reading state into ws
// so the caller can wait for its next change. It returns the nearest
// future drain deadline or migration health check (zero when none).
func (s *Server) drainOnce(ctx context.Context, ws memdb.WatchSet, now time.Time) (time.Time, error) {
	// Any node or allocation change may move a drain on. The watches come
	// before the snapshot: a change committed between the two is then in
	// the snapshot or wakes the next pass. Taken after it, they missed
	// such a change, and a drain whose last step it was (the scheduler
	// stopping the last allocations) waited for a change that never came.
	if _, err := s.state.WatchIndex(ws, "nodes"); err != nil {
		return time.Time{}, err
	}
	if _, err := s.state.WatchIndex(ws, "allocs"); err != nil {
		return time.Time{}, err
	}
	snap, err := s.state.Snapshot()
	if err != nil {
		return time.Time{}, fmt.Errorf("snapshot state: %w", err)
	}
	if hook := drainSnapshotTaken.Load(); hook != nil {
		(*hook)()
	}
	nodes, err := snap.Nodes(nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("list nodes: %w", err)
	}
	var next time.Time
	var errs []string
	for _, node := range nodes {
		if !node.Drain || node.DrainStrategy == nil {
			continue
		}
		if ok, at := node.DrainStrategy.DeadlineTime(); ok && at.After(now) && (next.IsZero() || at.Before(next)) {
			next = at
		}
		wake, err := s.drainNode(ctx, snap, node, now)
		if err != nil {
			errs = append(errs, err.Error())
		}
		if !wake.IsZero() && (next.IsZero() || wake.Before(next)) {
			next = wake
		}
	}
	if len(errs) > 0 {
		return next, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return next, nil
}

// drainNode takes the next step of one node's drain and returns when to
// look again at the health of its migrations (zero: on changes only).
func (s *Server) drainNode(ctx context.Context, snap *state.Snapshot, node *structs.Node, now time.Time) (time.Time, error) {
	allocs, err := snap.AllocsByNode(nil, node.ID)
	if err != nil {
		return time.Time{}, fmt.Errorf("drain node %s: list allocs: %w", node.ID, err)
	}
	step, err := planNodeDrain(snap, node, allocs, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("drain node %s: %w", node.ID, err)
	}
	if len(step.unhealthy) > 0 {
		if err := s.reportUnhealthyMigrations(ctx, node, step.unhealthy, now); err != nil {
			return step.wake, fmt.Errorf("drain node %s: %w", node.ID, err)
		}
	}
	if len(step.mark) > 0 {
		if err := s.markForMigration(ctx, snap, step.mark, now); err != nil {
			return step.wake, fmt.Errorf("drain node %s: %w", node.ID, err)
		}
		s.logger.Info("node drain: allocations marked for migration", "node_id", node.ID, "count", len(step.mark))
	}
	if step.complete {
		req := &structs.NodeUpdateDrainRequest{NodeID: node.ID, UpdatedAt: now.Unix(), Complete: true,
			Event: &structs.NodeEvent{Message: structs.NodeEventDrainComplete, Subsystem: "Drain", Timestamp: now}}
		if _, err := s.raftApply(ctx, structs.NodeUpdateDrainRequestType, req); err != nil {
			return time.Time{}, fmt.Errorf("complete drain of node %s: %w", node.ID, err)
		}
		s.logger.Info("node drain complete; the node stays ineligible", "node_id", node.ID, "node_name", node.Name)
	}
	return step.wake, nil
}

// markForMigration commits the marks of allocs with one evaluation per job.
func (s *Server) markForMigration(ctx context.Context, snap *state.Snapshot, allocs []*structs.Allocation, now time.Time) error {
	yes := true
	req := &structs.AllocUpdateDesiredTransitionRequest{Allocs: map[string]*structs.DesiredTransition{}, Timestamp: now.UnixNano()}
	seen := map[jobKey]bool{}
	for _, a := range allocs {
		req.Allocs[a.ID] = &structs.DesiredTransition{Migrate: &yes}
		key := jobKey{a.Namespace, a.JobID}
		if seen[key] {
			continue
		}
		seen[key] = true
		job, err := snap.JobByID(nil, a.Namespace, a.JobID)
		if err != nil {
			return fmt.Errorf("look up job %q: %w", a.JobID, err)
		}
		if job == nil {
			job = a.Job
		}
		if job == nil {
			continue
		}
		req.Evals = append(req.Evals, &structs.Evaluation{
			ID: structs.GenerateUUID(), Namespace: a.Namespace, Priority: job.Priority, Type: job.Type,
			TriggeredBy: structs.EvalTriggerNodeDrain, JobID: a.JobID, NodeID: a.NodeID,
			Status: structs.EvalStatusPending, CreateTime: now.UnixNano(), ModifyTime: now.UnixNano(),
		})
	}
	if _, err := s.raftApply(ctx, structs.AllocUpdateDesiredTransitionRequestType, req); err != nil {
		return fmt.Errorf("mark %d allocs for migration: %w", len(allocs), err)
	}
	return nil
}

// isSystemAlloc reports whether a belongs to a system or sysbatch job.
func isSystemAlloc(a *structs.Allocation, job *structs.Job) bool {
	t := ""
	if job != nil {
		t = job.Type
	} else if a.Job != nil {
		t = a.Job.Type
	}
	return t == structs.JobTypeSystem || t == structs.JobTypeSysBatch
}

// planNodeDrain decides the next step of node's drain from its allocations
// (see the drainer's description above runDrainer). It never writes.
func planNodeDrain(view drainView, node *structs.Node, allocs []*structs.Allocation, now time.Time) (drainStep, error) {
	var step drainStep
	spec := node.DrainStrategy
	pastDeadline := false
	if ok, at := spec.DeadlineTime(); ok && !now.Before(at) {
		pastDeadline = true
	}
	type groupKey struct{ ns, job, group string }
	var others, system []*structs.Allocation
	groups := map[groupKey][]*structs.Allocation{}
	jobs := map[jobKey]*structs.Job{}
	for _, a := range slices.SortedFunc(slices.Values(allocs), func(x, y *structs.Allocation) int { return strings.Compare(x.Name+x.ID, y.Name+y.ID) }) {
		key := jobKey{a.Namespace, a.JobID}
		job, ok := jobs[key]
		if !ok {
			var err error
			if job, err = view.JobByID(nil, a.Namespace, a.JobID); err != nil {
				return step, fmt.Errorf("look up job %q: %w", a.JobID, err)
			}
			jobs[key] = job
		}
		if isSystemAlloc(a, job) {
			if !a.TerminalStatus() {
				system = append(system, a)
			}
			continue
		}
		if !a.TerminalStatus() {
			others = append(others, a)
		}
		g := groupKey{a.Namespace, a.JobID, a.TaskGroup}
		groups[g] = append(groups[g], a)
	}
	unmarked := func(list []*structs.Allocation) []*structs.Allocation {
		var out []*structs.Allocation
		for _, a := range list {
			if !a.TerminalStatus() && !a.DesiredTransition.ShouldMigrate() {
				out = append(out, a)
			}
		}
		return out
	}
	// Higher-priority jobs migrate first (their marks and evaluations come
	// first); equal priorities in name order. A group's priority is that of
	// its (never empty) list's first allocation's job.
	priority := func(a *structs.Allocation) int {
		if j := jobs[jobKey{a.Namespace, a.JobID}]; j != nil {
			return j.Priority
		}
		if a.Job != nil {
			return a.Job.Priority
		}
		return structs.DefaultPriority
	}
	slices.SortStableFunc(others, func(x, y *structs.Allocation) int {
		return priority(y) - priority(x)
	})
	if pastDeadline {
		step.mark = unmarked(others)
		if !spec.IgnoreSystemJobs {
			step.mark = append(step.mark, unmarked(system)...)
		}
	} else {
		for _, g := range slices.SortedFunc(maps.Keys(groups), func(x, y groupKey) int {
			if d := priority(groups[y][0]) - priority(groups[x][0]); d != 0 {
				return d
			}
			return strings.Compare(x.ns+"/"+x.job+"/"+x.group, y.ns+"/"+y.job+"/"+y.group)
		}) {
			list := groups[g]
			job := jobs[jobKey{g.ns, g.job}]
			if job == nil {
				job = list[0].Job
			}
			var tg *structs.TaskGroup
			if job != nil {
				tg = job.LookupTaskGroup(g.group)
			}
			progress, err := migrating(view, list, tg, now)
			if err != nil {
				return step, err
			}
			if w := progress.wake; !w.IsZero() && (step.wake.IsZero() || w.Before(step.wake)) {
				step.wake = w
			}
			step.unhealthy = append(step.unhealthy, progress.unhealthy...)
			cands := unmarked(list)
			if n := tg.MigrateMaxParallel() - progress.inflight; n > 0 {
				step.mark = append(step.mark, cands[:min(n, len(cands))]...)
			}
		}
		if len(others) == 0 && !spec.IgnoreSystemJobs {
			step.mark = append(step.mark, unmarked(system)...)
		}
	}
	step.complete = len(others) == 0 && (spec.IgnoreSystemJobs || len(system) == 0)
	return step, nil
}

// migrating counts the allocations of one group (tg, nil when the job is
// gone) on a draining node that are marked and not yet migrated: still
// live, or stopped with a replacement that has not ended and is not yet
// healthy (checkReplacement) at now.
func migrating(view drainView, list []*structs.Allocation, tg *structs.TaskGroup, now time.Time) (migrateProgress, error) {
	var p migrateProgress
	var m *structs.MigrateStrategy
	if tg != nil {
		m = tg.Migrate
	}
	var next map[string]*structs.Allocation // previous alloc ID -> replacement
	for _, a := range list {
		if !a.DesiredTransition.ShouldMigrate() {
			continue
		}
		if !a.TerminalStatus() {
			p.inflight++
			continue
		}
		if next == nil {
			all, err := view.AllocsByJob(nil, a.Namespace, a.JobID, true)
			if err != nil {
				return p, fmt.Errorf("list allocs of job %q: %w", a.JobID, err)
			}
			next = map[string]*structs.Allocation{}
			for _, r := range all {
				if r.PreviousAllocation != "" {
					next[r.PreviousAllocation] = r
				}
			}
		}
		r := next[a.ID]
		if r == nil || r.TerminalStatus() {
			continue
		}
		group := tg
		if group == nil {
			group = &structs.TaskGroup{}
		}
		switch health, wake := checkReplacement(r, group, m, now); health {
		case replacementPending:
			p.inflight++
			if !wake.IsZero() && (p.wake.IsZero() || wake.Before(p.wake)) {
				p.wake = wake
			}
		case replacementFailed:
			p.unhealthy = append(p.unhealthy, r)
		}
	}
	return p, nil
}
