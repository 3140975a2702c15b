package state

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// summariesQuery reads the summary of each job in ids, one point read each
// (as GET /v1/jobs does), and reports the job_summary table index without
// watching it, so only the reads' own channels can wake it. It records the
// size of its watch set in wsLen.
func summariesQuery(ids []string, wsLen *atomic.Int64) QueryFn {
	return func(ws memdb.WatchSet, s *Snapshot) (any, uint64, error) {
		var out []*structs.JobSummary
		for _, id := range ids {
			sum, err := s.JobSummaryByID(ws, structs.DefaultNamespace, id)
			if err != nil {
				return nil, 0, err
			}
			if sum != nil {
				out = append(out, sum)
			}
		}
		wsLen.Store(int64(len(ws)))
		idx, err := s.Index(tableJobSummary)
		return out, idx, err
	}
}

// TestBlockingQueryWatchSetBounded: a query that reads many rows one by
// one waits on at most about WatchLimit channels (go-memdb starts a
// goroutine per 32 channels past 32), and still wakes when a row past the
// limit changes (its table's channel stands for it).
func TestBlockingQueryWatchSetBounded(t *testing.T) {
	s := newTestStore(t)
	var ids []string
	for i := range 500 {
		id := fmt.Sprintf("job-%03d", i)
		ids = append(ids, id)
		must(t, s.UpsertJob(uint64(10+i), testJob(id)))
	}
	start, err := s.Index(tableJobSummary)
	must(t, err)
	var wsLen atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	done := make(chan queryResult, 1)
	go func() {
		res, idx, err := s.BlockingQuery(ctx, start, summariesQuery(ids, &wsLen))
		done <- queryResult{res, idx, err}
	}()
	for wsLen.Load() == 0 {
		if ctx.Err() != nil {
			t.Fatal("the query never ran")
		}
		time.Sleep(time.Millisecond) // polling interval of a condition wait
	}
	// The reads' own channels, one channel for the table, AbandonCh.
	if n := wsLen.Load(); n > WatchLimit+2 {
		t.Errorf("a query reading 500 rows watches %d channels; want at most %d", n, WatchLimit+2)
	}
	// The last job's summary is far past the limit: deleting it must wake
	// the query.
	must(t, s.DeleteJob(1000, structs.DefaultNamespace, ids[len(ids)-1]))
	select {
	case r := <-done:
		if r.err != nil || r.index != 1000 || len(r.result.([]*structs.JobSummary)) != 499 {
			t.Errorf("woken query = index %d, err %v; want index 1000 and 499 summaries", r.index, r.err)
		}
	case <-ctx.Done():
		t.Fatal("deleting a row past the watch limit did not wake the query")
	}
}

// bigResult stands for a large query result (a long list).
type bigResult struct{ payload []byte }

// TestBlockingQueryWaitHoldsNoResult: while it waits, a blocking query
// keeps neither its last result nor its snapshot (1,000 waiters on a big
// list held 1.5 GB), answers with fresh data when its wait ends, and leaves
// no goroutine behind.
func TestBlockingQueryWaitHoldsNoResult(t *testing.T) {
	s := newTestStore(t)
	must(t, s.UpsertNode(5, testNode("n1")))
	baseline := runtime.NumGoroutine()
	const waiters = 50
	var (
		results = make(chan weak.Pointer[bigResult], waiters)
		runs    atomic.Int64
	)
	fn := func(ws memdb.WatchSet, snap *Snapshot) (any, uint64, error) {
		runs.Add(1)
		if _, err := snap.Nodes(ws); err != nil {
			return nil, 0, err
		}
		idx, err := snap.WatchIndex(ws, tableNodes)
		r := &bigResult{payload: make([]byte, 1<<20)}
		select {
		case results <- weak.Make(r):
		default:
		}
		return r, idx, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan queryResult, waiters)
	for range waiters {
		go func() {
			res, idx, err := s.BlockingQuery(ctx, 5, fn)
			done <- queryResult{res, idx, err}
		}()
	}
	var ptrs []weak.Pointer[bigResult]
	for range waiters {
		ptrs = append(ptrs, <-results)
	}
	deadline := time.Now().Add(testDeadline)
	for {
		runtime.GC()
		held := 0
		for _, p := range ptrs {
			if p.Value() != nil {
				held++
			}
		}
		if held == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d waiting queries still hold their 1 MiB result", held, waiters)
		}
		time.Sleep(5 * time.Millisecond) // polling interval of a condition wait
	}
	// The wait ends without a change: each answers with the current data.
	cancel()
	for range waiters {
		r := <-done
		if r.err != nil || r.index != 5 || r.result.(*bigResult) == nil {
			t.Fatalf("ended query = %v, index %d, err %v; want a result at index 5", r.result, r.index, r.err)
		}
	}
	if got := runs.Load(); got != 2*waiters {
		t.Errorf("fn ran %d times for %d ended queries; want %d (once to wait, once to answer)", got, waiters, 2*waiters)
	}
	for deadline := time.Now().Add(testDeadline); runtime.NumGoroutine() > baseline; {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines remain after the queries returned; %d before", runtime.NumGoroutine(), baseline)
		}
		time.Sleep(5 * time.Millisecond) // polling interval of a condition wait
	}
}
