package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// frame returns a frame at index with one event per (topic, key) pair, in
// the default namespace except for nodes.
func frame(index uint64, pairs ...string) structs.Events {
	ev := structs.Events{Index: index}
	for i := 0; i+1 < len(pairs); i += 2 {
		e := structs.Event{Topic: structs.Topic(pairs[i]), Key: pairs[i+1], Index: index, Namespace: structs.DefaultNamespace}
		if e.Topic == structs.TopicNode {
			e.Namespace = ""
		}
		ev.Events = append(ev.Events, e)
	}
	return ev
}

// next returns the subscription's next frame or fails within a deadline.
func next(t *testing.T, sub *EventSubscription) structs.Events {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, err := sub.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return ev
}

// keys lists the "Topic:Key" of a frame's events.
func keys(ev structs.Events) []string {
	var out []string
	for _, e := range ev.Events {
		out = append(out, string(e.Topic)+":"+e.Key)
	}
	return out
}

// pending reports whether sub has a frame ready without waiting.
func pending(sub *EventSubscription) bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return len(sub.queue) > 0
}

func TestEventBrokerPublishSubscribe(t *testing.T) {
	b := newEventBroker(100, 10)
	sub := b.subscribe(EventSubscribeRequest{Namespace: "*"})
	defer sub.Close()
	b.publish(frame(5, "Job", "web", "Evaluation", "e1"))
	b.publish(structs.Events{Index: 6}) // nothing to say: not sent
	b.publish(frame(7, "Node", "n1"))
	if got, want := next(t, sub), frame(5, "Job", "web", "Evaluation", "e1"); !cmp.Equal(want, got) {
		t.Errorf("first frame (-want +got):\n%s", cmp.Diff(want, got))
	}
	if got := next(t, sub); got.Index != 7 {
		t.Errorf("second frame at index %d, want 7", got.Index)
	}
	sub.Close()
	if _, err := sub.Next(context.Background()); err == nil {
		t.Errorf("Next after Close: got nil error")
	}
	if n := b.subscribers(); n != 0 {
		t.Errorf("subscribers after Close: got %d, want 0", n)
	}
}

