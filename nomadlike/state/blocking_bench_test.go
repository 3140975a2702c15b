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
// while they wait, each the query of GET /v1/jobs (every job and its
// summary, as list stubs) on a state of 2,000 jobs: heap and goroutines
// per waiter, with the heap and goroutines back after they return. One
// iteration is one round of 1,000 waiters.
func BenchmarkBlockingQueryWaiters(b *testing.B) {
	const jobs, waiters = 2000, 1000
	s := newTestStore(b)
	for i := range jobs {
		must(b, s.UpsertJob(uint64(10+i), testJob(fmt.Sprintf("job-%05d", i))))
	}
	idx, err := s.Index(tableJobs)
	must(b, err)
	var runs atomic.Int64
	fn := func(ws memdb.WatchSet, snap *Snapshot) (any, uint64, error) {
		defer runs.Add(1)
		all, err := snap.Jobs(ws, "*")
		if err != nil {
			return nil, 0, err
		}
		stubs := make([]*structs.JobListStub, 0, len(all))
		for _, j := range all {
			sum, err := snap.JobSummaryByID(ws, j.Namespace, j.ID)
			if err != nil {
				return nil, 0, err
			}
			stubs = append(stubs, j.Stub(sum))
		}
		i, err := snap.WatchIndex(ws, tableJobs)
		return stubs, i, err
	}
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
