package state

import (
	"slices"

	memdb "github.com/hashicorp/go-memdb"
)

// Snapshot returns a point-in-time, read-only view of the store. It is
// cheap (the data is shared, not copied).
func (s *Store) Snapshot() (*Snapshot, error) {
	return newSnapshot(s.db.Load().Snapshot()), nil
}

func newSnapshot(db *memdb.MemDB) *Snapshot {
	snap := &Snapshot{db: db}
	snap.reader = reader{load: func() *memdb.MemDB { return db }}
	return snap
}

// Fork returns a private store that starts with the snapshot's data. Writes
// to it change only the fork, never the snapshot or the Store it came from
// (as the plan endpoint's dry run uses it).
func (s *Snapshot) Fork() *Store {
	return newStore(s.db.Snapshot())
}

// TableNames returns the name of every table of the store's schema but
// the derived ones (rebuilt by a restore), sorted. An FSM snapshot must
// cover each (the server's tests check it).
func TableNames() []string {
	var out []string
	for name := range schema().Tables {
		if !derivedTables[name] {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Rows calls fn with every row of table, in the order of its "id" index,
// stopping at the first error. Rows of the "index" table are *IndexEntry.
// The rows are the store's own: fn must not change them.
func (s *Snapshot) Rows(table string, fn func(row any) error) error {
	it, err := get(s.readTxn(), nil, table, indexID)
	if err != nil {
		return err
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if err := fn(raw); err != nil {
			return err
		}
	}
	return nil
}
