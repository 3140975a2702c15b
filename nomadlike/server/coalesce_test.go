package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestBrokerCoalescesWaitingEvals: evaluations of one job waiting behind
// its outstanding one are coalesced on ack: the highest-priority, newest
// runs next, the others are handed over for cancelation naming it.
func TestBrokerCoalescesWaitingEvals(t *testing.T) {
	b, ctx := newTestBroker(t, time.Millisecond, 3)
	first := brokerEval("web", 50, 1)
	b.enqueue(first)
	e, token := dequeueT(t, ctx, b)
	if e.ID != first.ID {
		t.Fatalf("dequeued %s, want the first evaluation", e.ID)
	}
	older, newest, urgent := brokerEval("web", 50, 2), brokerEval("web", 50, 4), brokerEval("web", 70, 3)
	other := brokerEval("api", 50, 5)
	for _, w := range []*structs.Evaluation{older, newest, urgent, other} {
		b.enqueue(w)
	}
	if err := b.ack(e.ID, token); err != nil {
		t.Fatalf("ack: %v", err)
	}
	got := map[string]bool{}
	for range 2 {
		e, token := dequeueT(t, ctx, b)
		got[e.ID] = true
		if err := b.ack(e.ID, token); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
	if !got[urgent.ID] || !got[other.ID] {
		t.Errorf("ran %v, want the highest-priority waiting evaluation of web (%s) and api's (%s)", got, urgent.ID, other.ID)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	canceled, err := b.takeCancelable(cctx)
	if err != nil {
		t.Fatalf("takeCancelable: %v", err)
	}
	ids := map[string]string{}
	for _, c := range canceled {
		ids[c.eval.ID] = c.keptID
	}
	if len(ids) != 2 || ids[older.ID] != urgent.ID || ids[newest.ID] != urgent.ID {
		t.Errorf("canceled %v, want %s and %s, each covered by %s", ids, older.ID, newest.ID, urgent.ID)
	}
	if st := b.stats(); st.Ready+st.Unacked+st.Pending != 0 {
		t.Errorf("broker after coalescing: %+v, want nothing left", st)
	}
}

// TestCanceledEvalsWritten: the leader marks superseded evaluations
// canceled in the state, pointing at the evaluation that covers them.
func TestCanceledEvalsWritten(t *testing.T) {
	s := newTestServer(t, nil)
	registerNode(t, s, mockNode("node-1"))
	registerJob(t, s, mockJob("web", 1, 100, 64))
	waitLiveAllocs(t, s, "web", 1)
	job, err := s.state.JobByID(nil, structs.DefaultNamespace, "web")
	if err != nil || job == nil {
		t.Fatalf("job: %v", err)
	}
	// The registration's own evaluation is done (its plan is applied before
	// the worker acknowledges it): were it still in flight, all three below
	// would wait behind it and its acknowledgement would coalesce them to
	// one (1 complete, 2 canceled), which is what made this test flaky.
	waitFor(t, 20*time.Second, "the registration's evaluation complete", func() (bool, string) {
		evals, err := s.state.EvalsByJob(nil, job.Namespace, job.ID)
		if err != nil {
			return false, err.Error()
		}
		for _, e := range evals {
			if !e.TerminalStatus() {
				return false, "evaluation " + e.ID + " is " + e.Status
			}
		}
		st := s.broker.stats()
		return st.Ready+st.Unacked+st.Pending == 0, fmt.Sprintf("the broker still holds evaluations: %+v", st)
	})
	// Three evaluations written at once: one runs, the two behind it are
	// coalesced into one.
	var evals []*structs.Evaluation
	now := time.Now().UnixNano()
	for range 3 {
		evals = append(evals, &structs.Evaluation{ID: structs.GenerateUUID(), Namespace: job.Namespace, Priority: job.Priority, Type: job.Type,
			TriggeredBy: structs.EvalTriggerJobRegister, JobID: job.ID, Status: structs.EvalStatusPending, CreateTime: now, ModifyTime: now})
	}
	if _, err := s.raftApply(context.Background(), structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: evals}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		statuses := map[string]int{}
		complete := map[string]bool{}
		var canceled *structs.Evaluation
		for _, e := range evals {
			cur, err := s.state.EvalByID(nil, e.ID)
			if err != nil || cur == nil {
				t.Fatalf("eval %s: %v", e.ID, err)
			}
			statuses[cur.Status]++
			switch cur.Status {
			case structs.EvalStatusCancelled:
				canceled = cur
			case structs.EvalStatusComplete:
				complete[cur.ID] = true
			}
		}
		if statuses[structs.EvalStatusComplete] == 2 && statuses[structs.EvalStatusCancelled] == 1 {
			if !complete[canceled.NextEval] {
				t.Errorf("canceled evaluation's NextEval %q, want the completed evaluation that covered it (%v)", canceled.NextEval, complete)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("evaluation statuses %v; want 2 complete and 1 canceled (coalesced)", statuses)
		}
		time.Sleep(20 * time.Millisecond) // polling interval of a condition wait
	}
}
