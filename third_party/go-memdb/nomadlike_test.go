package memdb

// Tests of nomadlike's changes (NOMADLIKE.md).

import (
	"fmt"
	"math/rand"
	"reflect"
	"testing"
)

type nlRow struct {
	ID  string
	Foo string
}

// nlDB returns a database of tables t0..t(n-1), each with a unique id and
// a non-unique foo index.
func nlDB(t testing.TB, n int) *MemDB {
	s := &DBSchema{Tables: map[string]*TableSchema{}}
	for i := range n {
		name := fmt.Sprintf("t%d", i)
		s.Tables[name] = &TableSchema{Name: name, Indexes: map[string]*IndexSchema{
			"id":  {Name: "id", Unique: true, Indexer: &StringFieldIndex{Field: "ID"}},
			"foo": {Name: "foo", Indexer: &StringFieldIndex{Field: "Foo"}},
		}}
	}
	db, err := NewMemDB(s)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func nlInsert(t testing.TB, txn *Txn, table, id, foo string) {
	if err := txn.Insert(table, &nlRow{ID: id, Foo: foo}); err != nil {
		t.Fatal(err)
	}
}

// A commit writes the root of each modified index into a copy of the
// database's array of index roots: the other indexes keep their trees.
// Upstream inserted each one into a radix tree of all indexes: a one-row
// write of a 20-table database cost 56 allocations, now 43.
func TestCommitReplacesOnlyModifiedIndexes(t *testing.T) {
	db := nlDB(t, 20)
	before := db.root.Load()
	txn := db.Txn(true)
	nlInsert(t, txn, "t3", "a", "x")
	txn.Commit()
	after := db.root.Load()
	if after == before {
		t.Fatal("commit kept the old root")
	}
	ti := db.tables["t3"]
	for slot := range after.trees {
		changed := after.trees[slot] != before.trees[slot]
		want := slot == ti.byName["id"].slot || slot == ti.byName["foo"].slot
		if changed != want {
			t.Errorf("slot %d changed=%v, want %v", slot, changed, want)
		}
	}
	// A transaction that wrote nothing publishes the same root.
	txn = db.Txn(true)
	txn.Commit()
	if db.root.Load() != after {
		t.Error("an empty commit published a new root")
	}

	rows := make([]*nlRow, 201)
	for i := range rows {
		rows[i] = &nlRow{ID: fmt.Sprint("r", i), Foo: "x"}
	}
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		txn := db.Txn(true)
		if err := txn.Insert("t3", rows[i]); err != nil {
			t.Fatal(err)
		}
		i++
		txn.Commit()
	})
	if allocs > 43 {
		t.Errorf("a one-row write made %.0f allocations, want at most 43 (upstream 56)", allocs)
	}
}

// First and an unwatched Get make no watch channel: reading rows never
// read before allocates only the key and (for Get) the iterators.
// Upstream made a radix transaction for every read, and a channel (2
// allocations) on every row First found and on every node Get was seeked
// to: 3 more allocations for each.
func TestReadsMakeNoWatchChannel(t *testing.T) {
	db := nlDB(t, 1)
	txn := db.Txn(true)
	for i := range 1000 {
		nlInsert(t, txn, "t0", fmt.Sprint("r", i), fmt.Sprint("f", i))
	}
	txn.Commit()

	read := db.Txn(false)
	ids, foos := make([]any, 201), make([]any, 201)
	for i := range ids {
		ids[i], foos[i] = fmt.Sprint("r", i), fmt.Sprint("f", i)
	}
	i := 0
	first := testing.AllocsPerRun(200, func() {
		obj, err := read.First("t0", "id", ids[i])
		if err != nil || obj.(*nlRow).ID != ids[i] {
			t.Fatalf("First r%d: %v %v", i, obj, err)
		}
		i++
	})
	// 3 (upstream 6).
	if first > 3 {
		t.Errorf("First made %.0f allocations, want at most 3 (upstream 6)", first)
	}
	i = 0
	get := testing.AllocsPerRun(200, func() {
		it, err := read.Get("t0", "foo", foos[i])
		if err != nil || it.Next().(*nlRow).Foo != foos[i] {
			t.Fatalf("Get f%d: %v", i, err)
		}
		i++
	})
	// 7 (upstream 10).
	if get > 7 {
		t.Errorf("Get made %.0f allocations, want at most 7 (upstream 10)", get)
	}
}

