package server

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// batchHistory builds random mixed histories for TestFSMBatchMatchesOneByOne:
// the fixture's entry of every message type, interleaved with registrations
// (some with request IDs, some retried, some reusing an ID with another
// fingerprint, which fails), placements on node 1, client updates of them,
// completed evaluations and registrations that fail part-way.
type batchHistory struct {
	r      *rand.Rand
	n      int
	jobs   []batchJob
	allocs []string
	reqs   []structs.WriteOnce
}

type batchJob struct{ id, evalID string }

func (h *batchHistory) id(kind int) string {
	h.n++
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", 0x77000000+kind, h.n)
}

// extra returns one random entry beyond the fixture.
func (h *batchHistory) extra() fixtureEntry {
	t := fxTime(20 + h.n)
	switch k := h.r.Intn(8); {
	case k <= 1 || len(h.jobs) == 0:
		j := batchJob{id: fmt.Sprintf("r%d", h.n), evalID: h.id(1)}
		h.jobs = append(h.jobs, j)
		req := &structs.JobRegisterRequest{Job: fxJob(j.id), Eval: fxEval(j.evalID, j.id, structs.EvalStatusPending), SubmitTime: t.UnixNano()}
		if h.r.Intn(2) == 0 {
			req.Once = structs.WriteOnce{RequestID: h.id(2), Fingerprint: "fp-" + j.id, Time: t.UnixNano()}
			h.reqs = append(h.reqs, req.Once)
		}
		return fixtureEntry{"register " + j.id, structs.JobRegisterRequestType, req}
	case k == 2 && len(h.reqs) > 0:
		// A retry (a no-op) or, one time in three, an ID reused for
		// another request (refused: the entry fails).
		once := h.reqs[h.r.Intn(len(h.reqs))]
		once.Time = t.UnixNano()
		if h.r.Intn(3) == 0 {
			once.Fingerprint = "other"
		}
		j := h.jobs[h.r.Intn(len(h.jobs))]
		return fixtureEntry{"retry " + j.id, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: fxJob(j.id),
			Eval: fxEval(h.id(3), j.id, structs.EvalStatusPending), SubmitTime: t.UnixNano(), Once: once}}
	case k == 3:
		// Fails after storing the job: the evaluation has no ID.
		return fixtureEntry{"half", structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: fxJob("half"), Eval: &structs.Evaluation{JobID: "half"}}}
	case k == 4:
		j := h.jobs[h.r.Intn(len(h.jobs))]
		req := &structs.ApplyPlanResultsRequest{Job: fxJob(j.id), EvalID: j.evalID, Timestamp: t.UnixNano()}
		for i := range 1 + h.r.Intn(3) {
			a := fxAlloc(h.id(4), j.id, fxNode1, j.evalID, "")
			a.Name = fmt.Sprintf("%s.web[%d]", j.id, i)
			req.AllocsPlaced = append(req.AllocsPlaced, a)
			h.allocs = append(h.allocs, a.ID)
		}
		return fixtureEntry{"plan " + j.id, structs.ApplyPlanResultsRequestType, req}
	case k == 5 && len(h.allocs) > 0:
		status := []string{structs.AllocClientStatusRunning, structs.AllocClientStatusComplete, structs.AllocClientStatusFailed}[h.r.Intn(3)]
		return fixtureEntry{"client " + status, structs.AllocClientUpdateRequestType, &structs.AllocClientUpdateRequest{
			Allocs: []*structs.Allocation{{ID: h.allocs[h.r.Intn(len(h.allocs))], NodeID: fxNode1, ClientStatus: status}}, Timestamp: t.UnixNano()}}
	default:
		j := h.jobs[h.r.Intn(len(h.jobs))]
		return fixtureEntry{"eval complete " + j.id, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{
			Evals: []*structs.Evaluation{fxEval(j.evalID, j.id, structs.EvalStatusComplete)}}}
	}
}

// batchChange is a state change as compared: memdb.Change less its
// unexported key.
type batchChange struct {
	Table         string
	Before, After any
}

type batchResult struct {
	Index   uint64
	Repeat  *structs.WriteRecord
	Changes []batchChange
}

