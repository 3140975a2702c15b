package state

import (
	"fmt"
	"slices"
	"strings"

	memdb "github.com/hashicorp/go-memdb"
)

// setIndex records that table was written at index.
func setIndex(txn *memdb.Txn, table string, index uint64) error {
	if err := txn.Insert(tableIndex, &IndexEntry{Key: table, Value: index}); err != nil {
		return fmt.Errorf("state: update index of table %q: %w", table, err)
	}
	return nil
}

// tableIndexOf returns the modify index of table in txn, 0 if never written.
func tableIndexOf(txn *memdb.Txn, ws memdb.WatchSet, table string) (uint64, error) {
	raw, err := first(txn, ws, tableIndex, indexID, table)
	if err != nil {
		return 0, err
	}
	if e, ok := raw.(*IndexEntry); ok {
		return e.Value, nil
	}
	return 0, nil
}

// LatestIndex returns the highest modify index of any table.
func (s *reader) LatestIndex() (uint64, error) {
	txn := s.readTxn()
	it, err := get(txn, nil, tableIndex, indexID)
	if err != nil {
		return 0, err
	}
	var max uint64
	for _, e := range collect[*IndexEntry](it, nil) {
		if e.Value > max {
			max = e.Value
		}
	}
	return max, nil
}

// Index returns the modify index of one table ("jobs", "nodes", "allocs", "evals", "job_summary", "job_version").
func (s *reader) Index(table string) (uint64, error) {
	if !slices.Contains(indexedTables, table) {
		return 0, fmt.Errorf("state: unknown table %q (known tables: %s)", table, strings.Join(indexedTables, ", "))
	}
	return tableIndexOf(s.readTxn(), nil, table)
}

// WatchIndex is Index that also adds the table's index entry to ws, so a
// blocking query wakes when the table is next written.
func (s *reader) WatchIndex(ws memdb.WatchSet, table string) (uint64, error) {
	if !slices.Contains(indexedTables, table) {
		return 0, fmt.Errorf("state: unknown table %q (known tables: %s)", table, strings.Join(indexedTables, ", "))
	}
	return tableIndexOf(s.readTxn(), ws, table)
}

// Indexes returns every table's modify index (for FSM snapshots).
func (s *reader) Indexes() (map[string]uint64, error) {
	it, err := get(s.readTxn(), nil, tableIndex, indexID)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, e := range collect[*IndexEntry](it, nil) {
		out[e.Key] = e.Value
	}
	return out, nil
}
