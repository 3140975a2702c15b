package state

import (
	"context"
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