// An iterator's watch channel, made when first asked for, still fires for
// a write committed before it was asked for (it is closed at once), and
// for one committed after; a write elsewhere closes neither.
func TestLazyIteratorWatchFires(t *testing.T) {
	for _, reverse := range []bool{false, true} {
		db := nlDB(t, 2)
		txn := db.Txn(true)
		nlInsert(t, txn, "t0", "a", "x")
		nlInsert(t, txn, "t0", "b", "y")
		nlInsert(t, txn, "t1", "a", "x")
		txn.Commit()

		get := func(txn *Txn, foo string) ResultIterator {
			var it ResultIterator
			var err error
			if reverse {
				it, err = txn.GetReverse("t0", "foo", foo)
			} else {
				it, err = txn.Get("t0", "foo", foo)
			}
			if err != nil {
				t.Fatal(err)
			}
			return it
		}
		read := db.Txn(false)
		early := get(read, "x")
		earlyCh := early.WatchCh()
		late := get(read, "x")
		other := get(read, "y")
		otherCh := other.WatchCh()

		w := db.Txn(true)
		nlInsert(t, w, "t1", "b", "x") // another table
		w.Commit()
		for name, ch := range map[string]<-chan struct{}{"early": earlyCh, "other": otherCh} {
			select {
			case <-ch:
				t.Fatalf("reverse=%v: %s closed by a write to another table", reverse, name)
			default:
			}
		}

		w = db.Txn(true)
		nlInsert(t, w, "t0", "a", "z") // leaves foo=x
		w.Commit()
		for name, ch := range map[string]<-chan struct{}{"early": earlyCh, "late (asked after the write)": late.WatchCh()} {
			select {
			case <-ch:
			default:
				t.Errorf("reverse=%v: %s watch not closed by the write", reverse, name)
			}
		}
		select {
		case <-otherCh:
			t.Errorf("reverse=%v: foo=y watch closed by a write of foo=x", reverse)
		default:
		}
		if early.Next().(*nlRow).ID != "a" || late.Next().(*nlRow).ID != "a" {
			t.Errorf("reverse=%v: iterators do not read their snapshot", reverse)
		}
	}
}

// A lookup in a write transaction reads the transaction's own tree
// without cloning it, so the writes after it still change the nodes the
// transaction made in place: a First between two inserts costs only its
// key and arguments (4 allocations). Upstream cloned, and the second
// insert copied its path again (9 allocations).
func TestWriteTxnFirstKeepsWritableNodes(t *testing.T) {
	db := nlDB(t, 1)
	i := 0
	run := func(read bool) float64 {
		return testing.AllocsPerRun(100, func() {
			txn := db.Txn(true)
			defer txn.Abort()
			id := fmt.Sprint("r", i)
			i++
			nlInsert(t, txn, "t0", id, "x")
			if read {
				if obj, err := txn.First("t0", "id", id); err != nil || obj == nil {
					t.Fatalf("First: %v %v", obj, err)
				}
			}
			nlInsert(t, txn, "t0", id+"b", "x")
		})
	}
	without, with := run(false), run(true)
	if with > without+4 {
		t.Errorf("a First between two inserts cost %.0f allocations, want at most 4 (upstream 9)", with-without)
	}

	// The read sees the transaction's own writes.
	txn := db.Txn(true)
	nlInsert(t, txn, "t0", "new", "y")
	if obj, _ := txn.First("t0", "id", "new"); obj == nil {
		t.Fatal("First does not see the transaction's insert")
	}
	if obj, _ := txn.First("t0", "foo", "y"); obj == nil {
		t.Fatal("First on a non-unique index does not see the transaction's insert")
	}
	if obj, _ := txn.Last("t0", "foo", "y"); obj == nil {
		t.Fatal("Last does not see the transaction's insert")
	}
	txn.Abort()
}

// changesWithMap is upstream's Changes, the reference for the fork's.
func changesWithMap(changes Changes) Changes {
	dups := make(map[objectID]mutInfo)
	for i, m := range changes {
		oid := objectID{Table: m.Table, IndexVal: string(m.primaryKey)}
		mi, ok := dups[oid]
		if !ok {
			mi.firstBefore = m.Before
		}
		mi.lastIdx = i
		dups[oid] = mi
	}
	if len(dups) == len(changes) {
		return changes
	}
	cs := make(Changes, 0, len(dups))
	for i, m := range changes {
		mi := dups[objectID{Table: m.Table, IndexVal: string(m.primaryKey)}]
		if mi.lastIdx == i {
			m.Before = mi.firstBefore
			if m.Before == nil && m.After == nil {
				continue
			}
			cs = append(cs, m)
		}
	}
	return cs
}

// Changes, pairwise for short lists and with a map for long ones, and
// asked for again after more writes, equals upstream's over random
// histories of inserts, updates and deletes.
func TestChangesMatchUpstream(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for round := range 300 {
		db := nlDB(t, 2)
		txn := db.Txn(true)
		keys := 1 + r.Intn(40)
		for i := range keys / 2 {
			nlInsert(t, txn, fmt.Sprint("t", i%2), fmt.Sprint("k", i), "pre")
		}
		txn.Commit()

		txn = db.Txn(true)
		txn.TrackChanges()
		var all Changes // every mutation, as upstream recorded them
		ops := r.Intn(60)
		for op := range ops {
			table := fmt.Sprint("t", r.Intn(2))
			id := fmt.Sprint("k", r.Intn(keys))
			existing, _ := txn.First(table, "id", id)
			if existing != nil && r.Intn(3) == 0 {
				if err := txn.Delete(table, existing); err != nil {
					t.Fatal(err)
				}
			} else {
				nlInsert(t, txn, table, id, fmt.Sprint("v", op))
			}
			all = append(all, txn.changes[len(txn.changes)-1])
			if r.Intn(8) == 0 || op == ops-1 {
				got, want := txn.Changes(), changesWithMap(append(Changes(nil), all...))
				if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
					t.Fatalf("round %d op %d: Changes\n%v\nwant\n%v", round, op, got, want)
				}
				if again := txn.Changes(); len(again) != len(got) || (len(got) > 0 && &again[0] != &got[0]) {
					t.Fatalf("round %d: a second Changes call did not return the kept result", round)
				}
			}
		}
		txn.Abort()
	}
}

// Changes asked for again with no write in between allocates nothing
// (upstream built a map on every call).
func TestChangesKeptResult(t *testing.T) {
	for _, n := range []int{3, smallChanges + 10} {
		db := nlDB(t, 1)
		txn := db.Txn(true)
		txn.TrackChanges()
		for i := range n {
			nlInsert(t, txn, "t0", fmt.Sprint("k", i), "a")
		}
		nlInsert(t, txn, "t0", "k0", "b") // a duplicate
		first := txn.Changes()
		if len(first) != n || first[len(first)-1].After.(*nlRow).ID != "k0" || first[len(first)-1].Before != nil {
			t.Fatalf("n=%d: Changes %v", n, first)
		}
		if allocs := testing.AllocsPerRun(10, func() { txn.Changes() }); allocs != 0 {
			t.Errorf("n=%d: a second Changes call made %.0f allocations", n, allocs)
		}
		txn.Abort()
	}
}

// The change sets MarkChanges divides a transaction into equal those of
// the same mutations made in a transaction each, over random histories:
// each object's Before is the object at the mark.
func TestMarkChangesMatchesATransactionEach(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for round := range 200 {
		one, each := nlDB(t, 2), nlDB(t, 2)
		keys := 1 + r.Intn(12)
		batch := one.Txn(true)
		batch.TrackChanges()
		for set := range 1 + r.Intn(6) {
			batch.MarkChanges()
			own := each.Txn(true)
			own.TrackChanges()
			for op := range r.Intn(2 * smallChanges) {
				table := fmt.Sprint("t", r.Intn(2))
				id := fmt.Sprint("k", r.Intn(keys))
				existing, _ := batch.First(table, "id", id)
				if existing != nil && r.Intn(3) == 0 {
					if err := batch.Delete(table, existing); err != nil {
						t.Fatal(err)
					}
					if err := own.Delete(table, existing); err != nil {
						t.Fatal(err)
					}
					continue
				}
				row := &nlRow{ID: id, Foo: fmt.Sprint("v", set, op)}
				if err := batch.Insert(table, row); err != nil {
					t.Fatal(err)
				}
				if err := own.Insert(table, row); err != nil {
					t.Fatal(err)
				}
			}
			got, want := batch.Changes(), own.Changes()
			own.Commit()
			if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
				t.Fatalf("round %d set %d: changes after the mark\n%v\nwant\n%v", round, set, got, want)
			}
			if cap(got) != len(got) {
				t.Fatalf("round %d set %d: Changes has room to append over later changes", round, set)
			}
		}
		batch.Commit()
	}
}

// A transaction's change sets (MarkChanges) are appended one after the
// other to arrays of changesChunk (a set starts a new one when fewer than
// changesMin are left): 32 sets of 4 changes cost the first array and 3
// chunks. Upstream's single array, grown by doubling from one change,
// took 8 (copying every earlier set at each doubling).
func TestChangeSetsShareArrays(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	db := nlDB(t, 1)
	run := func(track bool) float64 {
		return testing.AllocsPerRun(20, func() {
			txn := db.Txn(true)
			defer txn.Abort()
			if track {
				txn.TrackChanges()
			}
			for set := range 32 {
				txn.MarkChanges()
				for i := range 4 {
					row := &nlRow{ID: fmt.Sprint("k", set, i), Foo: "x"}
					if err := txn.Insert("t0", row); err != nil {
						t.Fatal(err)
					}
				}
				if track && len(txn.Changes()) != 4 {
					t.Fatalf("set %d: %d changes, want 4", set, len(txn.Changes()))
				}
			}
		})
	}
	// The rows, keys and radix nodes are the same with and without
	// tracking; the difference is the arrays of changes.
	if extra := run(true) - run(false); extra > 4 {
		t.Errorf("tracking 32 change sets of 4 made %.0f more allocations, want at most 4", extra)
	}
}

// First with no arguments returns the object of the index's lowest key, as
// upstream's iterator did, without making one, in read and write
// transactions alike (an empty index: nil).
func TestFirstWithoutArgsIsTheLowest(t *testing.T) {
	db := nlDB(t, 1)
	r := rand.New(rand.NewSource(3))
	txn := db.Txn(true)
	for _, index := range []string{"id", "foo"} {
		if obj, err := txn.First("t0", index); err != nil || obj != nil {
			t.Fatalf("empty index %s: First = %v, %v", index, obj, err)
		}
	}
	for i := range 200 {
		nlInsert(t, txn, "t0", fmt.Sprint("k", r.Intn(1000)), fmt.Sprint("f", r.Intn(50)))
		if i%20 != 19 {
			continue
		}
		for _, index := range []string{"id", "foo"} {
			it, err := txn.Get("t0", index)
			if err != nil {
				t.Fatal(err)
			}
			want := it.Next()
			got, err := txn.First("t0", index)
			if err != nil || got != want {
				t.Fatalf("after %d inserts, index %s: First = %v, want %v (%v)", i+1, index, got, want, err)
			}
			if allocs := testing.AllocsPerRun(10, func() { _, _ = txn.First("t0", index) }); allocs != 0 && !raceEnabled {
				t.Errorf("First(%s) with no arguments made %.0f allocations", index, allocs)
			}
		}
	}
	txn.Commit()
	read := db.Txn(false)
	it, _ := read.Get("t0", "foo")
	if got, _ := read.First("t0", "foo"); got != it.Next() {
		t.Errorf("read transaction: First is not the lowest")
	}
}

// GetTransient lists what Get lists, in a write transaction without the
// clone Get makes: the transaction's nodes stay writable, so an insert
// after it copies no more than one after nothing (Get's clone made the
// insert copy its path again). Its WatchCh is nil.
func TestGetTransientKeepsWritableNodes(t *testing.T) {
	db := nlDB(t, 1)
	txn := db.Txn(true)
	defer txn.Abort()
	for i := range 500 {
		nlInsert(t, txn, "t0", fmt.Sprint("k", i), fmt.Sprint("f", i%7))
	}
	list := func(get func(table, index string, args ...interface{}) (ResultIterator, error)) []interface{} {
		it, err := get("t0", "foo", "f3")
		if err != nil {
			t.Fatal(err)
		}
		var out []interface{}
		for obj := it.Next(); obj != nil; obj = it.Next() {
			out = append(out, obj)
		}
		return out
	}
	if got, want := list(txn.GetTransient), list(txn.Get); !reflect.DeepEqual(got, want) || len(want) == 0 {
		t.Fatalf("GetTransient listed %d rows, Get %d", len(got), len(want))
	}
	next := 500
	insertAfter := func(read func(table, index string, args ...interface{}) (ResultIterator, error)) float64 {
		return testing.AllocsPerRun(20, func() {
			if read != nil {
				_ = list(read)
			}
			nlInsert(t, txn, "t0", fmt.Sprint("k", next), "f3")
			next++
		})
	}
	listing := func(read func(table, index string, args ...interface{}) (ResultIterator, error)) float64 {
		return testing.AllocsPerRun(20, func() { _ = list(read) })
	}
	alone := insertAfter(nil)
	afterTransient := insertAfter(txn.GetTransient) - listing(txn.GetTransient)
	afterGet := insertAfter(txn.Get) - listing(txn.Get)
	if !raceEnabled && afterTransient > alone {
		t.Errorf("an insert after GetTransient made %.0f allocations, one after nothing %.0f: the index's nodes were copied again", afterTransient, alone)
	}
	if !raceEnabled && afterGet <= alone {
		t.Errorf("an insert after Get made %.0f allocations, one after nothing %.0f: the test no longer shows Get's clone", afterGet, alone)
	}
	it, _ := txn.GetTransient("t0", "id")
	if it.WatchCh() != nil {
		t.Errorf("GetTransient's WatchCh is not nil")
	}
}
