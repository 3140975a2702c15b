package schedtest

import (
	"fmt"
	"log/slog"
	"math/rand"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var _ scheduler.Planner = (*Harness)(nil)

// Harness is a scheduler.Planner that applies submitted plans to an
// in-memory State, records every call, and can refuse the placements and
// stops on chosen nodes to simulate a partial commit.
type Harness struct {
	// State is the cluster; Process snapshots it for each scheduler.
	State *State
	// Plans, Results, Updated and Created record the Planner calls in order.
	Plans   []*structs.Plan
	Results []*structs.PlanResult
	Updated []*structs.Evaluation
	Created []*structs.Evaluation
	// NoApply makes SubmitPlan accept every plan without changing State
	// (for benchmarks that run the same evaluation repeatedly).
	NoApply bool
	// Rng and Now feed the scheduler; Process uses them.
	Rng *rand.Rand
	Now time.Time
	// Logger is passed to the scheduler; nil discards.
	Logger *slog.Logger
	// CheckFit makes SubmitPlan refuse every change on a node the plan would
	// over-commit (resources, cores or ports), as the server's plan applier
	// does when the scheduler planned against stale state.
	CheckFit bool

	refuse map[string]int // node ID -> plans still to refuse; negative refuses forever
}

// NewHarness returns a harness over an empty state with a fixed seed and clock.
func NewHarness() *Harness {
	return &Harness{
		State:  NewState(),
		Rng:    rand.New(rand.NewSource(1)),
		Now:    time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC),
		refuse: map[string]int{},
	}
}

// RefuseNode makes the next times plans refuse their changes on nodeID
// (times < 0: always), as the plan applier does when a node filled up.
func (h *Harness) RefuseNode(nodeID string, times int) { h.refuse[nodeID] = times }

// Process runs the scheduler for eval.Type against a snapshot of State.
func (h *Harness) Process(eval *structs.Evaluation) error {
	s, err := h.Scheduler(eval.Type)
	if err != nil {
		return err
	}
	return s.Process(eval)
}

// Scheduler returns a scheduler of jobType over a snapshot of State taken
// now. Processing it after other plans were applied plans against stale
// state, as concurrent server workers do.
func (h *Harness) Scheduler(jobType string) (scheduler.Scheduler, error) {
	return scheduler.NewScheduler(jobType, h.Logger, h.State.Snapshot(), h, h.Rng, func() time.Time { return h.Now })
}

// SubmitPlan implements scheduler.Planner.
func (h *Harness) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, scheduler.State, error) {
	h.Plans = append(h.Plans, plan)
	result := &structs.PlanResult{NodeUpdate: map[string][]*structs.Allocation{}, NodeAllocation: map[string][]*structs.Allocation{}}
	refused := false
	overcommit := map[string]bool{}
	if h.CheckFit {
		overcommit = h.overcommitted(plan)
	}
	refuses := func(node string) bool {
		n, ok := h.refuse[node]
		return ok && n != 0 || overcommit[node]
	}
	touched := map[string]bool{}
	for node, allocs := range plan.NodeUpdate {
		touched[node] = true
		if refuses(node) {
			refused = true
			continue
		}
		result.NodeUpdate[node] = allocs
	}
	for node, allocs := range plan.NodeAllocation {
		touched[node] = true
		if refuses(node) {
			refused = true
			continue
		}
		result.NodeAllocation[node] = allocs
	}
	for node, allocs := range plan.NodePreemptions {
		touched[node] = true
		if refuses(node) {
			refused = true
			continue
		}
		if result.NodePreemptions == nil {
			result.NodePreemptions = map[string][]*structs.Allocation{}
		}
		result.NodePreemptions[node] = allocs
	}
	for node := range touched {
		if n := h.refuse[node]; n > 0 {
			h.refuse[node] = n - 1
		}
	}
	result.Deployment, result.DeploymentUpdates = plan.Deployment, plan.DeploymentUpdates
	if !h.NoApply {
		h.State.applyDeployment(plan.Deployment, plan.DeploymentUpdates)
		if err := h.apply(plan, result); err != nil {
			return nil, nil, err
		}
	}
	result.AllocIndex, _ = h.State.LatestIndex()
	h.Results = append(h.Results, result)
	if refused {
		result.RefreshIndex = result.AllocIndex
		return result, h.State.Snapshot(), nil
	}
	return result, nil, nil
}

