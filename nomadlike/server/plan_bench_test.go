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
	jobIDs := make([]string, submitters)
	for i := range jobIDs {
		jobIDs[i] = fmt.Sprintf("bench-%d", i)
	}
	f := newPipelineFixture(b, func(c *Config) {
		c.DataDir = b.TempDir()
		c.RaftBindAddr = "127.0.0.1:0"
	}, jobIDs...)
	f.s.broker.mu.Lock()
	f.s.broker.nackTimeout = time.Hour
	f.s.broker.mu.Unlock()
	for i := len(f.nodes); i < nodes; i++ {
		n := mockNode(fmt.Sprintf("node-%d", i))
		registerNode(b, f.s, n)
		f.nodes = append(f.nodes, n)
	}
	var left atomic.Int64
	left.Store(int64(b.N))
	var placed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i, jobID := range jobIDs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(i)))
			for left.Add(-1) >= 0 {
				place := map[string]int64{}
				for _, k := range r.Perm(nodes)[:perPlan] {
					place[f.nodes[k].ID] = 10
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				res, err := f.s.planQ.submit(ctx, f.tokens[jobID], f.plan(b, jobID, place))
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
