package server

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// runPlanApplier evaluates and commits plans until ctx ends, pipelined as
// Nomad's applier is: while one plan's Raft entry is in flight, the next
// plan is evaluated against the state plus that plan's result (planOverlay),
// then submitted once the in-flight one is applied. At most one plan is in
// flight, so the state a plan is checked against lacks at most one plan,
// and that plan is the overlay.
func (s *Server) runPlanApplier(ctx context.Context) {
	// committed holds, per job, the index of the last plan this applier
	// committed for it (this leadership term; earlier terms' plans are
	// in the state every worker here snapshots).
	committed := map[jobKey]uint64{}
	var inflight *inflightPlan
	for {
		req := s.planQ.pop()
		if req == nil {
			var done <-chan struct{}
			if inflight != nil {
				done = inflight.done
			}
			select {
			case <-ctx.Done():
				if inflight != nil {
					// Raft ends the in-flight apply (committed or
					// leadership lost): nothing of this term outlives it.
					<-inflight.done
					finishPlan(inflight, committed)
				}
				return
			case <-done:
				finishPlan(inflight, committed)
				inflight = nil
			case <-s.planQ.ready:
			}
			continue
		}
		inflight = s.applyPlan(ctx, req, inflight, committed)
	}
}

// inflightPlan is a plan whose Raft entry is submitted and not yet known
// to be applied. done is closed when index and err are set.
type inflightPlan struct {
	req     *planRequest
	result  *structs.PlanResult
	overlay planOverlay
	start   time.Time
	done    chan struct{}
	index   uint64
	err     error
}

// answerPlan answers the worker of a plan whose apply just ended (on the
// plan's commit goroutine, so the worker does not wait for the applier to
// finish checking the next plan).
func (s *Server) answerPlan(p *inflightPlan) {
	observeSince(s.metrics.planApply, p.start)
	plan := p.req.plan
	if p.err != nil {
		p.req.resp <- planResponse{err: fmt.Errorf("commit plan for eval %s: %w", plan.EvalID, p.err)}
		return
	}
	result := p.result
	result.AllocIndex = p.index
	if result.RefreshIndex != 0 && result.RefreshIndex < p.index {
		result.RefreshIndex = p.index
	}
	p.req.resp <- planResponse{result: result}
}

// finishPlan records the commit of a plan whose apply ended (p.done is
// closed) for its job, in the applier's goroutine. A plan of the same job
// arriving before this waits for the in-flight plan and records it first.
func finishPlan(p *inflightPlan, committed map[jobKey]uint64) {
	if plan := p.req.plan; p.err == nil && plan.Job != nil {
		committed[jobKey{plan.Job.Namespace, plan.Job.ID}] = p.index
	}
}

