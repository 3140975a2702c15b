package server

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// runPlanApplier applies plans one at a time until ctx ends.
func (s *Server) runPlanApplier(ctx context.Context) {
	// committed holds, per job, the index of the last plan this applier
	// committed for it (this leadership term; earlier terms' plans are
	// in the state every worker here snapshots).
	committed := map[jobKey]uint64{}
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-s.planQ.ch:
			result, err := s.applyPlan(ctx, req, committed)
			req.resp <- planResponse{result: result, err: err}
		}
	}
}

// applyPlan checks the plan against the newest state and commits what
// still fits. A plan made on a snapshot older than the last plan committed
// for its job is refused whole: its scheduler did not see that plan's
// allocations and would place them again (an evaluation redelivered after
// its nack timeout while its first delivery's plan was being committed).
// The scheduler retries on a snapshot that has them. committed is the
// applier's record of the last plan committed per job, updated here.
func (s *Server) applyPlan(ctx context.Context, req *planRequest, committed map[jobKey]uint64) (*structs.PlanResult, error) {
	plan := req.plan
	if !s.broker.outstanding(plan.EvalID, req.token) {
		return nil, fmt.Errorf("plan for eval %s: the evaluation is no longer held by this worker (it timed out and was redelivered)", plan.EvalID)
	}
	if s.cfg.planApplyHook != nil {
		s.cfg.planApplyHook(plan)
	}
	var key jobKey
	if plan.Job != nil {
		key = jobKey{plan.Job.Namespace, plan.Job.ID}
		if last := committed[key]; plan.SnapshotIndex < last {
			s.logger.Info("plan refused: made on a snapshot older than the job's last committed plan; the scheduler retries on fresh state",
				"eval_id", plan.EvalID, "job_id", plan.Job.ID, "snapshot_index", plan.SnapshotIndex, "last_plan_index", last)
			return &structs.PlanResult{NodeUpdate: map[string][]*structs.Allocation{}, NodeAllocation: map[string][]*structs.Allocation{},
				NodePreemptions: map[string][]*structs.Allocation{}, RefreshIndex: last}, nil
		}
	}
	snap, err := s.state.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("snapshot state for plan: %w", err)
	}
	evalStart := time.Now()
	result, refused, err := evaluatePlan(snap, plan)
	observeSince(s.metrics.planEvaluate, evalStart)
	s.metrics.planRefusedNodes.Add(float64(len(refused)))
	if err != nil {
		return nil, err
	}
	if len(refused) > 0 {
		s.logger.Debug("plan partly refused", "eval_id", plan.EvalID, "refused_nodes", refused)
	}
	if len(result.NodeUpdate) == 0 && len(result.NodeAllocation) == 0 && len(result.NodePreemptions) == 0 &&
		result.Deployment == nil && len(result.DeploymentUpdates) == 0 {
		return result, nil
	}
	now := time.Now()
	entry := planResultsRequest(plan, result, now)
	if entry.Evals, err = preemptionEvals(snap, result, now); err != nil {
		return nil, fmt.Errorf("plan for eval %s: %w", plan.EvalID, err)
	}
	applyStart := time.Now()
	index, err := s.raftApply(ctx, structs.ApplyPlanResultsRequestType, entry)
	observeSince(s.metrics.planApply, applyStart)
	if err != nil {
		return nil, fmt.Errorf("commit plan for eval %s: %w", plan.EvalID, err)
	}
	result.AllocIndex = index
	if plan.Job != nil {
		committed[key] = index
	}
	if result.RefreshIndex != 0 && result.RefreshIndex < index {
		result.RefreshIndex = index
	}
	return result, nil
}

// planResultsRequest builds the Raft entry for a result. Placed allocations
// travel without their job (the entry's Job is attached by the FSM).
func planResultsRequest(plan *structs.Plan, result *structs.PlanResult, now time.Time) *structs.ApplyPlanResultsRequest {
	req := &structs.ApplyPlanResultsRequest{Job: plan.Job, EvalID: plan.EvalID, Timestamp: now.UnixNano(),
		Deployment: result.Deployment, DeploymentUpdates: result.DeploymentUpdates}
	for _, node := range sortedKeys(result.NodeUpdate) {
		req.AllocsStopped = append(req.AllocsStopped, result.NodeUpdate[node]...)
	}
	for _, node := range sortedKeys(result.NodeAllocation) {
		for _, a := range result.NodeAllocation[node] {
			if plan.Job != nil && a.Job == plan.Job {
				c := *a
				c.Job = nil
				a = &c
			}
			req.AllocsPlaced = append(req.AllocsPlaced, a)
		}
	}
	for _, node := range sortedKeys(result.NodePreemptions) {
		req.AllocsPreempted = append(req.AllocsPreempted, result.NodePreemptions[node]...)
	}
	return req
}