func TestEventBrokerFilters(t *testing.T) {
	ev := structs.Events{Index: 9, Events: []structs.Event{
		{Topic: structs.TopicJob, Key: "web", Namespace: "default"},
		{Topic: structs.TopicAllocation, Key: "a1", Namespace: "default", FilterKeys: []string{"web", "d1"}},
		{Topic: structs.TopicAllocation, Key: "a2", Namespace: "default", FilterKeys: []string{"db", ""}},
		{Topic: structs.TopicEvaluation, Key: "e1", Namespace: "prod", FilterKeys: []string{"web"}},
		{Topic: structs.TopicNode, Key: "n1"},
	}}
	tests := []struct {
		name      string
		topics    map[structs.Topic][]string
		namespace string
		want      []string
	}{
		{"everything, all namespaces", nil, "*", []string{"Job:web", "Allocation:a1", "Allocation:a2", "Evaluation:e1", "Node:n1"}},
		{"everything, default namespace", nil, "default", []string{"Job:web", "Allocation:a1", "Allocation:a2", "Node:n1"}},
		{"wildcard topic", map[structs.Topic][]string{"*": {"*"}}, "prod", []string{"Evaluation:e1", "Node:n1"}},
		{"one topic", map[structs.Topic][]string{"Allocation": {"*"}}, "default", []string{"Allocation:a1", "Allocation:a2"}},
		{"by key or filter key", map[structs.Topic][]string{"Job": {"web"}, "Allocation": {"web"}}, "*", []string{"Job:web", "Allocation:a1"}},
		{"key of any topic", map[structs.Topic][]string{"*": {"web"}}, "*", []string{"Job:web", "Allocation:a1", "Evaluation:e1"}},
		{"deployment filter key", map[structs.Topic][]string{"Allocation": {"d1"}}, "*", []string{"Allocation:a1"}},
		{"no match", map[structs.Topic][]string{"Deployment": {"*"}}, "*", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := newEventFilter(EventSubscribeRequest{Topics: tc.topics, Namespace: tc.namespace}).match(ev)
			if ok != (len(tc.want) > 0) {
				t.Errorf("match reported %v, want %v", ok, len(tc.want) > 0)
			}
			if diff := cmp.Diff(tc.want, keys(got)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventBrokerReplay(t *testing.T) {
	b := newEventBroker(6, 10) // keeps 6 events: 3 frames of 2
	for i := uint64(1); i <= 5; i++ {
		b.publish(frame(i*10, "Job", fmt.Sprint("j", i), "Evaluation", fmt.Sprint("e", i)))
	}
	tests := []struct {
		name  string
		index uint64
		want  []uint64
	}{
		{"index 0 replays the buffer", 0, []uint64{30, 40, 50}},
		{"index in the buffer", 40, []uint64{40, 50}},
		{"index between frames", 35, []uint64{40, 50}},
		{"index older than the buffer starts at the oldest kept", 1, []uint64{30, 40, 50}},
		{"index ahead of the buffer", 51, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sub := b.subscribe(EventSubscribeRequest{Namespace: "*", Index: tc.index})
			defer sub.Close()
			var got []uint64
			for pending(sub) {
				got = append(got, next(t, sub).Index)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("replayed indexes (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("replay then live, filtered", func(t *testing.T) {
		sub := b.subscribe(EventSubscribeRequest{Namespace: "*", Index: 50, Topics: map[structs.Topic][]string{"Job": {"*"}}})
		defer sub.Close()
		b.publish(frame(60, "Job", "j6", "Evaluation", "e6"))
		if got, want := keys(next(t, sub)), []string{"Job:j5"}; !cmp.Equal(want, got) {
			t.Errorf("replayed: got %v, want %v", got, want)
		}
		if got, want := keys(next(t, sub)), []string{"Job:j6"}; !cmp.Equal(want, got) {
			t.Errorf("live: got %v, want %v", got, want)
		}
	})
}

func TestEventBrokerSlowSubscriberDropped(t *testing.T) {
	b := newEventBroker(100, 3)
	slow := b.subscribe(EventSubscribeRequest{Namespace: "*"})
	defer slow.Close()
	fast := b.subscribe(EventSubscribeRequest{Namespace: "*"})
	defer fast.Close()

	// The publisher never waits for anyone: this returns although slow
	// reads nothing. fast keeps up.
	for i := uint64(1); i <= 10; i++ {
		b.publish(frame(i, "Job", "web"))
		if got := next(t, fast); got.Index != i {
			t.Fatalf("fast subscriber: got index %d, want %d", got.Index, i)
		}
	}
	if n := b.subscribers(); n != 1 {
		t.Errorf("subscribers: got %d, want 1 (slow one dropped)", n)
	}
	// slow gets what was queued before the overflow, then the reason.
	for want := uint64(1); want <= 3; want++ {
		if got := next(t, slow); got.Index != want {
			t.Errorf("slow subscriber: got index %d, want %d", got.Index, want)
		}
	}
	_, err := slow.Next(context.Background())
	if !errors.Is(err, ErrEventSubscriberTooSlow) {
		t.Fatalf("slow subscriber's end: got %v, want ErrEventSubscriberTooSlow", err)
	}
	// It says how to resume: from the first frame it lost.
	if !strings.Contains(err.Error(), "reconnect with index=4") {
		t.Errorf("slow subscriber's end: %q does not say to reconnect with index=4", err)
	}
}

func TestEventBrokerNextWaitsForPublish(t *testing.T) {
	b := newEventBroker(100, 10)
	sub := b.subscribe(EventSubscribeRequest{Namespace: "*"})
	defer sub.Close()
	got := make(chan structs.Events, 1)
	go func() {
		ev, err := sub.Next(context.Background())
		if err == nil {
			got <- ev
		}
		close(got)
	}()
	b.publish(frame(3, "Node", "n1"))
	select {
	case ev := <-got:
		if ev.Index != 3 {
			t.Errorf("got index %d, want 3", ev.Index)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return the published frame within 5s")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sub.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with a cancelled context: got %v, want context.Canceled", err)
	}
}

// TestFSMPublishesEvents applies entries through the FSM and checks the
// events made from their transactions' change sets: types as Nomad names
// them, one event per object the entry wrote (a job whose status the entry
// changed included), payloads as stored (with their indexes), allocations
// without their job.
func TestFSMPublishesEvents(t *testing.T) {
	f := newTestFSM(t)
	sub := f.events.subscribe(EventSubscribeRequest{Namespace: "*"})
	defer sub.Close()
	node, job, alloc := populateFSM(t, f)

	want := map[uint64][]string{
		10: {"Node:NodeRegistration:" + node.ID},
		11: {"Job:JobRegistered:web", "Evaluation:JobRegistered:"},
		// The placement made the job running.
		12: {"Allocation:PlanResult:" + alloc.ID, "Job:PlanResult:web"},
	}
	for i := uint64(10); i <= 12; i++ {
		ev := next(t, sub)
		if ev.Index != i {
			t.Fatalf("frame index: got %d, want %d", ev.Index, i)
		}
		var got []string
		for _, e := range ev.Events {
			k := e.Key
			if e.Topic == structs.TopicEvaluation {
				k = ""
			}
			got = append(got, fmt.Sprintf("%s:%s:%s", e.Topic, e.Type, k))
			if e.Index != i {
				t.Errorf("event %s index: got %d, want %d", e.Key, e.Index, i)
			}
			switch p := e.Payload; {
			case p.Job != nil:
				if p.Job.ModifyIndex != i || p.Job.ID != job.ID {
					t.Errorf("job payload: got %s at index %d, want web at %d", p.Job.ID, p.Job.ModifyIndex, i)
				}
			case p.Allocation != nil:
				if p.Allocation.Job != nil {
					t.Errorf("allocation payload carries its job; Nomad sends it without")
				}
				if !cmp.Equal(e.FilterKeys, []string{"web", ""}) {
					t.Errorf("allocation filter keys: got %q, want [web \"\"]", e.FilterKeys)
				}
			case p.Node != nil:
				if p.Node.SecretID != "" {
					t.Errorf("node payload carries the node's secret")
				}
				if e.Namespace != "" {
					t.Errorf("node event namespace: got %q, want none", e.Namespace)
				}
			}
		}
		if diff := cmp.Diff(want[i], got); diff != "" {
			t.Errorf("events at index %d (-want +got):\n%s", i, diff)
		}
	}
	// The store's alloc still has its job: the payload was a copy.
	if stored, err := f.state.AllocByID(nil, alloc.ID); err != nil || stored == nil || stored.Job == nil {
		t.Errorf("stored allocation lost its job: %+v, %v", stored, err)
	}

	// The rest, by topic and type only.
	applyEntry(t, f, 20, structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{
		NodeID: node.ID, Status: structs.NodeStatusDown, Timestamp: int64(5 * time.Second)})
	applyEntry(t, f, 21, structs.AllocDesiredUpdateRequestType, &structs.AllocDesiredUpdateRequest{
		AllocIDs: []string{alloc.ID}, DesiredStatus: structs.AllocDesiredStatusStop, Timestamp: 300})
	applyEntry(t, f, 22, structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{
		JobID: "web", Namespace: structs.DefaultNamespace, Eval: testEval("web", structs.EvalStatusPending), SubmitTime: 77})
	applyEntry(t, f, 23, structs.EvalDeleteRequestType, &structs.EvalDeleteRequest{Allocs: []string{alloc.ID}})
	applyEntry(t, f, 24, structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{
		JobID: "web", Namespace: structs.DefaultNamespace, Purge: true})
	applyEntry(t, f, 25, structs.NodeUpdateDrainRequestType, &structs.NodeUpdateDrainRequest{
		NodeID: node.ID, DrainStrategy: &structs.DrainStrategy{}, UpdatedAt: 6,
		Evals: []*structs.Evaluation{testEval("web", structs.EvalStatusPending)}})
	applyEntry(t, f, 26, structs.NodeUpdateEligibilityRequestType, &structs.NodeUpdateEligibilityRequest{
		NodeID: node.ID, Eligibility: structs.NodeSchedulingIneligible, UpdatedAt: 7})
	applyEntry(t, f, 27, structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: []string{node.ID}})
	rest := []struct {
		index uint64
		want  []string
	}{
		{13, []string{"Allocation:AllocationUpdated"}},
		{14, []string{"Evaluation:EvaluationUpdated"}},
		{20, []string{"Node:NodeEvent"}},
		// Stopping the only allocation made the job dead.
		{21, []string{"Allocation:AllocationUpdateDesiredStatus", "Job:AllocationUpdateDesiredStatus"}},
		// The pending evaluation made the stopped job pending again after
		// it was stored: the job's last write comes last.
		{22, []string{"Evaluation:JobDeregistered", "Job:JobDeregistered"}},
		// 23 (GC) has no events.
		{24, []string{"Job:JobDeregistered"}},
		{25, []string{"Node:NodeDrain", "Evaluation:NodeDrain"}},
		{26, []string{"Node:NodeDrain"}},
		{27, []string{"Node:NodeDeregistration"}},
	}
	for _, r := range rest {
		ev := next(t, sub)
		var got []string
		for _, e := range ev.Events {
			got = append(got, fmt.Sprintf("%s:%s", e.Topic, e.Type))
		}
		if ev.Index != r.index || !cmp.Equal(r.want, got) {
			t.Errorf("frame: got index %d %v, want %d %v", ev.Index, got, r.index, r.want)
		}
	}

}

// BenchmarkEventPublish measures publishing frames of 4 events with 0 and
// 10 subscribers that keep up (each takes every frame).
func BenchmarkEventPublish(b *testing.B) {
	for _, n := range []int{0, 10} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			br := newEventBroker(eventBufferSize, 1<<30)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for range n {
				sub := br.subscribe(EventSubscribeRequest{Namespace: "*"})
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer sub.Close()
					for {
						if _, err := sub.Next(ctx); err != nil {
							return
						}
					}
				}()
			}
			ev := frame(1, "Job", "web", "Evaluation", "e1", "Allocation", "a1", "Allocation", "a2")
			b.ResetTimer()
			for i := range b.N {
				ev.Index = uint64(i + 1)
				br.publish(ev)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*len(ev.Events))/b.Elapsed().Seconds(), "events/s")
			cancel()
			wg.Wait()
		})
	}
}