// applyPlan checks req's plan against the newest state, plus the result of
// the plan in flight if any, and submits what still fits to Raft once the
// in-flight plan is applied. It returns the plan now in flight: this one
// once submitted; the previous one when this one was answered (dropped,
// refused or failed) before waiting for it; otherwise nil. Every plan no
// longer in flight has been answered.
//
// A plan made on a snapshot older than the last plan committed for its job
// is refused whole: its scheduler did not see that plan's allocations and
// would place them again (an evaluation redelivered after its nack timeout
// while its first delivery's plan was being committed). The scheduler
// retries on a snapshot that has them. A plan of the same job as the
// in-flight one waits for it first, so that check sees its index.
// committed is the applier's record of the last plan committed per job.
//
// If the in-flight apply fails, its result never reaches the state: the
// plan, checked against it, is checked again against the state alone
// (stops in the failed plan may have made room this plan counted on).
func (s *Server) applyPlan(ctx context.Context, req *planRequest, inflight *inflightPlan, committed map[jobKey]uint64) *inflightPlan {
	// waitInflight waits for the in-flight plan (answered by its commit
	// goroutine) and records it; it reports whether its apply succeeded,
	// and its index.
	waitInflight := func() (bool, uint64, error) {
		select {
		case <-inflight.done:
		case <-ctx.Done():
			return false, 0, fmt.Errorf("plan for eval %s: %w (is this server still the leader?)", req.plan.EvalID, ctx.Err())
		}
		finishPlan(inflight, committed)
		ok, index := inflight.err == nil, inflight.index
		inflight = nil
		return ok, index, nil
	}
	fail := func(err error) *inflightPlan {
		req.resp <- planResponse{err: err}
		return inflight
	}
	plan := req.plan
	select {
	case <-req.gone:
		return inflight // the worker stopped waiting: nobody wants the result
	default:
	}
	if !s.broker.outstanding(plan.EvalID, req.token) {
		return fail(fmt.Errorf("plan for eval %s: the evaluation is no longer held by this worker (it timed out and was redelivered)", plan.EvalID))
	}
	if s.cfg.planApplyHook != nil {
		s.cfg.planApplyHook(plan)
	}
	var key jobKey
	if plan.Job != nil {
		key = jobKey{plan.Job.Namespace, plan.Job.ID}
		if inflight != nil && inflight.req.plan.Job != nil &&
			(jobKey{inflight.req.plan.Job.Namespace, inflight.req.plan.Job.ID}) == key {
			if _, _, err := waitInflight(); err != nil {
				return fail(err)
			}
		}
		if last := committed[key]; plan.SnapshotIndex < last {
			s.logger.Info("plan refused: made on a snapshot older than the job's last committed plan; the scheduler retries on fresh state",
				"eval_id", plan.EvalID, "job_id", plan.Job.ID, "snapshot_index", plan.SnapshotIndex, "last_plan_index", last)
			req.resp <- planResponse{result: &structs.PlanResult{NodeUpdate: map[string][]*structs.Allocation{}, NodeAllocation: map[string][]*structs.Allocation{},
				NodePreemptions: map[string][]*structs.Allocation{}, RefreshIndex: last}}
			return inflight
		}
	}
	snap, err := s.state.Snapshot()
	if err != nil {
		return fail(fmt.Errorf("snapshot state for plan: %w", err))
	}
	var overlay planOverlay
	if inflight != nil {
		overlay = inflight.overlay
	}
	result, refused, err := s.evaluatePlanTimed(snap, overlay, plan)
	if inflight != nil {
		ok, prevIndex, werr := waitInflight()
		switch {
		case werr != nil:
			return fail(werr)
		case !ok:
			// The plan it was checked against is not in the state.
			if snap, err = s.state.Snapshot(); err != nil {
				return fail(fmt.Errorf("snapshot state for plan: %w", err))
			}
			result, refused, err = s.evaluatePlanTimed(snap, nil, plan)
		case err == nil && result.RefreshIndex != 0 && result.RefreshIndex < prevIndex:
			// Refused nodes may be full of the previous plan's
			// allocations: the retry must see them.
			result.RefreshIndex = prevIndex
		}
	}
	if err != nil {
		return fail(err)
	}
	if len(refused) > 0 {
		s.logger.Debug("plan partly refused", "eval_id", plan.EvalID, "refused_nodes", refused)
	}
	if len(result.NodeUpdate) == 0 && len(result.NodeAllocation) == 0 && len(result.NodePreemptions) == 0 &&
		result.Deployment == nil && len(result.DeploymentUpdates) == 0 {
		req.resp <- planResponse{result: result}
		return nil
	}
	now := time.Now()
	entry := planResultsRequest(plan, result, now)
	if entry.Evals, err = preemptionEvals(snap, result, now); err != nil {
		return fail(fmt.Errorf("plan for eval %s: %w", plan.EvalID, err))
	}
	next := &inflightPlan{req: req, result: result, overlay: newPlanOverlay(result), start: time.Now(), done: make(chan struct{})}
	go func() {
		defer close(next.done)
		defer s.answerPlan(next)
		if s.cfg.planCommitHook != nil {
			if next.err = s.cfg.planCommitHook(plan); next.err != nil {
				return
			}
		}
		f, err := s.raftApplyAsync(ctx, structs.ApplyPlanResultsRequestType, entry)
		if err != nil {
			next.err = err
			return
		}
		next.index, next.err = s.raftApplyResult(structs.ApplyPlanResultsRequestType, f)
	}()
	return next
}

