package state

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// testDeadline bounds how long a test waits for something that should happen.
const testDeadline = 10 * time.Second

type queryResult struct {
	result any
	index  uint64
	err    error
}

// nodesQuery lists nodes and reports the nodes table index; calls gets a
// value each time it runs.
func nodesQuery(calls chan<- struct{}) QueryFn {
	return func(ws memdb.WatchSet, s *Snapshot) (any, uint64, error) {
		if calls != nil {
			select {
			case calls <- struct{}{}:
			default:
			}
		}
		nodes, err := s.Nodes(ws)
		if err != nil {
			return nil, 0, err
		}
		idx, err := s.WatchIndex(ws, "nodes")
		return nodes, idx, err
	}
}

func TestBlockingQueryWakesOnWrite(t *testing.T) {
	s := newTestStore(t)
	must(t, s.UpsertNode(5, testNode("n1")))
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()

	calls := make(chan struct{}, 1)
	done := make(chan queryResult, 1)
	go func() {
		res, idx, err := s.BlockingQuery(ctx, 5, nodesQuery(calls))
		done <- queryResult{res, idx, err}
	}()
	select {
	case <-calls: // the query ran once and is now waiting
	case <-ctx.Done():
		t.Fatal("blocking query never ran")
	}
	must(t, s.UpsertNode(6, testNode("n2")))
	select {
	case r := <-done:
		if r.err != nil || r.index != 6 || len(r.result.([]*structs.Node)) != 2 {
			t.Errorf("blocking query returned index %d, %d nodes, err %v; want 6, 2 nodes, nil", r.index, len(r.result.([]*structs.Node)), r.err)
		}
	case <-ctx.Done():
		t.Fatal("blocking query did not wake on a write to the watched table")
	}
}

func TestBlockingQueryTimeoutReturnsCurrentData(t *testing.T) {
	s := newTestStore(t)
	must(t, s.UpsertNode(5, testNode("n1")))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	res, idx, err := s.BlockingQuery(ctx, 5, nodesQuery(nil))
	if err != nil || idx != 5 || len(res.([]*structs.Node)) != 1 {
		t.Errorf("timed-out query = index %d, %v, err %v; want index 5, 1 node, nil error", idx, res, err)
	}
	if ctx.Err() == nil {
		t.Errorf("query returned before its deadline without a change")
	}
}

func TestBlockingQueryImmediate(t *testing.T) {
	s := newTestStore(t)
	zero := func(ws memdb.WatchSet, s *Snapshot) (any, uint64, error) { return "x", 0, nil }
	tests := []struct {
		name     string
		minIndex uint64
		fn       QueryFn
		want     uint64
	}{
		{"index 0 is reported as 1", 0, zero, 1},
		{"minIndex 0 runs once", 0, nodesQuery(nil), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, idx, err := s.BlockingQuery(context.Background(), tt.minIndex, tt.fn)
			if err != nil || idx != tt.want {
				t.Errorf("BlockingQuery = index %d, err %v; want %d, nil", idx, err, tt.want)
			}
		})
	}
}

// TestBlockingQueryDataAndIndexAgree is the interleaving of issue 13 item
// 1: the query reads a node's allocations, a write lands, then the query
// reads the table index. The answer must never pair the old data with the
// new index, and the follow-up query with the index it got must return the
// new data at once instead of waiting out its wait.
func TestBlockingQueryDataAndIndexAgree(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	injected := false
	query := func(ws memdb.WatchSet, snap *Snapshot) (any, uint64, error) {
		allocs, err := snap.AllocsByNode(ws, "n1")
		if err != nil {
			return nil, 0, err
		}
		if !injected {
			injected = true
			must(t, s.UpsertAllocs(2, []*structs.Allocation{testAlloc("a1", job, "n1")}))
		}
		idx, err := snap.Index("allocs")
		return allocs, max(idx, 1), err
	}
	res, idx, err := s.BlockingQuery(context.Background(), 0, query)
	must(t, err)
	if n := len(res.([]*structs.Allocation)); idx >= 2 && n == 0 {
		t.Fatalf("first query: %d allocs at index %d: old data reported with the new index", n, idx)
	}

	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	res, idx2, err := s.BlockingQuery(ctx, idx, query)
	must(t, err)
	if ctx.Err() != nil {
		t.Fatalf("follow-up query with index %d waited its whole wait although the change was stored", idx)
	}
	if n := len(res.([]*structs.Allocation)); n != 1 || idx2 != 2 {
		t.Errorf("follow-up query: %d allocs at index %d, want 1 at 2", n, idx2)
	}
}