// recordResults makes f record each applied entry's Result.
func recordResults(f *fsm) *[]batchResult {
	var out []batchResult
	f.observe = func(index uint64, res state.Result) {
		r := batchResult{Index: res.Index, Repeat: res.Repeat}
		if index != res.Index {
			panic(fmt.Sprintf("entry %d observed with a result at index %d", index, res.Index))
		}
		for _, c := range res.Changes {
			r.Changes = append(r.Changes, batchChange{c.Table, c.Before, c.After})
		}
		out = append(out, r)
	}
	return &out
}

// TestFSMBatchMatchesOneByOne: random mixed histories applied through
// ApplyBatch in random Raft batches (up to 16 entries, with non-command
// entries among them) leave the state, the responses, each entry's Result
// and the published events exactly as applying each entry alone does. A
// batch with an entry that fails is rolled back and applied entry by
// entry, so the failed entry still changes nothing.
func TestFSMBatchMatchesOneByOne(t *testing.T) {
	for seed := range 16 {
		r := rand.New(rand.NewSource(int64(seed)))
		h := &batchHistory{r: r}
		var entries []fixtureEntry
		for _, e := range fsmFixture() {
			for range r.Intn(4) {
				entries = append(entries, h.extra())
			}
			entries = append(entries, e)
		}
		for range 20 {
			entries = append(entries, h.extra())
		}
		var logs []*raft.Log
		index := uint64(100)
		for _, e := range entries {
			if r.Intn(10) == 0 {
				logs = append(logs, &raft.Log{Index: index, Type: raft.LogNoop})
				index++
			}
			buf, err := encodeEntry(e.typ, e.body)
			if err != nil {
				t.Fatalf("encode %s: %v", e.name, err)
			}
			logs = append(logs, &raft.Log{Index: index, Type: raft.LogCommand, Data: buf})
			index++
		}

		single, batched := newTestFSM(t), newTestFSM(t)
		single.events, batched.events = newEventBroker(1<<20, 16), newEventBroker(1<<20, 16)
		singleRes, batchedRes := recordResults(single), recordResults(batched)
		singleResp := make([]any, len(logs))
		for i, l := range logs {
			singleResp[i] = single.Apply(l)
		}
		var batchedResp []any
		for i := 0; i < len(logs); {
			n := min(1+r.Intn(16), len(logs)-i)
			batchedResp = append(batchedResp, batched.ApplyBatch(logs[i:i+n])...)
			i += n
		}

		failed := 0
		for i := range logs {
			s, b := fmt.Sprint(singleResp[i]), fmt.Sprint(batchedResp[i])
			if s != b {
				t.Errorf("seed %d: entry %d: response %s, want %s (one by one)", seed, logs[i].Index, b, s)
			}
			if singleResp[i] != nil {
				failed++
			}
		}
		if failed == 0 {
			t.Errorf("seed %d: no entry failed: the history does not test rollback", seed)
		}
		if diff := cmp.Diff(*singleRes, *batchedRes); diff != "" {
			t.Errorf("seed %d: results differ (-one by one +batched):\n%s", seed, diff)
		}
		if diff := cmp.Diff(single.events.frames, batched.events.frames); diff != "" {
			t.Errorf("seed %d: events differ (-one by one +batched):\n%s", seed, diff)
		}
		if diff := cmp.Diff(allRows(t, single.state), allRows(t, batched.state)); diff != "" {
			t.Errorf("seed %d: state differs (-one by one +batched):\n%s", seed, diff)
		}
		if diff := cmp.Diff(derivedRows(t, single.state), derivedRows(t, batched.state)); diff != "" {
			t.Errorf("seed %d: derived node tables differ (-one by one +batched):\n%s", seed, diff)
		}
		if got, want := batched.appliedIndex(), single.appliedIndex(); got != want {
			t.Errorf("seed %d: applied index %d, want %d", seed, got, want)
		}
		if b, s := batched.state.Commits(), single.state.Commits(); b >= s {
			t.Errorf("seed %d: %d transactions batched, %d one by one: nothing was batched", seed, b, s)
		}
	}
}

// derivedRows returns the store's derived node tables (not in allRows) for
// the fixture's two nodes: usage, and the allocation list (sorted by ID)
// with its index.
func derivedRows(t *testing.T, st *state.Store) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, id := range []string{fxNode1, fxNode2} {
		u, err := st.NodeUsage(nil, id)
		if err != nil {
			t.Fatal(err)
		}
		index, allocs, err := st.NodeAllocs(nil, id)
		if err != nil {
			t.Fatal(err)
		}
		allocs = slices.Clone(allocs)
		slices.SortFunc(allocs, func(a, b state.NodeAlloc) int { return strings.Compare(a.ID, b.ID) })
		out[id] = []any{u, index, allocs}
	}
	return out
}

