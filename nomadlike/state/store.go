package state

import (
	"fmt"
	"sync"
	"sync/atomic"

	memdb "github.com/hashicorp/go-memdb"
)

// Store is the state store. Writes are called only by the FSM (one
// goroutine), with the Raft index of the entry being applied; reads may come
// from any goroutine. Objects returned are shared: callers must Copy before
// changing.
//
// Every write method runs exactly one go-memdb write transaction (see
// write), or its own part of the transaction of a batch (Batch): for each
// Raft message type FooRequestType there is one method
// Foo(index, *structs.FooRequest) (Result, error) that applies the whole
// entry, read-modify-write included, and returns its change set. The other
// write methods are conveniences for tests and fixtures.
//
// A read method of Store reads the data current at the time of the call;
// two calls may see different data. Readers that need several reads to
// agree (blocking queries, the scheduler, snapshots) read a Snapshot.
type Store struct {
	reader

	// db is swapped atomically by Restore.Commit.
	db atomic.Pointer[memdb.MemDB]

	// abandonMu guards abandonCh, which Restore.Commit closes and replaces.
	abandonMu sync.Mutex
	abandonCh chan struct{}

	// commits counts committed write transactions.
	commits atomic.Uint64

	// batch is the write transaction of the batch Batch is applying (nil
	// outside one): writes join it. batchErr is the first write of the
	// batch that failed. Only the FSM's goroutine writes, so neither needs
	// a lock.
	batch    *memdb.Txn
	batchErr error
}

// reader holds the read methods Store and Snapshot share. Each read starts
// a read transaction on the database load returns at that moment.
type reader struct {
	load func() *memdb.MemDB
}

// Snapshot is a read-only, point-in-time view of the store: later writes to
// the Store are not visible in it, so every read of one Snapshot agrees with
// every other (data and table indexes alike). It has every read method of
// Store and no write method; Fork gives a private writable copy.
//
// Watch channels added to a WatchSet by a Snapshot's reads fire when the
// live Store changes what was read, so a blocking query can read a Snapshot
// and wait on the Store.
type Snapshot struct {
	reader
	db *memdb.MemDB
}

// NewStore returns an empty store.
func NewStore() (*Store, error) {
	db, err := newDB()
	if err != nil {
		return nil, err
	}
	return newStore(db), nil
}

func newStore(db *memdb.MemDB) *Store {
	s := &Store{abandonCh: make(chan struct{})}
	s.db.Store(db)
	s.reader = reader{load: s.db.Load}
	return s
}

// Commits returns how many write transactions the store has committed
// (tests check that one Raft entry applied alone is one transaction, and a
// batch one in all).
func (s *Store) Commits() uint64 { return s.commits.Load() }

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

// readTxn starts a read transaction.
func (r *reader) readTxn() *memdb.Txn { return r.load().Txn(false) }

// write runs fn in one write transaction that tracks its changes, and
// commits it when fn succeeds. Every write of the store goes through here:
// one call is one transaction, and a failure leaves nothing behind.
//
// Within Batch, fn runs in the batch's transaction instead, and its Result
// is what it would have been in a transaction of its own: its change set
// starts where the previous write's ended (memdb's MarkChanges). A failure
// there makes Batch commit nothing.
func (s *Store) write(index uint64, fn func(txn *memdb.Txn) error) (Result, error) {
	txn := s.batch
	if txn == nil {
		txn = s.db.Load().Txn(true)
		defer txn.Abort()
		txn.TrackChanges()
	} else {
		txn.MarkChanges()
	}
	res, err := writeTxn(txn, index, fn)
	if err != nil {
		if s.batch != nil && s.batchErr == nil {
			s.batchErr = err
		}
		return Result{}, err
	}
	if s.batch == nil {
		txn.Commit()
		s.commits.Add(1)
	}
	return res, nil
}

// writeTxn is write's work in txn: fn, then the derived node tables.
func writeTxn(txn *memdb.Txn, index uint64, fn func(txn *memdb.Txn) error) (Result, error) {
	if err := fn(txn); err != nil {
		return Result{}, err
	}
	changes := txn.Changes()
	if err := updateNodeUsage(txn, changes); err != nil {
		return Result{}, err
	}
	if err := updateNodeAllocViews(txn, index, changes); err != nil {
		return Result{}, err
	}
	return Result{Index: index, Changes: changes}, nil
}

