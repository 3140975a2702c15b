// Copyright (c) HashiCorp, Inc.
// SPDX-License-Identifier: MPL-2.0

package memdb

import (
	"bytes"
	"fmt"
	"strings"

	iradix "github.com/hashicorp/go-immutable-radix"
)

const (
	id = "id"
)

var (
	// ErrNotFound is returned when the requested item is not found
	ErrNotFound = fmt.Errorf("not found")
)

// Txn is a transaction against a MemDB.
// This can be a read or write transaction.
type Txn struct {
	db    *MemDB
	write bool
	// root is the database as the transaction began; nil once a write
	// transaction is committed or aborted.
	root  *dbRoot
	after []func()

	// changes is used to track the changes performed during the transaction. If
	// it is nil at transaction start then changes are not tracked.
	// nomadlike: every mutation of the current change set (since the last
	// MarkChanges), in order (Changes no longer replaces it with its
	// result), and kept is Changes' result while keptLen is len(changes)
	// and keptOK is set.
	changes Changes
	kept    Changes
	keptLen int
	keptOK  bool

	// modified is the transaction of each index written, by slot (nil
	// until the first write; nomadlike: upstream kept a map).
	modified []*iradix.Txn
}

// TrackChanges enables change tracking for the transaction. If called at any
// point before commit, subsequent mutations will be recorded and can be
// retrieved using ChangeSet. Once this has been called on a transaction it
// can't be unset. As with other Txn methods it's not safe to call this from a
// different goroutine than the one making mutations or committing the
// transaction.
func (txn *Txn) TrackChanges() {
	if txn.changes == nil {
		txn.changes = make(Changes, 0, changesFirst)
	}
}

// The arrays changes are appended to (nomadlike): a transaction's first
// holds changesFirst, and a change set MarkChanges starts goes on in the
// spare room of the one before it when that has changesMin, else in a new
// array of changesChunk. Upstream's first array held one change and grew
// by doubling, and a transaction applying a batch of Raft entries kept
// every change in one array: it was copied at each doubling, a tenth of
// the bytes a batch of registrations allocated.
const (
	changesFirst = 8
	changesMin   = 16
	changesChunk = 64
)

// table returns the named table's indexes.
func (txn *Txn) table(table string) (*tableInfo, error) {
	ti, ok := txn.db.tables[table]
	if !ok {
		return nil, fmt.Errorf("invalid table '%s'", table)
	}
	return ti, nil
}

// readableRoot returns the root of the given index as this transaction
// sees it. If the transaction is a write transaction that modified the
// index, the root of its modifications is returned: cloned first when the
// caller keeps reading it after later writes (an iterator, a watch), so
// those writes copy the nodes it reads instead of changing them in place;
// as it is for a lookup that ends before the next write (nomadlike:
// upstream cloned for every read, and each clone made the next write copy
// its path again).
func (txn *Txn) readableRoot(ix *indexInfo, keep bool) *iradix.Node {
	if txn.modified != nil {
		if exist := txn.modified[ix.slot]; exist != nil {
			if keep {
				return exist.Clone().Root()
			}
			return exist.Root()
		}
	}
	return txn.root.trees[ix.slot].Root()
}

// writableIndex returns a transaction usable for modifying the
// given index in a table.
func (txn *Txn) writableIndex(ix *indexInfo) *iradix.Txn {
	if txn.modified == nil {
		txn.modified = make([]*iradix.Txn, txn.db.slots)
	}

	// Look for existing transaction
	if exist := txn.modified[ix.slot]; exist != nil {
		return exist
	}

	// Start a new transaction
	indexTxn := txn.root.trees[ix.slot].Txn()

	// If we are the primary DB, enable mutation tracking. Snapshots should
	// not notify, otherwise we will trigger watches on the primary DB when
	// the writes will not be visible.
	indexTxn.TrackMutate(txn.db.primary)

	// Keep this open for the duration of the txn
	txn.modified[ix.slot] = indexTxn
	return indexTxn
}

// Abort is used to cancel this transaction.
// This is a noop for read transactions,
// already aborted or commited transactions.
func (txn *Txn) Abort() {
	// Noop for a read transaction
	if !txn.write {
		return
	}

	// Check if already aborted or committed
	if txn.root == nil {
		return
	}

	// Clear the txn
	txn.root = nil
	txn.modified = nil
	txn.changes = nil
	txn.kept, txn.keptOK = nil, false

	// Release the writer lock since this is invalid
	txn.db.writer.Unlock()
}

// committedRoot returns the database root with this transaction's
// modifications.
func (txn *Txn) committedRoot() *dbRoot {
	if txn.modified == nil {
		return txn.root
	}
	trees := make([]*iradix.Tree, len(txn.root.trees))
	copy(trees, txn.root.trees)
	for slot, subTxn := range txn.modified {
		if subTxn != nil {
			trees[slot] = subTxn.CommitOnly()
		}
	}
	return &dbRoot{trees: trees}
}

// Commit is used to finalize this transaction.
// This is a noop for read transactions,
// already aborted or committed transactions.
func (txn *Txn) Commit() {
	// Noop for a read transaction
	if !txn.write {
		return
	}

	// Check if already aborted or committed
	if txn.root == nil {
		return
	}

	// Commit each sub-transaction scoped to (table, index) and update
	// the root of the DB
	txn.db.root.Store(txn.committedRoot())

	// Now issue all of the mutation updates (this is safe to call
	// even if mutation tracking isn't enabled); we do this after
	// the root pointer is swapped so that waking responders will
	// see the new state.
	for _, subTxn := range txn.modified {
		if subTxn != nil {
			subTxn.Notify()
		}
	}

	// Clear the txn
	txn.root = nil
	txn.modified = nil

	// Release the writer lock since this is invalid
	txn.db.writer.Unlock()

	// Run the deferred functions, if any
	for i := len(txn.after); i > 0; i-- {
		fn := txn.after[i-1]
		fn()
	}
}

// Insert is used to add or update an object into the given table.
//
// When updating an object, the obj provided should be a copy rather
// than a value updated in-place. Modifying values in-place that are already
// inserted into MemDB is not supported behavior.
func (txn *Txn) Insert(table string, obj interface{}) error {
	if !txn.write {
		return fmt.Errorf("cannot insert in read-only transaction")
	}

	// Get the table schema
	ti, err := txn.table(table)
	if err != nil {
		return err
	}

	// Get the primary ID of the object
	idIndexer := ti.id.schema.Indexer.(SingleIndexer)
	ok, idVal, err := idIndexer.FromObject(obj)
	if err != nil {
		return fmt.Errorf("failed to build primary index: %v", err)
	}
	if !ok {
		return fmt.Errorf("object missing primary index")
	}

	// Lookup the object by ID first, to see if this is an update
	idTxn := txn.writableIndex(ti.id)
	existing, update := idTxn.Get(idVal)

	// On an update, there is an existing object with the given
	// primary ID. We do the update by deleting the current object
	// and inserting the new object.
	for _, ix := range ti.indexes {
		name, indexSchema := ix.name, ix.schema
		indexTxn := txn.writableIndex(ix)

		// Determine the new index value (a single value in one, which
		// does not escape: nomadlike)
		var (
			ok   bool
			one  [1][]byte
			vals [][]byte
			err  error
		)
		switch indexer := indexSchema.Indexer.(type) {
		case SingleIndexer:
			ok, one[0], err = indexer.FromObject(obj)
			vals = one[:]
		case MultiIndexer:
			ok, vals, err = indexer.FromObject(obj)
		}
		if err != nil {
			return fmt.Errorf("failed to build index '%s': %v", name, err)
		}

		// Handle non-unique index by computing a unique index.
		// This is done by appending the primary key which must
		// be unique anyways.
		if ok && !indexSchema.Unique {
			for i := range vals {
				vals[i] = append(vals[i], idVal...)
			}
		}

		// Handle the update by deleting from the index first
		if update {
			var (
				okExist   bool
				oneExist  [1][]byte
				valsExist [][]byte
				err       error
			)
			switch indexer := indexSchema.Indexer.(type) {
			case SingleIndexer:
				okExist, oneExist[0], err = indexer.FromObject(existing)
				valsExist = oneExist[:]
			case MultiIndexer:
				okExist, valsExist, err = indexer.FromObject(existing)
			}
			if err != nil {
				return fmt.Errorf("failed to build index '%s': %v", name, err)
			}
			if okExist {
				for i, valExist := range valsExist {
					// Handle non-unique index by computing a unique index.
					// This is done by appending the primary key which must
					// be unique anyways.
					if !indexSchema.Unique {
						valExist = append(valExist, idVal...)
					}

					// If we are writing to the same index with the same value,
					// we can avoid the delete as the insert will overwrite the
					// value anyways.
					if i >= len(vals) || !bytes.Equal(valExist, vals[i]) {
						indexTxn.Delete(valExist)
					}
				}
			}
		}

		// If there is no index value, either this is an error or an expected
		// case and we can skip updating
		if !ok {
			if indexSchema.AllowMissing {
				continue
			} else {
				return fmt.Errorf("missing value for index '%s'", name)
			}
		}

		// Update the value of the index
		for _, val := range vals {
			indexTxn.Insert(val, obj)
		}
	}
	if txn.changes != nil {
		txn.changes = append(txn.changes, Change{
			Table:      table,
			Before:     existing, // might be nil on a create
			After:      obj,
			primaryKey: idVal,
		})
	}
	return nil
}

// Delete is used to delete a single object from the given table.
// This object must already exist in the table.
func (txn *Txn) Delete(table string, obj interface{}) error {
	if !txn.write {
		return fmt.Errorf("cannot delete in read-only transaction")
	}

	// Get the table schema
	ti, err := txn.table(table)
	if err != nil {
		return err
	}

	// Get the primary ID of the object
	idIndexer := ti.id.schema.Indexer.(SingleIndexer)
	ok, idVal, err := idIndexer.FromObject(obj)
	if err != nil {
		return fmt.Errorf("failed to build primary index: %v", err)
	}
	if !ok {
		return fmt.Errorf("object missing primary index")
	}

	// Lookup the object by ID first, check if we should continue
	idTxn := txn.writableIndex(ti.id)
	existing, ok := idTxn.Get(idVal)
	if !ok {
		return ErrNotFound
	}

	// Remove the object from all the indexes
	for _, ix := range ti.indexes {
		name, indexSchema := ix.name, ix.schema
		indexTxn := txn.writableIndex(ix)

		// Handle the update by deleting from the index first
		var (
			ok   bool
			one  [1][]byte
			vals [][]byte
			err  error
		)
		switch indexer := indexSchema.Indexer.(type) {
		case SingleIndexer:
			ok, one[0], err = indexer.FromObject(existing)
			vals = one[:]
		case MultiIndexer:
			ok, vals, err = indexer.FromObject(existing)
		}
		if err != nil {
			return fmt.Errorf("failed to build index '%s': %v", name, err)
		}
		if ok {
			// Handle non-unique index by computing a unique index.
			// This is done by appending the primary key which must
			// be unique anyways.
			for _, val := range vals {
				if !indexSchema.Unique {
					val = append(val, idVal...)
				}
				indexTxn.Delete(val)
			}
		}
	}
	if txn.changes != nil {
		txn.changes = append(txn.changes, Change{
			Table:      table,
			Before:     existing,
			After:      nil, // Now nil indicates deletion
			primaryKey: idVal,
		})
	}
	return nil
}

// DeletePrefix is used to delete an entire subtree based on a prefix.
// The given index must be a prefix index, and will be used to perform a scan and enumerate the set of objects to delete.
// These will be removed from all other indexes, and then a special prefix operation will delete the objects from the given index in an efficient subtree delete operation.
// This is useful when you have a very large number of objects indexed by the given index, along with a much smaller number of entries in the other indexes for those objects.
func (txn *Txn) DeletePrefix(table string, prefix_index string, prefix string) (bool, error) {
	if !txn.write {
		return false, fmt.Errorf("cannot delete in read-only transaction")
	}

	if !strings.HasSuffix(prefix_index, "_prefix") {
		return false, fmt.Errorf("Index name for DeletePrefix must be a prefix index, Got %v ", prefix_index)
	}

	deletePrefixIndex := strings.TrimSuffix(prefix_index, "_prefix")

	// Get an iterator over all of the keys with the given prefix.
	entries, err := txn.Get(table, prefix_index, prefix)
	if err != nil {
		return false, fmt.Errorf("failed kvs lookup: %s", err)
	}
	// Get the table schema
	ti, err := txn.table(table)
	if err != nil {
		return false, err
	}
	prefixIx, ok := ti.byName[deletePrefixIndex]
	if !ok {
		return false, fmt.Errorf("invalid index '%s'", deletePrefixIndex)
	}

	foundAny := false
	for entry := entries.Next(); entry != nil; entry = entries.Next() {
		if !foundAny {
			foundAny = true
		}
		// Get the primary ID of the object
		idIndexer := ti.id.schema.Indexer.(SingleIndexer)
		ok, idVal, err := idIndexer.FromObject(entry)
		if err != nil {
			return false, fmt.Errorf("failed to build primary index: %v", err)
		}
		if !ok {
			return false, fmt.Errorf("object missing primary index")
		}
		if txn.changes != nil {
			// Record the deletion
			idTxn := txn.writableIndex(ti.id)
			existing, ok := idTxn.Get(idVal)
			if ok {
				txn.changes = append(txn.changes, Change{
					Table:      table,
					Before:     existing,
					After:      nil, // Now nil indicates deletion
					primaryKey: idVal,
				})
			}
		}
		// Remove the object from all the indexes except the given prefix index
		for _, ix := range ti.indexes {
			name, indexSchema := ix.name, ix.schema
			if name == deletePrefixIndex {
				continue
			}
			indexTxn := txn.writableIndex(ix)

			// Handle the update by deleting from the index first
			var (
				ok   bool
				one  [1][]byte
				vals [][]byte
				err  error
			)
			switch indexer := indexSchema.Indexer.(type) {
			case SingleIndexer:
				ok, one[0], err = indexer.FromObject(entry)
				vals = one[:]
			case MultiIndexer:
				ok, vals, err = indexer.FromObject(entry)
			}
			if err != nil {
				return false, fmt.Errorf("failed to build index '%s': %v", name, err)
			}

			if ok {
				// Handle non-unique index by computing a unique index.
				// This is done by appending the primary key which must
				// be unique anyways.
				for _, val := range vals {
					if !indexSchema.Unique {
						val = append(val, idVal...)
					}
					indexTxn.Delete(val)
				}
			}
		}

	}
	if foundAny {
		indexTxn := txn.writableIndex(prefixIx)
		ok = indexTxn.DeletePrefix([]byte(prefix))
		if !ok {
			panic(fmt.Errorf("prefix %v matched some entries but DeletePrefix did not delete any ", prefix))
		}
		return true, nil
	}
	return false, nil
}

// DeleteAll is used to delete all the objects in a given table
// matching the constraints on the index
func (txn *Txn) DeleteAll(table, index string, args ...interface{}) (int, error) {
	if !txn.write {
		return 0, fmt.Errorf("cannot delete in read-only transaction")
	}

	// Get all the objects
	iter, err := txn.Get(table, index, args...)
	if err != nil {
		return 0, err
	}

	// Put them into a slice so there are no safety concerns while actually
	// performing the deletes
	var objs []interface{}
	for {
		obj := iter.Next()
		if obj == nil {
			break
		}

		objs = append(objs, obj)
	}

	// Do the deletes
	num := 0
	for _, obj := range objs {
		if err := txn.Delete(table, obj); err != nil {
			return num, err
		}
		num++
	}
	return num, nil
}

// FirstWatch is used to return the first matching object for
// the given constraints on the index along with the watch channel.
//
// Note that all values read in the transaction form a consistent snapshot
// from the time when the transaction was created.
//
// The watch channel is closed when a subsequent write transaction
// has updated the result of the query. Since each read transaction
// operates on an isolated snapshot, a new read transaction must be
// started to observe the changes that have been made.
//
// If the value of index ends with "_prefix", FirstWatch will perform a prefix
// match instead of full match on the index. The registered indexer must implement
// PrefixIndexer, otherwise an error is returned.
func (txn *Txn) FirstWatch(table, index string, args ...interface{}) (<-chan struct{}, interface{}, error) {
	// Get the index value
	ix, val, err := txn.getIndexValue(table, index, args...)
	if err != nil {
		return nil, nil, err
	}

	// Get the index itself
	root := txn.readableRoot(ix, true)

	// Do an exact lookup
	if ix.schema.Unique && val != nil && ix.name == index {
		watch, obj, ok := root.GetWatch(val)
		if !ok {
			return watch, nil, nil
		}
		return watch, obj, nil
	}

	// Handle non-unique index by using an iterator and getting the first value
	iter := root.Iterator()
	watch := iter.SeekPrefixWatch(val)
	_, value, _ := iter.Next()
	return watch, value, nil
}

// LastWatch is used to return the last matching object for
// the given constraints on the index along with the watch channel.
//
// Note that all values read in the transaction form a consistent snapshot
// from the time when the transaction was created.
//
// The watch channel is closed when a subsequent write transaction
// has updated the result of the query. Since each read transaction
// operates on an isolated snapshot, a new read transaction must be
// started to observe the changes that have been made.
//
// If the value of index ends with "_prefix", LastWatch will perform a prefix
// match instead of full match on the index. The registered indexer must implement
// PrefixIndexer, otherwise an error is returned.
func (txn *Txn) LastWatch(table, index string, args ...interface{}) (<-chan struct{}, interface{}, error) {
	// Get the index value
	ix, val, err := txn.getIndexValue(table, index, args...)
	if err != nil {
		return nil, nil, err
	}

	// Get the index itself
	root := txn.readableRoot(ix, true)

	// Do an exact lookup
	if ix.schema.Unique && val != nil && ix.name == index {
		watch, obj, ok := root.GetWatch(val)
		if !ok {
			return watch, nil, nil
		}
		return watch, obj, nil
	}

	// Handle non-unique index by using an iterator and getting the last value
	iter := root.ReverseIterator()
	watch := iter.SeekPrefixWatch(val)
	_, value, _ := iter.Previous()
	return watch, value, nil
}

// First is used to return the first matching object for
// the given constraints on the index.
//
// Note that all values read in the transaction form a consistent snapshot
// from the time when the transaction was created.
//
// First makes no watch channel (nomadlike: upstream called FirstWatch,
// which made one for every lookup, watched or not).
func (txn *Txn) First(table, index string, args ...interface{}) (interface{}, error) {
	// Get the index value
	ix, val, err := txn.getIndexValue(table, index, args...)
	if err != nil {
		return nil, err
	}

	// Get the index itself: the lookup ends before any later write.
	root := txn.readableRoot(ix, false)

	// Do an exact lookup
	if ix.schema.Unique && val != nil && ix.name == index {
		obj, _ := root.Get(val)
		return obj, nil
	}

	// The whole index (no arguments): its lowest key, without an
	// iterator (nomadlike).
	if val == nil {
		_, value, _ := root.Minimum()
		return value, nil
	}

	// Handle non-unique index by using an iterator and getting the first value
	iter := root.Iterator()
	iter.SeekPrefix(val)
	_, value, _ := iter.Next()
	return value, nil
}

// Last is used to return the last matching object for
// the given constraints on the index.
//
// Note that all values read in the transaction form a consistent snapshot
// from the time when the transaction was created.
//
// Last makes no watch channel (nomadlike, as First).
func (txn *Txn) Last(table, index string, args ...interface{}) (interface{}, error) {
	// Get the index value
	ix, val, err := txn.getIndexValue(table, index, args...)
	if err != nil {
		return nil, err
	}

	// Get the index itself: the lookup ends before any later write.
	root := txn.readableRoot(ix, false)

	// Do an exact lookup
	if ix.schema.Unique && val != nil && ix.name == index {
		obj, _ := root.Get(val)
		return obj, nil
	}

	// Handle non-unique index by using an iterator and getting the last value
	iter := root.ReverseIterator()
	iter.SeekPrefix(val)
	_, value, _ := iter.Previous()
	return value, nil
}

// LongestPrefix is used to fetch the longest prefix match for the given
// constraints on the index. Note that this will not work with the memdb
// StringFieldIndex because it adds null terminators which prevent the
// algorithm from correctly finding a match (it will get to right before the
// null and fail to find a leaf node). This should only be used where the prefix
// given is capable of matching indexed entries directly, which typically only
// applies to a custom indexer. See the unit test for an example.
//
// Note that all values read in the transaction form a consistent snapshot
// from the time when the transaction was created.
func (txn *Txn) LongestPrefix(table, index string, args ...interface{}) (interface{}, error) {
	// Enforce that this only works on prefix indexes.
	if !strings.HasSuffix(index, "_prefix") {
		return nil, fmt.Errorf("must use '%s_prefix' on index", index)
	}

	// Get the index value.
	ix, val, err := txn.getIndexValue(table, index, args...)
	if err != nil {
		return nil, err
	}

	// This algorithm only makes sense against a unique index, otherwise the
	// index keys will have the IDs appended to them.
	if !ix.schema.Unique {
		return nil, fmt.Errorf("index '%s' is not unique", index)
	}

	// Find the longest prefix match with the given index.
	if _, value, ok := txn.readableRoot(ix, false).LongestPrefix(val); ok {
		return value, nil
	}
	return nil, nil
}

// getIndexValue is used to get the index and the value
// used to scan the index given the parameters. This handles prefix based
// scans when the index has the "_prefix" suffix. The index must support
// prefix iteration.
func (txn *Txn) getIndexValue(table, index string, args ...interface{}) (*indexInfo, []byte, error) {
	// Get the table schema
	ti, err := txn.table(table)
	if err != nil {
		return nil, nil, err
	}

	// Check for a prefix scan
	prefixScan := false
	if strings.HasSuffix(index, "_prefix") {
		index = strings.TrimSuffix(index, "_prefix")
		prefixScan = true
	}

	// Get the index schema
	ix, ok := ti.byName[index]
	if !ok {
		return nil, nil, fmt.Errorf("invalid index '%s'", index)
	}
	indexSchema := ix.schema

	// Hot-path for when there are no arguments
	if len(args) == 0 {
		return ix, nil, nil
	}

	// Special case the prefix scanning
	if prefixScan {
		prefixIndexer, ok := indexSchema.Indexer.(PrefixIndexer)
		if !ok {
			return ix, nil,
				fmt.Errorf("index '%s' does not support prefix scanning", index)
		}

		val, err := prefixIndexer.PrefixFromArgs(args...)
		if err != nil {
			return ix, nil, fmt.Errorf("index error: %v", err)
		}
		return ix, val, err
	}

	// Get the exact match index
	val, err := indexSchema.Indexer.FromArgs(args...)
	if err != nil {
		return ix, nil, fmt.Errorf("index error: %v", err)
	}
	return ix, val, err
}

// ResultIterator is used to iterate over a list of results from a query on a table.
//
// When a ResultIterator is created from a write transaction, the results from
// Next will reflect a snapshot of the table at the time the ResultIterator is
// created.
// This means that calling Insert or Delete on a transaction while iterating is
// allowed, but the changes made by Insert or Delete will not be observed in the
// results returned from subsequent calls to Next. For example if an item is deleted
// from the index used by the iterator it will still be returned by Next. If an
// item is inserted into the index used by the iterator, it will not be returned
// by Next. However, an iterator created after a call to Insert or Delete will
// reflect the modifications.
//
// When a ResultIterator is created from a write transaction, and there are already
// modifications to the index used by the iterator, the modification cache of the
// index will be invalidated. This may result in some additional allocations if
// the same node in the index is modified again.
type ResultIterator interface {
	WatchCh() <-chan struct{}
	// Next returns the next result from the iterator. If there are no more results
	// nil is returned.
	Next() interface{}
}

// Get is used to construct a ResultIterator over all the rows that match the
// given constraints of an index. The index values must match exactly (this
// is not a range-based or prefix-based lookup) by default.
//
// Prefix lookups: if the named index implements PrefixIndexer, you may perform
// prefix-based lookups by appending "_prefix" to the index name. In this
// scenario, the index values given in args are treated as prefix lookups. For
// example, a StringFieldIndex will match any string with the given value
// as a prefix: "mem" matches "memdb".
//
// See the documentation for ResultIterator to understand the behaviour of the
// returned ResultIterator.
func (txn *Txn) Get(table, index string, args ...interface{}) (ResultIterator, error) {
	indexIter, root, val, err := txn.getIndexIterator(table, index, args...)
	if err != nil {
		return nil, err
	}

	// Seek the iterator to the appropriate sub-set
	indexIter.SeekPrefix(val)

	// Create an iterator; its watch channel is made when asked for
	// (nomadlike: upstream made it here, watched or not).
	iter := &radixIterator{
		iter:   indexIter,
		root:   root,
		prefix: val,
	}
	return iter, nil
}

// GetTransient is Get for an iterator used up before the transaction's
// next write, with no watch channel (nomadlike). In a write transaction it
// reads the index's tree in place, where Get clones it: a clone resets the
// set of nodes the transaction may change in place, so the index's next
// insert copied its whole path again (a write that reads a job's
// evaluations, then stores one, copied the path twice). Iterating it after
// a write of the transaction is undefined. Its WatchCh is nil.
func (txn *Txn) GetTransient(table, index string, args ...interface{}) (ResultIterator, error) {
	ix, val, err := txn.getIndexValue(table, index, args...)
	if err != nil {
		return nil, err
	}
	indexIter := txn.readableRoot(ix, false).Iterator()
	indexIter.SeekPrefix(val)
	return &radixIterator{iter: indexIter, prefix: val}, nil
}

// GetReverse is used to construct a Reverse ResultIterator over all the
// rows that match the given constraints of an index.
// The returned ResultIterator's Next() will return the next Previous value.
//
// See the documentation on Get for details on arguments.
//
// See the documentation for ResultIterator to understand the behaviour of the
// returned ResultIterator.
func (txn *Txn) GetReverse(table, index string, args ...interface{}) (ResultIterator, error) {
	indexIter, root, val, err := txn.getIndexIteratorReverse(table, index, args...)
	if err != nil {
		return nil, err
	}

	// Seek the iterator to the appropriate sub-set
	indexIter.SeekPrefix(val)

	// Create an iterator; its watch channel is made when asked for
	// (nomadlike, as Get).
	iter := &radixReverseIterator{
		iter:   indexIter,
		root:   root,
		prefix: val,
	}
	return iter, nil
}

// LowerBound is used to construct a ResultIterator over all the the range of
// rows that have an index value greater than or equal to the provide args.
// Calling this then iterating until the rows are larger than required allows
// range scans within an index. It is not possible to watch the resulting
// iterator since the radix tree doesn't efficiently allow watching on lower
// bound changes. The WatchCh returned will be nill and so will block forever.
//
// If the value of index ends with "_prefix", LowerBound will perform a prefix match instead of
// a full match on the index. The registered index must implement PrefixIndexer,
// otherwise an error is returned.
//
// See the documentation for ResultIterator to understand the behaviour of the
// returned ResultIterator.
func (txn *Txn) LowerBound(table, index string, args ...interface{}) (ResultIterator, error) {
	indexIter, _, val, err := txn.getIndexIterator(table, index, args...)
	if err != nil {
		return nil, err
	}

	// Seek the iterator to the appropriate sub-set
	indexIter.SeekLowerBound(val)

	// Create an iterator
	iter := &radixIterator{
		iter: indexIter,
	}
	return iter, nil
}

// ReverseLowerBound is used to construct a Reverse ResultIterator over all the
// the range of rows that have an index value less than or equal to the
// provide args.  Calling this then iterating until the rows are lower than
// required allows range scans within an index. It is not possible to watch the
// resulting iterator since the radix tree doesn't efficiently allow watching
// on lower bound changes. The WatchCh returned will be nill and so will block
// forever.
//
// See the documentation for ResultIterator to understand the behaviour of the
// returned ResultIterator.
func (txn *Txn) ReverseLowerBound(table, index string, args ...interface{}) (ResultIterator, error) {
	indexIter, _, val, err := txn.getIndexIteratorReverse(table, index, args...)
	if err != nil {
		return nil, err
	}

	// Seek the iterator to the appropriate sub-set
	indexIter.SeekReverseLowerBound(val)

	// Create an iterator
	iter := &radixReverseIterator{
		iter: indexIter,
	}
	return iter, nil
}

// objectID is a tuple of table name and the raw internal id byte slice
// converted to a string. It's only converted to a string to make it comparable
// so this struct can be used as a map index.
type objectID struct {
	Table    string
	IndexVal string
}

// mutInfo stores metadata about mutations to allow collapsing multiple
// mutations to the same object into one.
type mutInfo struct {
	firstBefore interface{}
	lastIdx     int
}

// Changes returns the set of object changes that have been made in the
// transaction so far. If change tracking is not enabled it wil always return
// nil. It can be called before or after Commit. If it is before Commit it will
// return all changes made so far which may not be the same as the final
// Changes. After abort it will always return nil. As with other Txn methods
// it's not safe to call this from a different goroutine than the one making
// mutations or committing the transaction. Mutations will appear in the order
// they were performed in the transaction but multiple operations to the same
// object will be collapsed so only the effective overall change to that object
// is present. If transaction operations are dependent (e.g. copy object X to Y
// then delete X) this might mean the set of mutations is incomplete to verify
// history, but it is complete in that the net effect is preserved (Y got a new
// value, X got removed).
//
// nomadlike: Changes returns the changes made since the last MarkChanges
// (or the start of the transaction). The result is kept: a second call
// with no mutation in between returns it at once; and a list of up to
// smallChanges changes is de-duplicated by comparing them pairwise,
// without a map. The result's capacity is its length, so appending to it
// never writes over the transaction's later changes.
func (txn *Txn) Changes() Changes {
	if txn.changes == nil {
		return nil
	}
	if txn.keptOK && txn.keptLen == len(txn.changes) {
		return txn.kept
	}
	changes := txn.changes[:len(txn.changes):len(txn.changes)]
	if len(changes) <= smallChanges {
		changes = dedupSmall(changes)
	} else {
		changes = dedupWithMap(changes)
	}
	txn.kept = changes[:len(changes):len(changes)]
	txn.keptLen, txn.keptOK = len(txn.changes), true
	return txn.kept
}

// MarkChanges starts a new change set: from now on Changes returns only
// the changes made after this call, each object's Before being the object
// as it was at the call (nomadlike: a batch of Raft entries applied in one
// transaction gives each entry the change set it would have had in a
// transaction of its own). Without change tracking it does nothing.
//
// The new change set is appended after the previous one's changes in the
// same array while it has room, else to a new array, so a set that grows
// copies only its own changes; Changes' results never have spare capacity
// and so never see later changes written over them.
func (txn *Txn) MarkChanges() {
	txn.keptOK = false
	if len(txn.changes) == 0 {
		return // nil (changes not tracked), or no change since the last mark
	}
	rest := txn.changes[len(txn.changes):]
	if cap(rest) < changesMin {
		rest = make(Changes, 0, changesChunk)
	}
	txn.changes = rest
}

// dedupWithMap is upstream's de-duplication of changes, with a map.
func dedupWithMap(changes Changes) Changes {
	// De-duplicate mutations by key so all take effect at the point of the last
	// write but we keep the mutations in order.
	dups := make(map[objectID]mutInfo)
	for i, m := range changes {
		oid := objectID{
			Table:    m.Table,
			IndexVal: string(m.primaryKey),
		}
		// Store the latest mutation index for each key value
		mi, ok := dups[oid]
		if !ok {
			// First entry for key, store the before value
			mi.firstBefore = m.Before
		}
		mi.lastIdx = i
		dups[oid] = mi
	}
	if len(dups) == len(changes) {
		// No duplicates found, fast path return it as is
		return changes
	}

	// Need to remove the duplicates
	cs := make(Changes, 0, len(dups))
	for i, m := range changes {
		oid := objectID{
			Table:    m.Table,
			IndexVal: string(m.primaryKey),
		}
		mi := dups[oid]
		if mi.lastIdx == i {
			// This was the latest value for this key copy it with the before value in
			// case it's different. Note that m is not a pointer so we are not
			// modifying the txn.changeSet here - it's already a copy.
			m.Before = mi.firstBefore

			// Edge case - if the object was inserted and then eventually deleted in
			// the same transaction, then the net affect on that key is a no-op. Don't
			// emit a mutation with nil for before and after as it's meaningless and
			// might violate expectations and cause a panic in code that assumes at
			// least one must be set.
			if m.Before == nil && m.After == nil {
				continue
			}
			cs = append(cs, m)
		}
	}
	return cs
}

