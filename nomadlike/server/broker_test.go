package server

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func newTestBroker(t *testing.T, nackDelay time.Duration, limit int) (*evalBroker, context.Context) {
	t.Helper()
	b := newEvalBroker(discardLogger(), time.Minute, nackDelay, limit)
	b.setEnabled(true)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b.runDelayed(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait(); b.setEnabled(false) })
	return b, ctx
}

func brokerEval(jobID string, priority int, createIndex uint64) *structs.Evaluation {
	e := testEval(jobID, structs.EvalStatusPending)
	e.Priority, e.CreateIndex, e.ModifyIndex = priority, createIndex, createIndex
	return e
}

func dequeueT(t *testing.T, ctx context.Context, b *evalBroker) (*structs.Evaluation, string) {
	t.Helper()
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	e, token, err := b.dequeue(dctx, schedulerTypes)
	if err != nil {
		t.Fatalf("dequeue: %v", err)
	}
	return e, token
}

func TestBrokerOrdering(t *testing.T) {
	b, ctx := newTestBroker(t, time.Millisecond, 3)
	low := brokerEval("a", 10, 1)
	high := brokerEval("b", 90, 3)
	midOld := brokerEval("c", 50, 2)
	midNew := brokerEval("d", 50, 4)
	for _, e := range []*structs.Evaluation{low, midNew, high, midOld} {
		b.enqueue(e)
	}
	var got []string
	for range 4 {
		e, token := dequeueT(t, ctx, b)
		got = append(got, e.JobID)
		if err := b.ack(e.ID, token); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
	want := []string{"b", "c", "d", "a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dequeue order (-want +got):\n%s", diff)
	}
}

func TestBrokerPerJobSerialisation(t *testing.T) {
	b, ctx := newTestBroker(t, time.Millisecond, 3)
	first := brokerEval("web", 50, 1)
	second := brokerEval("web", 50, 2)
	other := brokerEval("db", 50, 3)
	b.enqueue(first)
	b.enqueue(second)
	b.enqueue(other)

	e1, tok1 := dequeueT(t, ctx, b)
	e2, tok2 := dequeueT(t, ctx, b)
	if e1.ID != first.ID || e2.ID != other.ID {
		t.Fatalf("got %s then %s, want web's first eval then db's (web's second waits)", e1.JobID, e2.JobID)
	}
	if s := b.stats(); s.Pending != 1 || s.Unacked != 2 {
		t.Errorf("stats: got %+v, want 1 pending and 2 unacked", s)
	}
	// Nothing else is ready until web's first eval is acked.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	if e, _, err := b.dequeue(short, schedulerTypes); err == nil {
		t.Errorf("dequeue while web's eval is outstanding: got %s, want a timeout", e.ID)
	}
	cancel()
	if err := b.ack(e2.ID, tok2); err != nil {
		t.Fatalf("ack db: %v", err)
	}
	if err := b.ack(e1.ID, tok1); err != nil {
		t.Fatalf("ack web: %v", err)
	}
	e3, tok3 := dequeueT(t, ctx, b)
	if e3.ID != second.ID {
		t.Errorf("after ack: got %s, want web's second eval", e3.ID)
	}
	if err := b.ack(e3.ID, tok3); err != nil {
		t.Fatalf("ack: %v", err)
	}
	if err := b.ack(e3.ID, tok3); err == nil {
		t.Errorf("second ack of the same eval: got nil, want an error")
	}
}

func TestBrokerNackRedeliveryAndLimit(t *testing.T) {
	b, ctx := newTestBroker(t, 10*time.Millisecond, 2)
	e := brokerEval("web", 50, 1)
	b.enqueue(e)
	got, token := dequeueT(t, ctx, b)
	if err := b.nack(got.ID, "wrong-token"); err == nil {
		t.Errorf("nack with a wrong token: got nil, want an error")
	}
	if err := b.nack(got.ID, token); err != nil {
		t.Fatalf("nack: %v", err)
	}
	again, token2 := dequeueT(t, ctx, b)
	if again.ID != e.ID || token2 == token {
		t.Fatalf("redelivery: got %s token %s, want %s with a new token", again.ID, token2, e.ID)
	}
	if err := b.nack(again.ID, token2); err != nil {
		t.Fatalf("second nack: %v", err)
	}
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	failed, err := b.takeFailed(fctx)
	if err != nil {
		t.Fatalf("takeFailed: %v", err)
	}
	if len(failed) != 1 || failed[0].ID != e.ID {
		t.Errorf("failed evals: got %v, want [%s] after the delivery limit of 2", failed, e.ID)
	}
}