// TestFSMApplyBatchOneTransaction: a batch of entries that all apply is
// one state store transaction, and none of it is visible before all of it
// is (a reader of the store sees the state before the batch or after).
func TestFSMApplyBatchOneTransaction(t *testing.T) {
	f := newTestFSM(t)
	var logs []*raft.Log
	for i := range 16 {
		job := fxJob(fmt.Sprintf("b%d", i))
		buf, err := encodeEntry(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job,
			Eval: fxEval(fmt.Sprintf("88888888-0000-4000-8000-%012d", i), job.ID, structs.EvalStatusPending), SubmitTime: fxTime(1).UnixNano()})
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, &raft.Log{Index: uint64(10 + i), Type: raft.LogCommand, Data: buf})
	}
	var seen []int
	f.observe = func(index uint64, res state.Result) {
		// Told after the commit: every job of the batch is already there.
		jobs, err := f.state.Jobs(nil, structs.DefaultNamespace)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, len(jobs))
	}
	for i, resp := range f.ApplyBatch(logs) {
		if resp != nil {
			t.Fatalf("entry %d: %v", i, resp)
		}
	}
	if got := f.state.Commits(); got != 1 {
		t.Errorf("%d transactions for a batch of 16 entries, want 1", got)
	}
	for i, n := range seen {
		if n != 16 {
			t.Errorf("entry %d told with %d jobs stored, want all 16", i, n)
		}
	}
	if len(seen) != 16 {
		t.Errorf("%d entries told, want 16", len(seen))
	}
}

// TestFSMApplyBatchBounded: a batch whose entries change many objects is
// applied in several transactions of about maxBatchChanges changes (the
// radix tree's notification tracking stays bounded), with the same state
// as one by one.
func TestFSMApplyBatchBounded(t *testing.T) {
	single, batched := newTestFSM(t), newTestFSM(t)
	var logs []*raft.Log
	add := func(typ structs.MessageType, body any) {
		buf, err := encodeEntry(typ, body)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, &raft.Log{Index: uint64(10 + len(logs)), Type: raft.LogCommand, Data: buf})
	}
	add(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: fxNode(fxNode1, "n1"), Timestamp: fxTime(0).UnixNano()})
	add(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: fxJob("big"), Eval: fxEval(fxEvalWeb, "big", structs.EvalStatusPending), SubmitTime: fxTime(1).UnixNano()})
	const plans, perPlan = 16, 100
	for p := range plans {
		req := &structs.ApplyPlanResultsRequest{Job: fxJob("big"), EvalID: fxEvalWeb, Timestamp: fxTime(2 + p).UnixNano()}
		for i := range perPlan {
			a := fxAlloc(fmt.Sprintf("99999999-0000-4000-8000-%06d%06d", p, i), "big", fxNode1, fxEvalWeb, "")
			a.Name = fmt.Sprintf("big.web[%d]", p*perPlan+i)
			req.AllocsPlaced = append(req.AllocsPlaced, a)
		}
		add(structs.ApplyPlanResultsRequestType, req)
	}
	for _, l := range logs {
		if resp := single.Apply(l); resp != nil {
			t.Fatalf("Apply %d: %v", l.Index, resp)
		}
	}
	for i, resp := range batched.ApplyBatch(logs) {
		if resp != nil {
			t.Fatalf("entry %d: %v", i, resp)
		}
	}
	// Each plan changes a little over perPlan objects: about
	// maxBatchChanges/perPlan plans fit in a transaction.
	if got, most := batched.state.Commits(), uint64(plans*perPlan/maxBatchChanges+3); got < 2 || got > most {
		t.Errorf("%d transactions for %d plans of %d placements, want 2 to %d", got, plans, perPlan, most)
	}
	if diff := cmp.Diff(allRows(t, single.state), allRows(t, batched.state)); diff != "" {
		t.Errorf("state differs (-one by one +batched):\n%s", diff)
	}
	if diff := cmp.Diff(derivedRows(t, single.state), derivedRows(t, batched.state)); diff != "" {
		t.Errorf("derived node tables differ (-one by one +batched):\n%s", diff)
	}
}
