package state

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Restore is a bulk load into an empty store, used by FSM restore; Commit
// makes it visible atomically.
//
// Objects given to a Restore are stored as they are (no copy, no index
// changes): the FSM hands over freshly decoded objects and must not change
// them afterwards. A Restore is used from one goroutine and ends with
// exactly one Commit or Abort (Abort after Commit is a no-op, so
// `defer r.Abort()` is safe).
type Restore struct {
	store *Store
	db    *memdb.MemDB
	txn   *memdb.Txn
	done  bool
	// allocs makes restored allocations share what they have in common,
	// as the store's writes do.
	allocs *allocSharer
	// usage is the node_usage table rebuilt from the restored allocations,
	// views the node_alloc_view table.
	usage usageDeltas
	views allocViews
}

// errRestoreDone is returned when a Restore is used after Commit or Abort.
var errRestoreDone = errors.New("state: restore already committed or aborted")

// NewRestore starts a restore into a fresh store that replaces s's contents on Commit.
func (s *Store) NewRestore() (*Restore, error) {
	db, err := newDB()
	if err != nil {
		return nil, err
	}
	return &Restore{store: s, db: db, txn: db.Txn(true), allocs: &allocSharer{strs: map[string]string{}}}, nil
}

func (r *Restore) insert(table, what string, obj any) error {
	if r.done {
		return errRestoreDone
	}
	if err := r.txn.Insert(table, obj); err != nil {
		return fmt.Errorf("state: restore %s: %w", what, err)
	}
	return nil
}

// IndexRestore loads one table's modify index. Unknown table names are an
// error, so a snapshot from a newer version fails loudly instead of losing data.
func (r *Restore) IndexRestore(table string, index uint64) error {
	if !slices.Contains(indexedTables, table) {
		return fmt.Errorf("state: restore index of unknown table %q (known tables: %s)", table, strings.Join(indexedTables, ", "))
	}
	return r.insert(tableIndex, fmt.Sprintf("index of table %q", table), &IndexEntry{Key: table, Value: index})
}

// Row loads one row of table, as Snapshot.Rows returned it: rows of the
// "index" table are *IndexEntry (see IndexRestore), the others the table's
// objects. An unknown table is an error.
func (r *Restore) Row(table string, row any) error {
	if v := reflect.ValueOf(row); !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return structs.NewBadRequest("state: restore a row of table %q: row is nil", table)
	}
	if table == tableIndex {
		e, ok := row.(*IndexEntry)
		if !ok {
			return fmt.Errorf("state: restore a row of table %q: got %T, want *state.IndexEntry", table, row)
		}
		return r.IndexRestore(e.Key, e.Value)
	}
	if r.db.DBSchema().Tables[table] == nil || derivedTables[table] {
		return fmt.Errorf("state: restore a row of unknown table %q (known tables: %s)", table, strings.Join(TableNames(), ", "))
	}
	if a, ok := row.(*structs.Allocation); ok && table == tableAllocs && !r.done {
		if err := r.allocs.share(r.txn, a, nil); err != nil {
			return err
		}
		r.usage.apply(a, 1)
		r.views.add(a)
	}
	return r.insert(table, fmt.Sprintf("a row of table %q", table), row)
}

// Commit replaces the store's contents with the restored data in one step
// and closes the store's AbandonCh (installing a new one), so blocked
// queries and other watchers wake up and read the new data.
func (r *Restore) Commit() error {
	if r.done {
		return errRestoreDone
	}
	for _, id := range r.usage.order {
		if u := r.usage.by[id]; u.Live > 0 {
			if err := r.insert(tableNodeUsage, "node usage", u); err != nil {
				return err
			}
		}
	}
	for _, id := range r.views.order {
		if err := r.insert(tableNodeAllocView, "node allocation view", r.views.row(id)); err != nil {
			return err
		}
	}
	r.done = true
	r.txn.Commit()
	r.store.db.Store(r.db)
	r.store.abandon()
	return nil
}

// Abort discards the restore; the store is unchanged.
func (r *Restore) Abort() {
	if r.done {
		return
	}
	r.done = true
	r.txn.Abort()
}