func TestBrokerNackTimeout(t *testing.T) {
	b := newEvalBroker(discardLogger(), 20*time.Millisecond, 0, 3)
	b.setEnabled(true)
	t.Cleanup(func() { b.setEnabled(false) })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b.runDelayed(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	e := brokerEval("web", 50, 1)
	b.enqueue(e)
	_, token := dequeueT(t, ctx, b)
	// Not acked: the nack timeout redelivers it.
	again, token2 := dequeueT(t, ctx, b)
	if again.ID != e.ID || token2 == token {
		t.Errorf("after the nack timeout: got %s token %s, want %s with a new token", again.ID, token2, e.ID)
	}
}

func TestBrokerDelayedEval(t *testing.T) {
	b, ctx := newTestBroker(t, time.Millisecond, 3)
	delayed := brokerEval("later", 90, 1)
	delayed.WaitUntil = time.Now().Add(150 * time.Millisecond)
	now := brokerEval("now", 10, 2)
	b.enqueue(delayed)
	b.enqueue(now)
	if s := b.stats(); s.Delayed != 1 || s.Ready != 1 {
		t.Errorf("stats: got %+v, want 1 delayed and 1 ready", s)
	}
	e1, tok := dequeueT(t, ctx, b)
	if e1.ID != now.ID {
		t.Errorf("first: got %s, want the undelayed eval despite its lower priority", e1.JobID)
	}
	if err := b.ack(e1.ID, tok); err != nil {
		t.Fatalf("ack: %v", err)
	}
	e2, _ := dequeueT(t, ctx, b)
	if e2.ID != delayed.ID {
		t.Errorf("second: got %s, want the delayed eval", e2.JobID)
	}
	if time.Now().Before(delayed.WaitUntil) {
		t.Errorf("delayed eval delivered before its WaitUntil")
	}
}

func TestBrokerDisabledDropsAndFails(t *testing.T) {
	b := newEvalBroker(discardLogger(), time.Minute, time.Millisecond, 3)
	b.enqueue(brokerEval("web", 50, 1))
	if s := b.stats(); s.Ready != 0 {
		t.Errorf("disabled broker queued %d evals, want 0", s.Ready)
	}
	if _, _, err := b.dequeue(context.Background(), schedulerTypes); err != errBrokerDisabled {
		t.Errorf("dequeue on a disabled broker: got %v, want errBrokerDisabled", err)
	}
}

// TestBrokerPause: a paused broker drops its queue, accepts nothing and
// keeps its workers waiting (not returning, as on losing leadership); once
// resumed, a waiting worker gets the next evaluation.
func TestBrokerPause(t *testing.T) {
	b, ctx := newTestBroker(t, time.Millisecond, 3)
	b.enqueue(brokerEval("queued", 50, 1))
	if !b.setPaused(true) {
		t.Fatal("setPaused(true) on an enabled broker reported no change")
	}
	if b.setPaused(true) {
		t.Error("pausing a paused broker reported a change")
	}
	b.enqueue(brokerEval("while-paused", 50, 2))
	if s := b.stats(); s.Ready != 0 || s.Pending != 0 {
		t.Errorf("paused broker holds %+v, want nothing", s)
	}
	got := make(chan *structs.Evaluation, 1)
	errc := make(chan error, 1)
	go func() {
		e, _, err := b.dequeue(ctx, schedulerTypes)
		if err != nil {
			errc <- err
			return
		}
		got <- e
	}()
	// The worker must still be waiting: a short deadline, not a sleep, shows it.
	select {
	case e := <-got:
		t.Fatalf("paused broker handed out %s", e.JobID)
	case err := <-errc:
		t.Fatalf("dequeue on a paused broker returned %v, want it to wait", err)
	case <-time.After(50 * time.Millisecond):
	}
	if !b.setPaused(false) {
		t.Fatal("resuming reported no change")
	}
	b.enqueue(brokerEval("after", 50, 3))
	select {
	case e := <-got:
		if e.JobID != "after" {
			t.Errorf("dequeued %s after resuming, want after", e.JobID)
		}
	case err := <-errc:
		t.Fatalf("dequeue: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting worker got nothing after the broker resumed")
	}
	// On a follower (disabled broker) pausing changes nothing to act on.
	f := newEvalBroker(discardLogger(), time.Minute, time.Millisecond, 3)
	if f.setPaused(true) {
		t.Error("pausing a disabled broker asked the caller to act")
	}
}

// TestBrokerOldestAges: the broker reports, per scheduler type, how long
// its oldest ready evaluation has waited and its oldest unacked one has
// been held (the gauges nomadlike_broker_oldest_eval_age_seconds).
func TestBrokerOldestAges(t *testing.T) {
	b, ctx := newTestBroker(t, time.Millisecond, 3)
	var clock atomic.Int64
	t0 := time.Unix(1_000_000, 0)
	b.mu.Lock()
	b.now = func() time.Time { return t0.Add(time.Duration(clock.Load())) }
	b.mu.Unlock()
	advance := func(d time.Duration) { clock.Add(int64(d)) }

	old := brokerEval("old", 50, 1)
	b.enqueue(old) // ready at t0
	advance(10 * time.Second)
	b.enqueue(brokerEval("new", 90, 2)) // ready at t0+10s, dequeued first
	batch := brokerEval("batch", 50, 3)
	batch.Type = structs.JobTypeBatch
	b.enqueue(batch) // ready at t0+10s
	advance(5 * time.Second)
	e, _ := dequeueT(t, ctx, b) // "new", held from t0+15s
	if e.JobID != "new" {
		t.Fatalf("dequeued %q, want the high-priority %q", e.JobID, "new")
	}
	advance(2 * time.Second)
	got := b.stats()
	wantReady := map[string]time.Duration{structs.JobTypeService: 17 * time.Second, structs.JobTypeBatch: 7 * time.Second}
	wantUnacked := map[string]time.Duration{structs.JobTypeService: 2 * time.Second}
	if diff := cmp.Diff(wantReady, got.OldestReady); diff != "" {
		t.Errorf("OldestReady (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantUnacked, got.OldestUnacked); diff != "" {
		t.Errorf("OldestUnacked (-want +got):\n%s", diff)
	}
}