// smallChanges is the longest list of changes Changes de-duplicates
// without a map.
const smallChanges = 32

// sameObject reports whether a and b change the same object.
func sameObject(a, b *Change) bool {
	return len(a.primaryKey) == len(b.primaryKey) && a.Table == b.Table && bytes.Equal(a.primaryKey, b.primaryKey)
}

// dedupSmall is Changes' de-duplication for a short list, comparing its
// changes pairwise: changes itself if no object changed twice, else a new
// list in which each object's last change stands, with its first Before.
func dedupSmall(changes Changes) Changes {
	dup := false
	for i := 1; i < len(changes) && !dup; i++ {
		for j := 0; j < i; j++ {
			if sameObject(&changes[i], &changes[j]) {
				dup = true
				break
			}
		}
	}
	if !dup {
		return changes
	}
	cs := make(Changes, 0, len(changes))
next:
	for i := range changes {
		for j := i + 1; j < len(changes); j++ {
			if sameObject(&changes[i], &changes[j]) {
				continue next // not the last change of its object
			}
		}
		m := changes[i]
		for j := 0; j < i; j++ {
			if sameObject(&changes[i], &changes[j]) {
				m.Before = changes[j].Before // the first change's
				break
			}
		}
		// An object inserted and then deleted: no change (see Changes).
		if m.Before == nil && m.After == nil {
			continue
		}
		cs = append(cs, m)
	}
	return cs
}

func (txn *Txn) getIndexIterator(table, index string, args ...interface{}) (*iradix.Iterator, *iradix.Node, []byte, error) {
	// Get the index value to scan
	ix, val, err := txn.getIndexValue(table, index, args...)
	if err != nil {
		return nil, nil, nil, err
	}

	// Get the index itself
	indexRoot := txn.readableRoot(ix, true)

	// Get an iterator over the index
	indexIter := indexRoot.Iterator()
	return indexIter, indexRoot, val, nil
}

func (txn *Txn) getIndexIteratorReverse(table, index string, args ...interface{}) (*iradix.ReverseIterator, *iradix.Node, []byte, error) {
	// Get the index value to scan
	ix, val, err := txn.getIndexValue(table, index, args...)
	if err != nil {
		return nil, nil, nil, err
	}

	// Get the index itself
	indexRoot := txn.readableRoot(ix, true)

	// Get an interator over the index
	indexIter := indexRoot.ReverseIterator()
	return indexIter, indexRoot, val, nil
}

// Defer is used to push a new arbitrary function onto a stack which
// gets called when a transaction is committed and finished. Deferred
// functions are called in LIFO order, and only invoked at the end of
// write transactions.
func (txn *Txn) Defer(fn func()) {
	txn.after = append(txn.after, fn)
}

// radixIterator is used to wrap an underlying iradix iterator.
// This is much more efficient than a sliceIterator as we are not
// materializing the entire view.
//
// Its watch channel is that of the node the iterator was seeked to,
// found again from root and prefix on the first WatchCh call (nomadlike;
// root is an immutable tree, so the node is the same). A LowerBound
// iterator has no root, and no watch channel.
type radixIterator struct {
	iter    *iradix.Iterator
	root    *iradix.Node
	prefix  []byte
	watchCh <-chan struct{}
}

func (r *radixIterator) WatchCh() <-chan struct{} {
	if r.watchCh == nil && r.root != nil {
		r.watchCh = r.root.Iterator().SeekPrefixWatch(r.prefix)
	}
	return r.watchCh
}

func (r *radixIterator) Next() interface{} {
	_, value, ok := r.iter.Next()
	if !ok {
		return nil
	}
	return value
}

// radixReverseIterator is radixIterator's reverse; its watch channel is
// found as radixIterator's.
type radixReverseIterator struct {
	iter    *iradix.ReverseIterator
	root    *iradix.Node
	prefix  []byte
	watchCh <-chan struct{}
}

func (r *radixReverseIterator) Next() interface{} {
	_, value, ok := r.iter.Previous()
	if !ok {
		return nil
	}
	return value
}

func (r *radixReverseIterator) WatchCh() <-chan struct{} {
	if r.watchCh == nil && r.root != nil {
		r.watchCh = r.root.ReverseIterator().SeekPrefixWatch(r.prefix)
	}
	return r.watchCh
}

// Snapshot creates a snapshot of the current state of the transaction.
// Returns a new read-only transaction or nil if the transaction is already
// aborted or committed.
func (txn *Txn) Snapshot() *Txn {
	if txn.root == nil {
		return nil
	}

	// Commit sub-transactions into the snapshot
	return &Txn{
		db:   txn.db,
		root: txn.committedRoot(),
	}
}
