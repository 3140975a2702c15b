package server

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchmarkPlanApplier measures the plan applier alone on a durable
// server (raft-wal, fsync): 8 submitters, each holding an evaluation of its
// own job as a worker does, submit b.N plans in all, each placing 50 small
// allocations on 50 of 500 nodes. It reports plans/s and placements/s.
func BenchmarkPlanApplier(b *testing.B) {
	const nodes, submitters, perPlan = 500, 8, 50
	s := newTestServer(b, func(c *Config) {
		c.DataDir = b.TempDir()
		c.RaftBindAddr = "127.0.0.1:0"
		c.MinHeartbeatTTL = time.Hour
	})
	s.broker.mu.Lock()
	s.broker.nackTimeout = time.Hour
	s.broker.mu.Unlock()
	var nodeIDs []string
	for i := range nodes {
		n := mockNode(fmt.Sprintf("node-%d", i))
		registerNode(b, s, n)
		nodeIDs = append(nodeIDs, n.ID)
	}
	// Jobs written without evaluations; the benchmark holds evaluations
	// of a type no worker takes.
	const benchType = "plan-applier-bench"
	type submitter struct {
		job   *structs.Job
		eval  *structs.Evaluation
		token string
	}
	subs := make([]submitter, submitters)
	for i := range subs {
		job := mockJob(fmt.Sprintf("bench-%d", i), 1, 10, 10)
		job.Canonicalize()
		if _, err := s.raftApply(context.Background(), structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job}); err != nil {
			b.Fatalf("register job: %v", err)
		}
		s.broker.enqueue(&structs.Evaluation{ID: structs.GenerateUUID(), Namespace: job.Namespace, JobID: job.ID,
			Type: benchType, Priority: job.Priority, Status: structs.EvalStatusPending})
	}
	for i := range subs {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		eval, token, err := s.broker.dequeue(ctx, []string{benchType})
		cancel()
		if err != nil {
			b.Fatalf("dequeue: %v", err)
		}
		job, err := s.state.JobByID(nil, eval.Namespace, eval.JobID)
		if err != nil || job == nil {
			b.Fatalf("job of eval %s: %v", eval.ID, err)
		}
		subs[i] = submitter{job: job, eval: eval, token: token}
	}
	var left atomic.Int64
	left.Store(int64(b.N))
	var placed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i, sub := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(i)))
			for left.Add(-1) >= 0 {
				idx, err := s.state.LatestIndex()
				if err != nil {
					b.Errorf("LatestIndex: %v", err)
					return
				}
				plan := &structs.Plan{EvalID: sub.eval.ID, Job: sub.job, Priority: sub.job.Priority, SnapshotIndex: idx,
					NodeAllocation: map[string][]*structs.Allocation{}}
				for _, k := range r.Perm(nodes)[:perPlan] {
					a := cpuAlloc(sub.job, nodeIDs[k], 10)
					plan.NodeAllocation[nodeIDs[k]] = []*structs.Allocation{a}
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				res, err := s.planQ.submit(ctx, sub.token, plan)
				cancel()
				if err != nil {
					b.Errorf("submit: %v", err)
					return
				}
				for _, as := range res.NodeAllocation {
					placed.Add(int64(len(as)))
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if want := int64(b.N * perPlan); placed.Load() != want {
		b.Fatalf("%d placed, want %d", placed.Load(), want)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "plans/s")
	b.ReportMetric(float64(placed.Load())/elapsed.Seconds(), "placements/s")
}

// BenchmarkRaftApplyConcurrent measures small Raft writes from 16
// concurrent writers on a durable server (raft-wal, fsync), as many HTTP
// clients writing at once produce: each write is one evaluation update
// entry. It reports entries/s.
func BenchmarkRaftApplyConcurrent(b *testing.B) {
	const writers = 16
	s := newTestServer(b, func(c *Config) {
		c.DataDir = b.TempDir()
		c.RaftBindAddr = "127.0.0.1:0"
		c.MinHeartbeatTTL = time.Hour
	})
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				e := &structs.Evaluation{ID: structs.GenerateUUID(), Namespace: structs.DefaultNamespace, JobID: "bench",
					Type: structs.JobTypeService, Priority: 50, Status: structs.EvalStatusComplete, TriggeredBy: structs.EvalTriggerJobRegister}
				if _, err := s.raftApply(context.Background(), structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{e}}); err != nil {
					b.Errorf("raftApply: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
}