// Batch runs apply, and the writes it makes (the write methods applying a
// batch of Raft entries, in log order) in one write transaction, committed
// once when apply returns nil. Each write's Result is the one it would have
// had alone, at its own index, and each sees the writes before it. If apply
// or any of its writes fails, Batch commits nothing and returns the error:
// the caller then applies the entries one by one (so a failed entry still
// changes nothing, and the others apply as they would have).
func (s *Store) Batch(apply func() error) error {
	if s.batch != nil {
		return fmt.Errorf("state: batch within a batch")
	}
	txn := s.db.Load().Txn(true)
	defer txn.Abort()
	txn.TrackChanges()
	s.batch, s.batchErr = txn, nil
	defer func() { s.batch, s.batchErr = nil, nil }()
	err := apply()
	if err == nil {
		err = s.batchErr
	}
	if err != nil {
		return err
	}
	txn.Commit()
	s.commits.Add(1)
	return nil
}

// WatchLimit is how many watch channels reads add to one watch set one by
// one. Past it, a read adds instead the channel of its whole table (the
// root of the table's id index, which any write to the table closes), once
// per table. A query that reads thousands of rows (GET /v1/jobs reads
// every job's summary) then waits on a few dozen channels, in its own
// goroutine, instead of thousands of channels and one goroutine per 32 of
// them (go-memdb's WatchCtx): 1,000 such waiters held 1.5 GB before. The
// price is coarser wake-ups (any write to the table), never a missed one.
// go-memdb waits on up to 32 channels with one select.
const WatchLimit = 24

// watch adds ch, read from table in txn, to ws: itself while ws holds
// fewer than WatchLimit channels, the table's channel after that.
func watch(txn *memdb.Txn, ws memdb.WatchSet, table string, ch <-chan struct{}) {
	if ws == nil {
		return
	}
	if len(ws) < WatchLimit {
		ws.Add(ch)
		return
	}
	it, err := txn.Get(table, indexID)
	if err != nil {
		// Every table has an id index; should one not, the row's own
		// channel keeps the query correct.
		ws.Add(ch)
		return
	}
	ws.Add(it.WatchCh())
}

// first returns the first object of table matching index args, adding its
// watch channel to ws. With no ws it makes no channel (go-memdb's First).
func first(txn *memdb.Txn, ws memdb.WatchSet, table, index string, args ...any) (any, error) {
	if ws == nil {
		obj, err := txn.First(table, index, args...)
		if err != nil {
			return nil, fmt.Errorf("state: read %s by %s %v: %w", table, index, args, err)
		}
		return obj, nil
	}
	ch, obj, err := txn.FirstWatch(table, index, args...)
	if err != nil {
		return nil, fmt.Errorf("state: read %s by %s %v: %w", table, index, args, err)
	}
	watch(txn, ws, table, ch)
	return obj, nil
}

// get returns an iterator over table matching index args, adding its watch
// channel to ws. With no ws it makes no channel (go-memdb makes an
// iterator's channel when WatchCh is first called).
func get(txn *memdb.Txn, ws memdb.WatchSet, table, index string, args ...any) (memdb.ResultIterator, error) {
	it, err := txn.Get(table, index, args...)
	if err != nil {
		return nil, fmt.Errorf("state: list %s by %s %v: %w", table, index, args, err)
	}
	if ws != nil {
		watch(txn, ws, table, it.WatchCh())
	}
	return it, nil
}

// scan is get without a watch, for a read used up before the next write
// of txn: in a write transaction it reads the index's tree in place
// (memdb's GetTransient), where get clones it and so makes the index's
// next insert copy its whole path again.
func scan(txn *memdb.Txn, table, index string, args ...any) (memdb.ResultIterator, error) {
	it, err := txn.GetTransient(table, index, args...)
	if err != nil {
		return nil, fmt.Errorf("state: list %s by %s %v: %w", table, index, args, err)
	}
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
