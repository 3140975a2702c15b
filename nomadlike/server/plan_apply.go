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

// maxPlanBatch bounds the plans the applier commits in one Raft entry, and
// maxPlanBatchAllocs the allocations they place or stop (a plan that alone
// has more is committed alone).
const (
	maxPlanBatch       = 64
	maxPlanBatchAllocs = 4096
)

// runPlanApplier evaluates and commits plans until ctx ends, pipelined as
// Nomad's applier is: while one commit is in flight in Raft, the plans
// that arrived meanwhile are evaluated against the state plus its result
// (planOverlay), then submitted once it is applied. At most one commit is
// in flight, so the state a plan is checked against lacks at most that
// commit, and that commit is the overlay.
//
// A commit is a batch: every plan waiting when the applier turns to the
// queue (up to maxPlanBatch), each checked against the state plus the
// in-flight commit plus the plans before it in the batch, committed in one
// Raft entry, all or none. One plan per Raft round trip (fsyncs on a
// quorum of servers) held the scheduler to about 110 plans a second on
// this project's 2-core test machine, whatever the number of workers: a
// burst of job registrations waited minutes to be scheduled.
func (s *Server) runPlanApplier(ctx context.Context) {
	// committed holds, per job, the index of the last plan this applier
	// committed for it (this leadership term; earlier terms' plans are
	// in the state every worker here snapshots).
	committed := map[jobKey]uint64{}
	var inflight *inflightPlan
	// carry holds plans left out of the last batch (another plan of their
	// job was in it): they lead the next one.
	var carry []*planRequest
	for {
		reqs := carry
		carry = nil
		for len(reqs) < maxPlanBatch {
			req := s.planQ.pop()
			if req == nil {
				break
			}
			reqs = append(reqs, req)
		}
		if len(reqs) == 0 {
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
		inflight, carry = s.applyPlans(ctx, reqs, inflight, committed)
	}
}

// inflightPlan is a commit (one or more plans in one Raft entry) submitted
// and not yet known to be applied. done is closed when index and err are
// set.
type inflightPlan struct {
	reqs    []*planRequest
	results []*structs.PlanResult
	overlay planOverlay
	start   time.Time
	done    chan struct{}
	index   uint64
	err     error
}

// answerPlan answers the workers of a commit whose apply just ended (on
// the commit's goroutine, so the workers do not wait for the applier to
// finish checking the next batch).
func (s *Server) answerPlan(p *inflightPlan) {
	observeSince(s.metrics.planApply, p.start)
	for i, req := range p.reqs {
		if p.err != nil {
			req.resp <- planResponse{err: fmt.Errorf("commit plan for eval %s: %w", req.plan.EvalID, p.err)}
			continue
		}
		result := p.results[i]
		result.AllocIndex = p.index
		if result.RefreshIndex != 0 && result.RefreshIndex < p.index {
			result.RefreshIndex = p.index
		}
		req.resp <- planResponse{result: result}
	}
}

// finishPlan records the commit of plans whose apply ended (p.done is
// closed) for their jobs, in the applier's goroutine. A plan of the same
// job arriving before this waits for the in-flight commit and records it
// first.
func finishPlan(p *inflightPlan, committed map[jobKey]uint64) {
	if p.err != nil {
		return
	}
	for _, req := range p.reqs {
		if plan := req.plan; plan.Job != nil {
			committed[jobKey{plan.Job.Namespace, plan.Job.ID}] = p.index
		}
	}
}

// applyPlans checks reqs' plans, in order, against the newest state plus
// the in-flight commit if any plus the plans before them, and submits what
// still fits to Raft, in one entry, once the in-flight commit is applied.
// It returns the commit now in flight: this batch once submitted; the
// previous one when every plan was answered (dropped, refused or failed)
// before waiting for it; otherwise nil. Every plan no longer in flight has
// been answered. The plans it left for the next batch (a second plan of a
// job already in this one) come back as carry.
//
// A plan made on a snapshot older than the last plan committed for its job
// is refused whole: its scheduler did not see that plan's allocations and
// would place them again (an evaluation redelivered after its nack timeout
// while its first delivery's plan was being committed). The scheduler
// retries on a snapshot that has them. A plan of the same job as one in
// flight waits for it first, so that check sees its index.
// committed is the applier's record of the last plan committed per job.
//
// If the in-flight apply fails, its result never reaches the state: the
// batch, checked against it, is checked again against the state alone
// (stops in the failed commit may have made room these plans counted on).
func (s *Server) applyPlans(ctx context.Context, reqs []*planRequest, inflight *inflightPlan, committed map[jobKey]uint64) (*inflightPlan, []*planRequest) {
	// waitInflight waits for the in-flight commit (answered by its commit
	// goroutine) and records it; it reports whether its apply succeeded,
	// and its index.
	waitInflight := func() (bool, uint64, error) {
		select {
		case <-inflight.done:
		case <-ctx.Done():
			return false, 0, fmt.Errorf("%w (is this server still the leader?)", ctx.Err())
		}
		finishPlan(inflight, committed)
		ok, index := inflight.err == nil, inflight.index
		inflight = nil
		return ok, index, nil
	}
	inflightHas := func(key jobKey) bool {
		if inflight == nil {
			return false
		}
		for _, r := range inflight.reqs {
			if j := r.plan.Job; j != nil && (jobKey{j.Namespace, j.ID}) == key {
				return true
			}
		}
		return false
	}
	var batch, carry []*planRequest
	inBatch := map[jobKey]bool{}
	allocs := 0
	// take pre-checks reqs and adds those still to evaluate to batch.
	take := func(reqs []*planRequest) {
		for i, req := range reqs {
			plan := req.plan
			select {
			case <-req.gone:
				continue // the worker stopped waiting: nobody wants the result
			default:
			}
			n := 0
			for _, a := range plan.NodeAllocation {
				n += len(a)
			}
			for _, a := range plan.NodeUpdate {
				n += len(a)
			}
			if len(batch) > 0 && allocs+n > maxPlanBatchAllocs {
				carry = append(carry, reqs[i:]...)
				return
			}
			if !s.broker.outstanding(plan.EvalID, req.token) {
				req.resp <- planResponse{err: fmt.Errorf("plan for eval %s: the evaluation is no longer held by this worker (it timed out and was redelivered)", plan.EvalID)}
				continue
			}
			if plan.Job != nil {
				key := jobKey{plan.Job.Namespace, plan.Job.ID}
				if inBatch[key] {
					carry = append(carry, req)
					continue
				}
				if inflightHas(key) {
					if _, _, err := waitInflight(); err != nil {
						req.resp <- planResponse{err: fmt.Errorf("plan for eval %s: %w", plan.EvalID, err)}
						continue
					}
				}
				if last := committed[key]; plan.SnapshotIndex < last {
					s.logger.Info("plan refused: made on a snapshot older than the job's last committed plan; the scheduler retries on fresh state",
						"eval_id", plan.EvalID, "job_id", plan.Job.ID, "snapshot_index", plan.SnapshotIndex, "last_plan_index", last)
					req.resp <- planResponse{result: &structs.PlanResult{NodeUpdate: map[string][]*structs.Allocation{}, NodeAllocation: map[string][]*structs.Allocation{},
						NodePreemptions: map[string][]*structs.Allocation{}, RefreshIndex: last}}
					continue
				}
				inBatch[key] = true
			}
			if s.cfg.planApplyHook != nil {
				s.cfg.planApplyHook(plan)
			}
			batch = append(batch, req)
			allocs += n
		}
	}
	take(reqs)
	if len(batch) == 0 {
		return inflight, carry
	}
	snap, err := s.state.Snapshot()
	if err != nil {
		answerErr(batch, fmt.Errorf("snapshot state for plan: %w", err))
		return inflight, carry
	}
	var base planOverlay
	if inflight != nil {
		base = inflight.overlay
	}
	checked := s.evaluateBatch(snap, base, batch)
	if inflight != nil {
		ok, prevIndex, werr := waitInflight()
		switch {
		case werr != nil:
			answerErr(batch, werr)
			return nil, carry
		case !ok:
			// The commit they were checked against is not in the state.
			if snap, err = s.state.Snapshot(); err != nil {
				answerErr(batch, fmt.Errorf("snapshot state for plan: %w", err))
				return nil, carry
			}
			checked = s.evaluateBatch(snap, nil, batch)
		default:
			for _, c := range checked {
				if c.err == nil && c.result.RefreshIndex != 0 && c.result.RefreshIndex < prevIndex {
					// Refused nodes may be full of the previous
					// commit's allocations: the retry must see them.
					c.result.RefreshIndex = prevIndex
				}
			}
		}
	}
	// Plans that queued while the in-flight commit was waited for join
	// this batch, checked against the state (which now has that commit)
	// plus the batch so far: one Raft round then commits every plan the
	// workers handed in during the last one.
	if n := len(batch); n < maxPlanBatch && len(carry) == 0 {
		var more []*planRequest
		for len(batch)+len(more) < maxPlanBatch {
			req := s.planQ.pop()
			if req == nil {
				break
			}
			more = append(more, req)
		}
		take(more)
		if len(batch) > n {
			if snap2, err := s.state.Snapshot(); err != nil {
				answerErr(batch[n:], fmt.Errorf("snapshot state for plan: %w", err))
				batch = batch[:n]
			} else {
				checked = append(checked, s.evaluateBatch(snap2, batchOverlay(checked), batch[n:])...)
			}
		}
	}
	now := time.Now()
	next := &inflightPlan{overlay: planOverlay{}, start: now, done: make(chan struct{})}
	var entries []*structs.ApplyPlanResultsRequest
	for i, c := range checked {
		req := batch[i]
		if c.err != nil {
			req.resp <- planResponse{err: c.err}
			continue
		}
		result := c.result
		if len(result.NodeUpdate) == 0 && len(result.NodeAllocation) == 0 && len(result.NodePreemptions) == 0 &&
			result.Deployment == nil && len(result.DeploymentUpdates) == 0 {
			req.resp <- planResponse{result: result}
			continue
		}
		entry := planResultsRequest(req.plan, result, now)
		entry.Evals = c.evals
		entries = append(entries, entry)
		next.reqs = append(next.reqs, req)
		next.results = append(next.results, result)
		next.overlay.merge(newPlanOverlay(result))
	}
	if len(entries) == 0 {
		return nil, carry
	}
	go func() {
		defer close(next.done)
		defer s.answerPlan(next)
		if s.cfg.planCommitHook != nil {
			for _, req := range next.reqs {
				if next.err = s.cfg.planCommitHook(req.plan); next.err != nil {
					return
				}
			}
		}
		t, body := structs.ApplyPlanResultsRequestType, any(entries[0])
		if len(entries) > 1 {
			t, body = structs.ApplyPlanResultsBatchRequestType, &structs.ApplyPlanResultsBatchRequest{Plans: entries}
		}
		f, err := s.raftApplyAsync(ctx, t, body)
		if err != nil {
			next.err = err
			return
		}
		next.index, next.err = s.raftApplyResult(t, f)
	}()
	return next, carry
}

// checkedPlan is one plan's result from evaluateBatch and the evaluations
// of the jobs it preempts, or why it has none.
type checkedPlan struct {
	result *structs.PlanResult
	evals  []*structs.Evaluation
	err    error
}

// answerErr answers every plan of reqs with err, naming its evaluation.
func answerErr(reqs []*planRequest, err error) {
	for _, req := range reqs {
		req.resp <- planResponse{err: fmt.Errorf("plan for eval %s: %w", req.plan.EvalID, err)}
	}
}

// batchOverlay is the overlay of the results in checked.
func batchOverlay(checked []checkedPlan) planOverlay {
	o := planOverlay{}
	for _, c := range checked {
		if c.err == nil {
			o.merge(newPlanOverlay(c.result))
		}
	}
	return o
}

// evaluateBatch evaluates the batch's plans in order against snap with
// base (the in-flight commit's overlay, or nil) and the results of the
// plans before each. A plan's preemption evaluations are made here too:
// a plan that fails here leaves no result that a later plan counted on.
func (s *Server) evaluateBatch(snap *state.Snapshot, base planOverlay, batch []*planRequest) []checkedPlan {
	out := make([]checkedPlan, len(batch))
	overlay, owned := base, false
	for i, req := range batch {
		result, refused, err := s.evaluatePlanTimed(snap, overlay, req.plan)
		if err != nil {
			out[i].err = err
			continue
		}
		evals, err := preemptionEvals(snap, result, time.Now())
		if err != nil {
			out[i].err = fmt.Errorf("plan for eval %s: %w", req.plan.EvalID, err)
			continue
		}
		if len(refused) > 0 {
			s.logger.Debug("plan partly refused", "eval_id", req.plan.EvalID, "refused_nodes", refused)
		}
		out[i].result, out[i].evals = result, evals
		if i < len(batch)-1 {
			if !owned { // base belongs to the in-flight commit
				o := planOverlay{}
				o.merge(base)
				overlay, owned = o, true
			}
			overlay.merge(newPlanOverlay(result))
		}
	}
	return out
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

// merge adds o2's allocations to o, o2's version of an allocation in both
// winning (o2 is a later plan's overlay).
func (o planOverlay) merge(o2 planOverlay) {
	for node, allocs := range o2 {
		if o[node] == nil {
			o[node] = make(map[string]*structs.Allocation, len(allocs))
		}
		for id, a := range allocs {
			o[node][id] = a
		}
	}
}

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
