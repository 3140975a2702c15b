package server

import (
	"fmt"
	"log/slog"
	"math/rand"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestRedeliveredEvalDuringPlanCommitPlacesOnce: an evaluation's nack
// timer fires while the plan applier is committing its plan (the check that
// the evaluation is still held has passed). The evaluation is redelivered
// and a second worker schedules it on a snapshot taken before that commit.
// Its plan must not place the group a second time.
func TestRedeliveredEvalDuringPlanCommitPlacesOnce(t *testing.T) {
	const count = 10
	var schedulers atomic.Int32
	var held atomic.Bool
	var s *Server
	s = newTestServer(t, func(c *Config) {
		c.NumSchedulers = 2
		c.newScheduler = func(jobType string, l *slog.Logger, st scheduler.State, p scheduler.Planner, r *rand.Rand, now func() time.Time) (scheduler.Scheduler, error) {
			schedulers.Add(1) // the worker's snapshot is taken
			return scheduler.NewScheduler(jobType, l, st, p, r, now)
		}
		c.planApplyHook = func(plan *structs.Plan) {
			if len(plan.NodeAllocation) == 0 || !held.CompareAndSwap(false, true) {
				return
			}
			// The first placing plan's commit is slow: the nack timer
			// fires meanwhile, and the redelivered evaluation is
			// scheduled on a snapshot without this plan.
			s.broker.mu.Lock()
			s.broker.nackTimeout = time.Minute
			s.broker.mu.Unlock()
			deadline := time.Now().Add(10 * time.Second)
			for schedulers.Load() < 2 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}
	})
	s.broker.mu.Lock()
	s.broker.nackTimeout, s.broker.nackDelay = 100*time.Millisecond, time.Millisecond
	s.broker.mu.Unlock()
	for i := range 3 {
		registerNode(t, s, mockNode("node-"+string(rune('a'+i))))
	}
	job := mockJob("web", count, 20, 20)
	registerJob(t, s, job)
	waitFor(t, 20*time.Second, "evaluations settled", func() (bool, string) {
		st := s.broker.stats()
		return held.Load() && schedulers.Load() >= 2 && st.Ready+st.Unacked+st.Pending+st.Delayed == 0,
			"broker busy or the race not staged yet"
	})
	if schedulers.Load() < 2 {
		t.Fatal("the evaluation was not redelivered: the race was not staged")
	}
	if live := liveAllocs(t, s, job.ID); len(live) != count {
		t.Fatalf("job %s: %d live allocations, want its count %d (a redelivered evaluation placed the group again)", job.ID, len(live), count)
	}
}

// TestEvalRedeliveryStormPlacesEachGroupOnce: with a nack timeout of a few
// milliseconds, evaluations are redelivered while their earlier deliveries
// still schedule and commit (8 workers). No job ever gets more live
// allocations than its count, and every job ends up placed.
func TestEvalRedeliveryStormPlacesEachGroupOnce(t *testing.T) {
	const nodes, jobs, count = 10, 20, 50
	s := newTestServer(t, func(c *Config) { c.NumSchedulers = 8 })
	s.broker.mu.Lock()
	s.broker.nackTimeout, s.broker.nackDelay, s.broker.deliveryLimit = 3*time.Millisecond, time.Millisecond, 1<<30
	s.broker.mu.Unlock()
	for n := range nodes {
		registerNode(t, s, mockNode(fmt.Sprintf("node-%d", n)))
	}
	for j := range jobs {
		registerJob(t, s, mockJob(fmt.Sprintf("job-%d", j), count, 20, 20))
	}
	waitFor(t, 60*time.Second, "every job placed", func() (bool, string) {
		total := 0
		for j := range jobs {
			id := fmt.Sprintf("job-%d", j)
			n := len(liveAllocs(t, s, id))
			if n > count {
				t.Fatalf("%s: %d live allocations, more than its count %d", id, n, count)
			}
			total += n
		}
		return total == jobs*count, fmt.Sprintf("%d of %d placed", total, jobs*count)
	})
}