// BenchmarkEventDerive measures what the FSM adds to applying a plan of 10
// placements: turning the transaction's change set into events.
func BenchmarkEventDerive(b *testing.B) {
	st, err := state.NewStore()
	if err != nil {
		b.Fatal(err)
	}
	job := mockJob("web", 10, 100, 64)
	job.Canonicalize()
	if err := st.UpsertJob(5, job); err != nil {
		b.Fatal(err)
	}
	req := &structs.ApplyPlanResultsRequest{Job: job, EvalID: "e", Timestamp: 100}
	for i := range 10 {
		req.AllocsPlaced = append(req.AllocsPlaced, &structs.Allocation{
			ID: structs.GenerateUUID(), Namespace: structs.DefaultNamespace, Name: fmt.Sprintf("web.web[%d]", i),
			NodeID: "n1", JobID: "web", TaskGroup: "web", DesiredStatus: structs.AllocDesiredStatusRun,
			ClientStatus: structs.AllocClientStatusPending, AllocatedResources: &structs.AllocatedResources{}})
	}
	res, err := st.ApplyPlanResults(10, req)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("derive", func(b *testing.B) {
		for range b.N {
			// 10 allocations and the job, whose status became pending.
			if ev := res.Events(structs.TypePlanResult); len(ev) < 10 {
				b.Fatalf("derive: %d events, want at least 10", len(ev))
			}
		}
	})
}
