package scheduler_test

import (
	"math/rand"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// register stores job and processes a registration eval for it.
func register(t *testing.T, h *schedtest.Harness, job *structs.Job) *structs.Evaluation {
	t.Helper()
	h.State.UpsertJob(job)
	eval := schedtest.Eval(job)
	h.State.UpsertEval(eval.Copy())
	if err := h.Process(eval); err != nil {
		t.Fatalf("process eval: %v", err)
	}
	return eval
}

// process runs a new eval of job (by trigger) and returns it.
func process(t *testing.T, h *schedtest.Harness, job *structs.Job, trigger string) *structs.Evaluation {
	t.Helper()
	eval := schedtest.Eval(job)
	eval.TriggeredBy = trigger
	if err := h.Process(eval); err != nil {
		t.Fatalf("process eval: %v", err)
	}
	return eval
}

// planned returns the placements of plan, flattened.
func planned(plan *structs.Plan) []*structs.Allocation {
	var out []*structs.Allocation
	if plan == nil {
		return nil
	}
	for _, list := range plan.NodeAllocation {
		out = append(out, list...)
	}
	return out
}

// stopped returns the stops of plan, flattened.
func stopped(plan *structs.Plan) []*structs.Allocation {
	var out []*structs.Allocation
	if plan == nil {
		return nil
	}
	for _, list := range plan.NodeUpdate {
		out = append(out, list...)
	}
	return out
}

// live returns the job's allocations the server wants running.
func live(h *schedtest.Harness, jobID string) []*structs.Allocation {
	var out []*structs.Allocation
	for _, a := range h.State.Allocs() {
		if a.JobID == jobID && a.DesiredStatus == structs.AllocDesiredStatusRun && !a.ClientTerminalStatus() {
			out = append(out, a)
		}
	}
	return out
}

// names returns the allocations' names.
func names(allocs []*structs.Allocation) []string {
	out := make([]string, len(allocs))
	for i, a := range allocs {
		out[i] = a.Name
	}
	return out
}

// setClientStatus changes a stored allocation's client status.
func setClientStatus(h *schedtest.Harness, a *structs.Allocation, status string) *structs.Allocation {
	n := h.State.AllocByID(a.ID).Copy()
	n.ClientStatus = status
	n.ModifyTime = h.Now.UnixNano()
	h.State.UpsertAllocs(n)
	return n
}

// newRand returns a seeded random source for property tests.
func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }
