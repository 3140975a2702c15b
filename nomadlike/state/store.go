package state

import (
	"fmt"
	"sync"
	"sync/atomic"

	memdb "github.com/hashicorp/go-memdb"
)

// Store is the state store. Writes are called only by the FSM (one goroutine),
// with the Raft index of the entry being applied; reads may come from any
// goroutine. Objects returned are shared: callers must Copy before changing.
type Store struct {
	// db is swapped atomically by Restore.Commit.
	db atomic.Pointer[memdb.MemDB]

	// abandonMu guards abandonCh, which Restore.Commit closes and replaces.
	abandonMu sync.Mutex
	abandonCh chan struct{}
}

// Snapshot is a read-only, point-in-time view of the store. It has every read
// method of Store.
//
// A Snapshot is a frozen copy of the store's data: later writes to the Store
// are not visible in it. Writes made through a Snapshot's own write methods
// change only that snapshot (a private fork, as Nomad's plan applier uses to
// evaluate plans optimistically), never the Store it came from.
type Snapshot struct {
	Store
}

// NewStore returns an empty store.
func NewStore() (*Store, error) {
	db, err := newDB()
	if err != nil {
		return nil, err
	}
	s := &Store{abandonCh: make(chan struct{})}
	s.db.Store(db)
	return s, nil
}

// AbandonCh is closed when a restore replaces the store's contents, so
// long-running watchers can restart against the new data.
func (s *Store) AbandonCh() <-chan struct{} {
	s.abandonMu.Lock()
	defer s.abandonMu.Unlock()
	return s.abandonCh
}

// abandon closes the current abandon channel and installs a fresh one.
func (s *Store) abandon() {
	s.abandonMu.Lock()
	defer s.abandonMu.Unlock()
	close(s.abandonCh)
	s.abandonCh = make(chan struct{})
}

// readTxn starts a read transaction on the current data.
func (s *Store) readTxn() *memdb.Txn { return s.db.Load().Txn(false) }

// writeTxn starts a write transaction; the caller must defer Abort and call Commit.
func (s *Store) writeTxn() *memdb.Txn { return s.db.Load().Txn(true) }

// first returns the first object of table matching index args, adding its watch channel to ws.
func first(txn *memdb.Txn, ws memdb.WatchSet, table, index string, args ...any) (any, error) {
	ch, obj, err := txn.FirstWatch(table, index, args...)
	if err != nil {
		return nil, fmt.Errorf("state: read %s by %s %v: %w", table, index, args, err)
	}
	ws.Add(ch)
	return obj, nil
}

// get returns an iterator over table matching index args, adding its watch channel to ws.
func get(txn *memdb.Txn, ws memdb.WatchSet, table, index string, args ...any) (memdb.ResultIterator, error) {
	it, err := txn.Get(table, index, args...)
	if err != nil {
		return nil, fmt.Errorf("state: list %s by %s %v: %w", table, index, args, err)
	}
	ws.Add(it.WatchCh())
	return it, nil
}

// collect drains it into a slice of T, skipping objects of another type.
func collect[T any](it memdb.ResultIterator, keep func(T) bool) []T {
	var out []T
	for raw := it.Next(); raw != nil; raw = it.Next() {
		obj, ok := raw.(T)
		if !ok {
			continue
		}
		if keep == nil || keep(obj) {
			out = append(out, obj)
		}
	}
	return out
}