// TestBlockingQueryProperty runs writers and blocking readers at once.
// Writers (serialized like the FSM, each write one Raft index) create
// nodes, allocations and evaluations; readers long-poll one query each with
// the index they last got. Every answer must be consistent (exactly the
// objects written at or below the index it reports), and every reader must
// wake within a bound of the first write it waited for.
func TestBlockingQueryProperty(t *testing.T) {
	const (
		writers, readers, writesEach = 4, 8, 150
		bound                        = 2 * time.Second
	)
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))

	type write struct {
		index uint64
		kind  string // "nodes", "allocs:<node>", "evals"
		at    time.Time
	}
	var (
		mu     sync.Mutex
		next   = uint64(1)
		writes []write
	)
	writesOf := func(kind string) []write {
		mu.Lock()
		defer mu.Unlock()
		var out []write
		for _, w := range writes {
			if w.kind == kind {
				out = append(out, w)
			}
		}
		return out
	}
	kinds := []string{"nodes", "allocs:n0", "allocs:n1", "evals"}
	queries := map[string]QueryFn{
		"nodes": func(ws memdb.WatchSet, snap *Snapshot) (any, uint64, error) {
			nodes, err := snap.Nodes(ws)
			if err != nil {
				return nil, 0, err
			}
			idx, err := snap.Index("nodes")
			return len(nodes), idx, err
		},
		"evals": func(ws memdb.WatchSet, snap *Snapshot) (any, uint64, error) {
			evals, err := snap.Evals(ws, "*")
			if err != nil {
				return nil, 0, err
			}
			idx, err := snap.Index("evals")
			return len(evals), idx, err
		},
	}
	for _, n := range []string{"n0", "n1"} {
		queries["allocs:"+n] = func(ws memdb.WatchSet, snap *Snapshot) (any, uint64, error) {
			allocs, err := snap.AllocsByNode(ws, n)
			if err != nil {
				return nil, 0, err
			}
			idx, err := snap.Index("allocs")
			return len(allocs), idx, err
		}
	}

	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writesEach {
				kind := kinds[(w+i)%len(kinds)]
				mu.Lock()
				next++
				index := next
				id := fmt.Sprintf("%s-%d", kind, index)
				var err error
				switch kind {
				case "nodes":
					err = s.UpsertNode(index, testNode(id))
				case "evals":
					err = s.UpsertEvals(index, []*structs.Evaluation{testEval(id, job, structs.EvalStatusComplete)})
				default:
					err = s.UpsertAllocs(index, []*structs.Allocation{testAlloc(id, job, kind[len("allocs:"):])})
				}
				writes = append(writes, write{index, kind, time.Now()})
				mu.Unlock()
				if err != nil {
					t.Errorf("write %s: %v", kind, err)
					return
				}
			}
		}()
	}
	writersDone := make(chan struct{})
	// Once the writers are done, waits end at once: the readers catch up and stop.
	stopWaits, cancelWaits := context.WithCancel(context.Background())
	go func() { wg.Wait(); close(writersDone); cancelWaits() }()

	var rwg sync.WaitGroup
	for r := range readers {
		kind := kinds[r%len(kinds)]
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			var last uint64
			for {
				start := time.Now()
				ctx, cancel := context.WithTimeout(stopWaits, bound+time.Second)
				res, idx, err := s.BlockingQuery(ctx, last, queries[kind])
				cancel()
				returned := time.Now()
				if err != nil {
					t.Errorf("reader %d (%s): %v", r, kind, err)
					return
				}
				all := writesOf(kind)
				// Consistency: exactly the writes at or below idx.
				want := 0
				for _, w := range all {
					if w.index <= idx {
						want++
					}
				}
				if got := res.(int); got != want {
					t.Errorf("reader %d (%s): %d objects at index %d, want %d", r, kind, got, idx, want)
					return
				}
				// Liveness: the first write after last woke the reader in time.
				for _, w := range all {
					if w.index > last {
						from := w.at
						if start.After(from) {
							from = start
						}
						if woke := returned.Sub(from); woke > bound {
							t.Errorf("reader %d (%s): write at index %d woke a query waiting since index %d only after %v",
								r, kind, w.index, last, woke)
							return
						}
						break
					}
				}
				last = idx
				select {
				case <-writersDone:
					if all := writesOf(kind); len(all) > 0 && all[len(all)-1].index <= last {
						return
					}
				default:
				}
			}
		}()
	}
	rwg.Wait()
}