// apply commits result to State as the FSM would: stops update the stored
// allocation's desired status, placements get the plan's job when they carry none.
func (h *Harness) apply(plan *structs.Plan, result *structs.PlanResult) error {
	var upserts []*structs.Allocation
	for _, allocs := range result.NodePreemptions {
		for _, ev := range allocs {
			old := h.State.AllocByID(ev.ID)
			if old == nil {
				return fmt.Errorf("plan for eval %s preempts allocation %s, which does not exist", plan.EvalID, ev.ID)
			}
			n := old.Copy()
			n.DesiredStatus = structs.AllocDesiredStatusEvict
			n.DesiredDescription = ev.DesiredDescription
			n.PreemptedByAllocation = ev.PreemptedByAllocation
			n.ModifyTime = h.Now.UnixNano()
			upserts = append(upserts, n)
		}
	}
	for _, allocs := range result.NodeUpdate {
		for _, stop := range allocs {
			old := h.State.AllocByID(stop.ID)
			if old == nil {
				return fmt.Errorf("plan for eval %s stops allocation %s, which does not exist", plan.EvalID, stop.ID)
			}
			n := old.Copy()
			n.DesiredStatus = stop.DesiredStatus
			n.DesiredDescription = stop.DesiredDescription
			n.ClientStatus = stop.ClientStatus
			if stop.NextAllocation != "" {
				n.NextAllocation = stop.NextAllocation
			}
			n.ModifyTime = h.Now.UnixNano()
			upserts = append(upserts, n)
		}
	}
	for _, allocs := range result.NodeAllocation {
		for _, a := range allocs {
			n := a.Copy()
			if n.Job == nil {
				n.Job = plan.Job
			}
			upserts = append(upserts, n)
		}
	}
	h.State.UpsertAllocs(upserts...)
	return nil
}

// overcommitted returns the nodes plan would over-commit: their stored
// allocations, less the plan's stops and evictions, plus its placements, do
// not fit (structs.AllocsFit), or the node is gone.
func (h *Harness) overcommitted(plan *structs.Plan) map[string]bool {
	out := map[string]bool{}
	for nodeID, placed := range plan.NodeAllocation {
		node, _ := h.State.NodeByID(nil, nodeID)
		if node == nil {
			out[nodeID] = true
			continue
		}
		removed := map[string]bool{}
		for _, a := range plan.NodeUpdate[nodeID] {
			removed[a.ID] = true
		}
		for _, a := range plan.NodePreemptions[nodeID] {
			removed[a.ID] = true
		}
		for _, a := range placed {
			removed[a.ID] = true // an in-place update replaces the stored version
		}
		existing, _ := h.State.AllocsByNode(nil, nodeID)
		var proposed []*structs.Allocation
		for _, a := range existing {
			if !removed[a.ID] {
				proposed = append(proposed, a)
			}
		}
		proposed = append(proposed, placed...)
		if ok, _, _ := structs.AllocsFit(node, proposed); !ok {
			out[nodeID] = true
		}
	}
	return out
}

// UpdateEval implements scheduler.Planner.
func (h *Harness) UpdateEval(e *structs.Evaluation) error {
	h.Updated = append(h.Updated, e)
	h.State.UpsertEval(e.Copy())
	return nil
}

// CreateEval implements scheduler.Planner.
func (h *Harness) CreateEval(e *structs.Evaluation) error {
	h.Created = append(h.Created, e)
	h.State.UpsertEval(e.Copy())
	return nil
}

// LastEval returns the evaluation of the last UpdateEval call, or nil.
func (h *Harness) LastEval() *structs.Evaluation {
	if len(h.Updated) == 0 {
		return nil
	}
	return h.Updated[len(h.Updated)-1]
}

// LastPlan returns the last submitted plan, or nil.
func (h *Harness) LastPlan() *structs.Plan {
	if len(h.Plans) == 0 {
		return nil
	}
	return h.Plans[len(h.Plans)-1]
}
