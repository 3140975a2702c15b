package state

import (
	"context"

	memdb "github.com/hashicorp/go-memdb"
)

// BlockingQuery runs fn on a fresh Snapshot; while the index fn returns is
// <= minIndex it waits for fn's watch set to fire (or ctx to end) and runs
// it again on a new Snapshot. It returns fn's last result and index.
// minIndex 0 runs fn once.
//
// Because fn reads one Snapshot, the data it returns and the table indexes
// it reports always belong together: a write landing while fn runs is
// either wholly in the result (and its index) or wholly absent (and its
// watch channels fire, so the wait ends at once).
//
// When ctx ends before the index passes minIndex, BlockingQuery runs fn
// once more and returns its result and a nil error: a blocking query that
// times out answers with the current data, as Nomad's HTTP API does. An
// error from fn ends the query at once. The watch set also holds
// AbandonCh, so a restore wakes the query. An index of 0 is reported as 1,
// so a caller that passes back the index it got never spins on minIndex 0.
//
// While it waits, a query holds only its watch set: not fn's result nor
// the snapshot (which would pin the state of that moment as writes go on),
// and reads add at most about WatchLimit channels to the set, so a
// thousand waiters cost a thousand small watch sets and goroutines.
func (s *Store) BlockingQuery(ctx context.Context, minIndex uint64, fn QueryFn) (any, uint64, error) {
	for {
		ws := memdb.NewWatchSet()
		ws.Add(s.AbandonCh())
		snap, err := s.Snapshot()
		if err != nil {
			return nil, 0, err
		}
		result, index, err := fn(ws, snap)
		if err != nil {
			return nil, 0, err
		}
		if index == 0 {
			index = 1
		}
		if minIndex == 0 || index > minIndex || ctx.Err() != nil {
			return result, index, nil
		}
		// result and snap are dead from here: the wait keeps neither.
		if err := ws.WatchCtx(ctx); err != nil {
			// ctx ended while waiting: the next pass answers with the
			// current data.
			continue
		}
	}
}

// QueryFn reads from snap, adds what it read to ws, and returns the result
// and the index to report (the highest modify index of the tables it read,
// from snap.Index). It must not keep snap.
type QueryFn func(ws memdb.WatchSet, snap *Snapshot) (any, uint64, error)

// Reader is the state the HTTP layer gets: blocking queries and snapshots,
// both read-only. *Store implements it.
type Reader interface {
	BlockingQuery(ctx context.Context, minIndex uint64, fn QueryFn) (any, uint64, error)
	Snapshot() (*Snapshot, error)
}

var _ Reader = (*Store)(nil)
