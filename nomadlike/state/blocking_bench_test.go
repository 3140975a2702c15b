package state

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchmarkBlockingQueryWaiters measures what 1,000 blocking queries cost
// while they wait, on a state of 2,000 jobs and 10,000 allocations on 100
// nodes: heap and goroutines per waiter, and what is left after they
// return. One iteration is one round of 1,000 waiters. The queries are
// those of GET /v1/jobs (every job and its summary, as list stubs), GET
// /v1/allocations (every allocation, as stubs) and GET
// /v1/node/{id}/allocations (one node's 100 allocations).
func BenchmarkBlockingQueryWaiters(b *testing.B) {
	const jobs, allocs, nodes = 2000, 10000, 100
	s := newTestStore(b)
	for i := range jobs {
		must(b, s.UpsertJob(uint64(10+i), testJob(fmt.Sprintf("job-%05d", i))))
	}
	job := testJob("job-00000")
	var as []*structs.Allocation
	for i := range allocs {
		as = append(as, testAlloc(fmt.Sprintf("%08d-0000-0000-0000-000000000000", i), job, fmt.Sprintf("node-%03d", i%nodes)))
	}
	must(b, s.UpsertAllocs(jobs+100, as))
	queries := []struct {
		name  string
		table string
		read  func(ws memdb.WatchSet, snap *Snapshot) (any, error)
	}{
		{"jobs", tableJobs, func(ws memdb.WatchSet, snap *Snapshot) (any, error) {
			all, err := snap.Jobs(ws, "*")
			if err != nil {
				return nil, err
			}
			stubs := make([]*structs.JobListStub, 0, len(all))
			for _, j := range all {
				sum, err := snap.JobSummaryByID(ws, j.Namespace, j.ID)
				if err != nil {
					return nil, err
				}
				stubs = append(stubs, j.Stub(sum))
			}
			return stubs, nil
		}},
		{"allocations", tableAllocs, func(ws memdb.WatchSet, snap *Snapshot) (any, error) {
			all, err := snap.Allocs(ws, "*")
			if err != nil {
				return nil, err
			}
			stubs := make([]*structs.AllocListStub, 0, len(all))
			for _, a := range all {
				stubs = append(stubs, a.Stub())
			}
			return stubs, nil
		}},
		{"node-allocations", tableAllocs, func(ws memdb.WatchSet, snap *Snapshot) (any, error) {
			return snap.AllocsByNode(ws, "node-042")
		}},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			idx, err := s.Index(q.table)
			must(b, err)
			var runs atomic.Int64
			fn := func(ws memdb.WatchSet, snap *Snapshot) (any, uint64, error) {
				defer runs.Add(1)
				out, err := q.read(ws, snap)
				if err != nil {
					return nil, 0, err
				}
				i, err := snap.WatchIndex(ws, q.table)
				return out, i, err
			}
			measureWaiters(b, s, idx, fn, &runs)
		})
	}
}

// measureWaiters runs b.N rounds of 1,000 blocking queries of fn waiting
// past idx and reports their memory and goroutines while they wait and
// after they return.
func measureWaiters(b *testing.B, s *Store, idx uint64, fn QueryFn, runs *atomic.Int64) {
	const waiters = 1000
	var heapPer, goPer, heapLeft, goLeft float64
	for b.Loop() {
		base := memInUse()
		baseG := runtime.NumGoroutine()
		runs.Store(0)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range waiters {
			wg.Go(func() { _, _, _ = s.BlockingQuery(ctx, idx, fn) })
		}
		for runs.Load() < waiters {
			time.Sleep(10 * time.Millisecond)
		}
		// go-memdb starts its watch goroutines after fn returns: wait
		// for the count to settle.
		for prev := -1; prev != runtime.NumGoroutine(); {
			prev = runtime.NumGoroutine()
			time.Sleep(50 * time.Millisecond)
		}
		heapPer += float64(memInUse()-base) / waiters / 1024
		goPer += float64(runtime.NumGoroutine()-baseG) / waiters
		cancel()
		wg.Wait()
		for runtime.NumGoroutine() > baseG {
			time.Sleep(10 * time.Millisecond)
		}
		heapLeft += float64(memInUse()-base) / 1024 / 1024
		goLeft += float64(runtime.NumGoroutine() - baseG)
	}
	n := float64(b.N)
	b.ReportMetric(heapPer/n, "KiB-heap/waiter")
	b.ReportMetric(goPer/n, "goroutines/waiter")
	b.ReportMetric(heapLeft/n, "MiB-heap-after")
	b.ReportMetric(goLeft/n, "goroutines-after")
}

// memInUse is the heap and goroutine stack memory in use after a GC.
func memInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}
