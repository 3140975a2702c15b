// Copyright (c) HashiCorp, Inc.
// SPDX-License-Identifier: MPL-2.0

// Package memdb provides an in-memory database that supports transactions
// and MVCC.
package memdb

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-immutable-radix"
)

// MemDB is an in-memory database providing Atomicity, Consistency, and
// Isolation from ACID. MemDB doesn't provide Durability since it is an
// in-memory database.
//
// MemDB provides a table abstraction to store objects (rows) with multiple
// indexes based on inserted values. The database makes use of immutable radix
// trees to provide transactions and MVCC.
//
// Objects inserted into MemDB are not copied. It is **extremely important**
// that objects are not modified in-place after they are inserted since they
// are stored directly in MemDB. It remains unsafe to modify inserted objects
// even after they've been deleted from MemDB since there may still be older
// snapshots of the DB being read from other goroutines.
type MemDB struct {
	schema *DBSchema
	// tables is each table's indexes, with their slots in a dbRoot
	// (nomadlike), and slots the number of indexes of all tables.
	tables  map[string]*tableInfo
	slots   int
	root    atomic.Pointer[dbRoot]
	primary bool

	// There can only be a single writer at once
	writer sync.Mutex
}

// dbRoot is the database at one moment: the radix tree of every index of
// every table, by slot (nomadlike: upstream kept them in a radix tree keyed
// by "table.index", so every commit inserted each modified index into it
// and every lookup walked it). A published dbRoot is never changed.
type dbRoot struct {
	trees []*iradix.Tree
}

// tableInfo is a table's schema and its indexes, in the order of their
// names (a transaction writes them in that order).
type tableInfo struct {
	schema  *TableSchema
	id      *indexInfo
	indexes []*indexInfo
	byName  map[string]*indexInfo
}

// indexInfo is an index's schema and its slot in a dbRoot.
type indexInfo struct {
	name   string
	schema *IndexSchema
	slot   int
}

// NewMemDB creates a new MemDB with the given schema.
func NewMemDB(schema *DBSchema) (*MemDB, error) {
	// Validate the schema
	if err := schema.Validate(); err != nil {
		return nil, err
	}

	// Create the MemDB
	db := &MemDB{
		schema:  schema,
		primary: true,
	}
	if err := db.initialize(); err != nil {
		return nil, err
	}

	return db, nil
}

// DBSchema returns schema in use for introspection.
//
// The method is intended for *read-only* debugging use cases,
// returned schema should *never be modified in-place*.
func (db *MemDB) DBSchema() *DBSchema {
	return db.schema
}

// Txn is used to start a new transaction in either read or write mode.
// There can only be a single concurrent writer, but any number of readers.
func (db *MemDB) Txn(write bool) *Txn {
	if write {
		db.writer.Lock()
	}
	txn := &Txn{
		db:    db,
		write: write,
		root:  db.root.Load(),
	}
	return txn
}

// Snapshot is used to capture a point-in-time snapshot  of the database that
// will not be affected by any write operations to the existing DB.
//
// If MemDB is storing reference-based values (pointers, maps, slices, etc.),
// the Snapshot will not deep copy those values. Therefore, it is still unsafe
// to modify any inserted values in either DB.
func (db *MemDB) Snapshot() *MemDB {
	clone := &MemDB{
		schema:  db.schema,
		tables:  db.tables,
		slots:   db.slots,
		primary: false,
	}
	clone.root.Store(db.root.Load())
	return clone
}

// initialize is used to setup the DB for use after creation. This should
// be called only once after allocating a MemDB. It gives every index of
// every table a slot and an empty tree.
func (db *MemDB) initialize() error {
	names := make([]string, 0, len(db.schema.Tables))
	for tName := range db.schema.Tables {
		names = append(names, tName)
	}
	sort.Strings(names)
	db.tables = make(map[string]*tableInfo, len(names))
	root := &dbRoot{}
	for _, tName := range names {
		tableSchema := db.schema.Tables[tName]
		ti := &tableInfo{schema: tableSchema, byName: make(map[string]*indexInfo, len(tableSchema.Indexes))}
		for iName, indexSchema := range tableSchema.Indexes {
			ix := &indexInfo{name: iName, schema: indexSchema}
			ti.indexes = append(ti.indexes, ix)
			ti.byName[iName] = ix
		}
		sort.Slice(ti.indexes, func(i, j int) bool { return ti.indexes[i].name < ti.indexes[j].name })
		for _, ix := range ti.indexes {
			ix.slot = len(root.trees)
			root.trees = append(root.trees, iradix.New())
		}
		ti.id = ti.byName[id]
		db.tables[tName] = ti
	}
	db.slots = len(root.trees)
	db.root.Store(root)
	return nil
}