// evaluatePlan decides, node by node, what of plan still holds against
// snap: placements need the node to exist and be ready, and the node's
// live allocations (minus those the plan stops, evicts or replaces, plus
// those it places) must fit. A refused node loses its whole part of the plan; an
// AllAtOnce plan with any refusal commits nothing. RefreshIndex is set when
// something was refused. It returns the refused nodes with their reason.
func evaluatePlan(snap *state.Snapshot, plan *structs.Plan) (*structs.PlanResult, []string, error) {
	result := &structs.PlanResult{NodeUpdate: map[string][]*structs.Allocation{}, NodeAllocation: map[string][]*structs.Allocation{},
		NodePreemptions: map[string][]*structs.Allocation{},
		// The deployment is committed even when placements are refused:
		// the allocations that do land belong to it, and the retry finds it.
		Deployment: plan.Deployment, DeploymentUpdates: plan.DeploymentUpdates}
	nodes := map[string]bool{}
	for n := range plan.NodeUpdate {
		nodes[n] = true
	}
	for n := range plan.NodePreemptions {
		nodes[n] = true
	}
	for n := range plan.NodeAllocation {
		nodes[n] = true
	}
	var refused []string
	for _, nodeID := range sortedKeys(nodes) {
		ok, reason, err := nodeFits(snap, plan, nodeID)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			refused = append(refused, fmt.Sprintf("%s: %s", structs.ShortID(nodeID), reason))
			continue
		}
		if u := plan.NodeUpdate[nodeID]; len(u) > 0 {
			result.NodeUpdate[nodeID] = u
		}
		if a := plan.NodeAllocation[nodeID]; len(a) > 0 {
			result.NodeAllocation[nodeID] = a
		}
		if p := plan.NodePreemptions[nodeID]; len(p) > 0 {
			result.NodePreemptions[nodeID] = p
		}
	}
	if len(refused) == 0 {
		return result, nil, nil
	}
	index, err := snap.LatestIndex()
	if err != nil {
		return nil, nil, fmt.Errorf("read state index: %w", err)
	}
	result.RefreshIndex = index
	if plan.AllAtOnce {
		result.NodeUpdate = map[string][]*structs.Allocation{}
		result.NodeAllocation = map[string][]*structs.Allocation{}
		result.NodePreemptions = map[string][]*structs.Allocation{}
	}
	return result, refused, nil
}

// nodeFits checks the plan's part for one node.
func nodeFits(snap *state.Snapshot, plan *structs.Plan, nodeID string) (bool, string, error) {
	place := plan.NodeAllocation[nodeID]
	if len(place) == 0 {
		return true, "", nil // only stops: always allowed
	}
	node, err := snap.NodeByID(nil, nodeID)
	if err != nil {
		return false, "", fmt.Errorf("look up node %s: %w", nodeID, err)
	}
	if node == nil {
		return false, "node no longer exists", nil
	}
	if !node.Ready() {
		return false, fmt.Sprintf("node is %s (drain=%t, eligibility=%q)", node.Status, node.Drain, node.SchedulingEligibility), nil
	}
	existing, err := snap.AllocsByNode(nil, nodeID)
	if err != nil {
		return false, "", fmt.Errorf("list allocs of node %s: %w", nodeID, err)
	}
	remove := map[string]bool{}
	for _, a := range plan.NodeUpdate[nodeID] {
		remove[a.ID] = true
	}
	for _, a := range plan.NodePreemptions[nodeID] {
		remove[a.ID] = true
	}
	for _, a := range place {
		remove[a.ID] = true // in-place updates replace the stored version
	}
	proposed := make([]*structs.Allocation, 0, len(existing)+len(place))
	for _, a := range existing {
		if !remove[a.ID] && !a.TerminalStatus() {
			proposed = append(proposed, a)
		}
	}
	proposed = append(proposed, place...)
	fit, dim, _ := structs.AllocsFit(node, proposed)
	if !fit {
		return false, "exhausted " + dim, nil
	}
	return true, "", nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