// evaluatePlanTimed is evaluatePlan with its metrics.
func (s *Server) evaluatePlanTimed(snap *state.Snapshot, overlay planOverlay, plan *structs.Plan) (*structs.PlanResult, []string, error) {
	start := time.Now()
	result, refused, err := evaluatePlan(snap, overlay, plan)
	observeSince(s.metrics.planEvaluate, start)
	s.metrics.planRefusedNodes.Add(float64(len(refused)))
	return result, refused, err
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

// planOverlay is what a plan in flight in Raft does to the allocations of
// each node it touches: per node, the allocations it stops, evicts or
// places, by ID, in their version after the plan (nil: evicted). Applying
// it to a state that already holds the plan changes nothing, so it is
// right whether or not the snapshot it overlays caught the plan.
type planOverlay map[string]map[string]*structs.Allocation

// newPlanOverlay returns the overlay of a result about to be committed.
func newPlanOverlay(result *structs.PlanResult) planOverlay {
	o := planOverlay{}
	set := func(nodeID, allocID string, a *structs.Allocation) {
		if o[nodeID] == nil {
			o[nodeID] = map[string]*structs.Allocation{}
		}
		o[nodeID][allocID] = a
	}
	for node, allocs := range result.NodeUpdate {
		for _, a := range allocs {
			set(node, a.ID, a)
		}
	}
	for node, allocs := range result.NodeAllocation {
		for _, a := range allocs {
			set(node, a.ID, a)
		}
	}
	for node, allocs := range result.NodePreemptions {
		for _, a := range allocs {
			set(node, a.ID, nil)
		}
	}
	return o
}

// parallelPlanNodes is how many nodes a plan must touch before its nodes
// are checked on several goroutines (fewer cost less than starting them).
const parallelPlanNodes = 64

// evaluatePlan decides, node by node, what of plan still holds against
// snap with overlay (the in-flight plan's allocations, or nil): placements
// need the node to exist and be ready, and the node's live allocations
// (minus those the plan stops, evicts or replaces, plus those it places)
// must fit. A refused node loses its whole part of the plan; an AllAtOnce
// plan with any refusal commits nothing. RefreshIndex is set when
// something was refused. It returns the refused nodes with their reason.
// A plan touching many nodes has them checked in parallel, up to
// GOMAXPROCS goroutines; the result does not depend on it.
func evaluatePlan(snap *state.Snapshot, overlay planOverlay, plan *structs.Plan) (*structs.PlanResult, []string, error) {
	result := &structs.PlanResult{NodeUpdate: map[string][]*structs.Allocation{}, NodeAllocation: map[string][]*structs.Allocation{},
		NodePreemptions: map[string][]*structs.Allocation{},
		// The deployment is committed even when placements are refused:
		// the allocations that do land belong to it, and the retry finds it.
		Deployment: plan.Deployment, DeploymentUpdates: plan.DeploymentUpdates}
	nodeSet := map[string]bool{}
	for n := range plan.NodeUpdate {
		nodeSet[n] = true
	}
	for n := range plan.NodePreemptions {
		nodeSet[n] = true
	}
	for n := range plan.NodeAllocation {
		nodeSet[n] = true
	}
	nodes := sortedKeys(nodeSet)
	verdicts := make([]nodeVerdict, len(nodes))
	check := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := &verdicts[i]
			v.ok, v.reason, v.err = nodeFits(snap, overlay, plan, nodes[i])
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(nodes)/parallelPlanNodes)
	if workers <= 1 {
		check(0, len(nodes))
	} else {
		var wg sync.WaitGroup
		chunk := (len(nodes) + workers - 1) / workers
		for lo := 0; lo < len(nodes); lo += chunk {
			wg.Add(1)
			go func(lo, hi int) {
				defer wg.Done()
				check(lo, hi)
			}(lo, min(lo+chunk, len(nodes)))
		}
		wg.Wait()
	}
	var refused []string
	for i, nodeID := range nodes {
		v := verdicts[i]
		if v.err != nil {
			return nil, nil, v.err
		}
		if !v.ok {
			refused = append(refused, fmt.Sprintf("%s: %s", structs.ShortID(nodeID), v.reason))
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

// nodeVerdict is nodeFits's answer for one node.
type nodeVerdict struct {
	ok     bool
	reason string
	err    error
}

// nodeFits checks the plan's part for one node, against snap with overlay.
func nodeFits(snap *state.Snapshot, overlay planOverlay, plan *structs.Plan, nodeID string) (bool, string, error) {
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
	remove := planRemoves(plan, nodeID)
	pending := overlay[nodeID]
	used, ok, err := usedFromSum(snap, nodeID, pending, remove, place)
	if err != nil {
		return false, "", err
	}
	var fit bool
	var dim string
	if ok {
		fit, dim = node.Comparable().Superset(used)
	} else if fit, dim, _, err = nodeFitsByAllocs(snap, node, pending, remove, place); err != nil {
		return false, "", err
	}
	if !fit {
		return false, "exhausted " + dim, nil
	}
	return true, "", nil
}

// planRemoves are the IDs of the allocations the plan stops, preempts or
// replaces (in-place updates) on the node.
func planRemoves(plan *structs.Plan, nodeID string) map[string]bool {
	remove := map[string]bool{}
	for _, a := range plan.NodeUpdate[nodeID] {
		remove[a.ID] = true
	}
	for _, a := range plan.NodePreemptions[nodeID] {
		remove[a.ID] = true
	}
	for _, a := range plan.NodeAllocation[nodeID] {
		remove[a.ID] = true // in-place updates replace the stored version
	}
	return remove
}

// usedFromSum is what the node would use with the plan, from the state's
// sum of its live allocations (one read) corrected by the few allocations
// the plan and the in-flight plan change: the same total nodeFitsByAllocs
// adds up. ok is false when an allocation involved holds ports or cores,
// whose collisions only the allocations themselves show.
func usedFromSum(snap *state.Snapshot, nodeID string, pending map[string]*structs.Allocation, remove map[string]bool, place []*structs.Allocation) (structs.ComparableResources, bool, error) {
	sum, err := snap.NodeUsage(nil, nodeID)
	if err != nil {
		return structs.ComparableResources{}, false, fmt.Errorf("read usage of node %s: %w", nodeID, err)
	}
	if sum.Exclusive > 0 {
		return structs.ComparableResources{}, false, nil
	}
	for _, a := range place {
		if a.HoldsExclusive() {
			return structs.ComparableResources{}, false, nil
		}
	}
	for _, a := range pending {
		if a != nil && a.HoldsExclusive() { // nil: preempted by the in-flight plan
			return structs.ComparableResources{}, false, nil
		}
	}
	u := structs.NodeUsage{NodeID: nodeID, Used: sum.Used}
	// The stored versions of what the plan removes or replaces and of what
	// the in-flight plan changed leave the sum (sums do not depend on the
	// order of the map walks).
	seen := make(map[string]bool, len(remove)+len(pending))
	unstore := func(id string) error {
		if seen[id] {
			return nil
		}
		seen[id] = true
		a, err := snap.AllocByID(nil, id)
		if err != nil {
			return fmt.Errorf("read alloc %s: %w", id, err)
		}
		if a != nil && a.NodeID == nodeID {
			u.Apply(a, -1)
		}
		return nil
	}
	for id := range remove {
		if err := unstore(id); err != nil {
			return structs.ComparableResources{}, false, err
		}
	}
	for id := range pending {
		if err := unstore(id); err != nil {
			return structs.ComparableResources{}, false, err
		}
	}
	for id, a := range pending {
		if !remove[id] {
			u.Apply(a, 1) // the in-flight plan's version
		}
	}
	for _, a := range place {
		u.Apply(a, 1)
	}
	return u.Used, true, nil
}

// nodeFitsByAllocs checks the node's allocations with the plan's changes
// one by one (structs.AllocsFit): ports and cores must not collide. It
// returns AllocsFit's answer and what they use.
func nodeFitsByAllocs(snap *state.Snapshot, node *structs.Node, pending map[string]*structs.Allocation, remove map[string]bool, place []*structs.Allocation) (bool, string, structs.ComparableResources, error) {
	nodeID := node.ID
	existing, err := snap.AllocsByNode(nil, nodeID)
	if err != nil {
		return false, "", structs.ComparableResources{}, fmt.Errorf("list allocs of node %s: %w", nodeID, err)
	}
	proposed := make([]*structs.Allocation, 0, len(existing)+len(pending)+len(place))
	keep := func(a *structs.Allocation) {
		if a != nil && !remove[a.ID] && !a.TerminalStatus() {
			proposed = append(proposed, a)
		}
	}
	for _, a := range existing {
		if v, ok := pending[a.ID]; ok {
			a = v // the in-flight plan's version
		}
		keep(a)
	}
	if len(pending) > 0 {
		stored := make(map[string]bool, len(existing))
		for _, a := range existing {
			stored[a.ID] = true
		}
		for _, id := range sortedKeys(pending) {
			if !stored[id] {
				keep(pending[id]) // placed by the in-flight plan
			}
		}
	}
	proposed = append(proposed, place...)
	fit, dim, used := structs.AllocsFit(node, proposed)
	return fit, dim, used, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
