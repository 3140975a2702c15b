package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// gcBatchSize bounds the IDs of one delete entry, so a large backlog never
// makes an oversized Raft entry.
const gcBatchSize = 1024

// runGC is the leader's garbage collector: every GC interval it removes
// what is terminal and older than the thresholds (see planGC).
func (s *Server) runGC(ctx context.Context) {
	cfg := s.cfg.GC.withDefaults()
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		stats, err := s.collectGarbage(ctx, time.Now(), false)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Error("garbage collection failed; retrying at the next interval", "interval", cfg.Interval, "error", err)
			}
			continue
		}
		if stats != (structs.GCStats{}) {
			s.logger.Info("garbage collected", "jobs", stats.Jobs, "evals", stats.Evals,
				"allocs", stats.Allocs, "deployments", stats.Deployments, "nodes", stats.Nodes)
		}
	}
}

// ForceGC collects every terminal job, evaluation, allocation, deployment
// and down node now, whatever its age (PUT /v1/system/gc). Only the leader
// can run it.
func (s *Server) ForceGC(ctx context.Context) (structs.GCStats, error) {
	if !s.IsLeader() {
		return structs.GCStats{}, s.notLeaderError()
	}
	stats, err := s.collectGarbage(ctx, time.Now(), true)
	if err != nil {
		return stats, err
	}
	s.logger.Info("forced garbage collection", "jobs", stats.Jobs, "evals", stats.Evals,
		"allocs", stats.Allocs, "deployments", stats.Deployments, "nodes", stats.Nodes)
	return stats, nil
}

// collectGarbage runs one pass at now: it plans on a snapshot of the state
// and commits the deletions, evaluations and allocations first, then
// deployments, jobs and nodes.
func (s *Server) collectGarbage(ctx context.Context, now time.Time, force bool) (structs.GCStats, error) {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	var stats structs.GCStats
	snap, err := s.state.Snapshot()
	if err != nil {
		return stats, fmt.Errorf("gc: snapshot state: %w", err)
	}
	plan, err := planGC(snap, s.cfg.GC.withDefaults().cutoffs(now, force), now)
	if err != nil {
		return stats, err
	}
	if plan.empty() {
		return stats, nil
	}
	for evals, allocs := plan.evals, plan.allocs; len(evals) > 0 || len(allocs) > 0; {
		ne, na := min(len(evals), gcBatchSize), 0
		if ne < gcBatchSize {
			na = min(len(allocs), gcBatchSize-ne)
		}
		req := &structs.EvalDeleteRequest{Evals: evals[:ne], Allocs: allocs[:na]}
		if _, err := s.raftApply(ctx, structs.EvalDeleteRequestType, req); err != nil {
			return stats, fmt.Errorf("gc: delete %d evaluations and %d allocations: %w", ne, na, err)
		}
		stats.Evals += ne
		stats.Allocs += na
		evals, allocs = evals[ne:], allocs[na:]
	}
	for deps := plan.deployments; len(deps) > 0; {
		n := min(len(deps), gcBatchSize)
		if _, err := s.raftApply(ctx, structs.DeploymentDeleteRequestType, &structs.DeploymentDeleteRequest{Deployments: deps[:n]}); err != nil {
			return stats, fmt.Errorf("gc: delete %d deployments: %w", n, err)
		}
		stats.Deployments += n
		deps = deps[n:]
	}
	for _, j := range plan.jobs {
		req := &structs.JobDeregisterRequest{Namespace: j.namespace, JobID: j.id, Purge: true, SubmitTime: now.UnixNano()}
		if _, err := s.raftApply(ctx, structs.JobDeregisterRequestType, req); err != nil {
			if errors.Is(err, structs.ErrNotFound) {
				continue // purged meanwhile
			}
			return stats, fmt.Errorf("gc: purge job %q: %w", j.id, err)
		}
		stats.Jobs++
	}
	if len(plan.nodes) > 0 {
		req := &structs.NodeDeregisterRequest{NodeIDs: plan.nodes, Timestamp: now.UnixNano()}
		if _, err := s.raftApply(ctx, structs.NodeDeregisterRequestType, req); err != nil {
			return stats, fmt.Errorf("gc: delete %d down nodes: %w", len(plan.nodes), err)
		}
		for _, id := range plan.nodes {
			s.hb.remove(id) // a deleted node keeps no TTL timer
		}
		stats.Nodes += len(plan.nodes)
	}
	return stats, nil
}

// ReconcileJobSummaries recounts every job's summary from its allocations
// and latest evaluation (PUT /v1/system/reconcile/summaries).
func (s *Server) ReconcileJobSummaries(ctx context.Context) (uint64, error) {
	return s.raftApply(ctx, structs.ReconcileJobSummariesRequestType, &structs.ReconcileJobSummariesRequest{})
}
