package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Table names. They are also the keys of the "index" table and of Indexes.
const (
	tableJobs       = "jobs"
	tableJobVersion = "job_version"
	tableJobSummary = "job_summary"
	tableNodes      = "nodes"
	tableAllocs     = "allocs"
	tableEvals      = "evals"
	tableIndex      = "index"
	indexID         = "id"
	indexIDPrefix   = "id_prefix"
	indexNode       = "node"
	indexJob        = "job"
)

// indexedTables are the tables whose modify index Index and LatestIndex report.
var indexedTables = []string{tableJobs, tableJobVersion, tableJobSummary, tableNodes, tableAllocs, tableEvals, tableSchedulerConfig, tablePeriodicLaunch, tableDeployment, tableServiceRegistrations, tableJobSubmission, tableScalingEvent, tableNodePools,
	tableACLPolicies, tableACLTokens, tableACLRoles, tableNamespaces, indexACLBootstrap, tableRootKeys, tableVariables}

// IndexEntry is one row of the "index" table: the Raft index at which table
// Key was last written.
type IndexEntry struct {
	Key   string
	Value uint64
}

func stringIndex(name, field string, unique, allowMissing bool) *memdb.IndexSchema {
	return &memdb.IndexSchema{
		Name:         name,
		Unique:       unique,
		AllowMissing: allowMissing,
		Indexer:      &memdb.StringFieldIndex{Field: field},
	}
}

// namespaceIDIndex indexes objects by {Namespace, <idField>}.
func namespaceIDIndex(name, idField string, unique, allowMissing bool) *memdb.IndexSchema {
	return &memdb.IndexSchema{
		Name:         name,
		Unique:       unique,
		AllowMissing: allowMissing,
		Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "Namespace"},
			&memdb.StringFieldIndex{Field: idField},
		}},
	}
}

// subsetIndex is an index of the objects key accepts, by the key it gives
// them; the others are missing from it. Listing it returns that subset
// alone, and its watch channel fires only when a member changes, joins or
// leaves.
func subsetIndex(name string, key func(raw any) (string, bool)) *memdb.IndexSchema {
	return &memdb.IndexSchema{Name: name, Unique: true, AllowMissing: true, Indexer: subsetIndexer(key)}
}

// subsetIndexer is the memdb.Indexer of subsetIndex.
type subsetIndexer func(raw any) (string, bool)

func (f subsetIndexer) FromObject(raw any) (bool, []byte, error) {
	k, ok := f(raw)
	if !ok {
		return false, nil, nil
	}
	return true, []byte(k + "\x00"), nil
}

// FromArgs refuses arguments: a subset index is only listed whole.
func (subsetIndexer) FromArgs(args ...any) ([]byte, error) {
	return nil, fmt.Errorf("a subset index is listed whole and takes no arguments, got %d", len(args))
}

func tableSchema(name string, indexes ...*memdb.IndexSchema) *memdb.TableSchema {
	t := &memdb.TableSchema{Name: name, Indexes: map[string]*memdb.IndexSchema{}}
	for _, ix := range indexes {
		t.Indexes[ix.Name] = ix
	}
	return t
}

// schema returns the state store's tables and indexes. Every table's "id"
// index is unique; "id" indexes on string IDs also answer "id_prefix" lookups.
func schema() *memdb.DBSchema {
	tables := []*memdb.TableSchema{
		// No namespace index on jobs or evaluations either: the prefix
		// {namespace} of their id and job indexes serves it (each index is
		// a radix tree every insert copies a path of).
		tableSchema(tableJobs,
			namespaceIDIndexOf(indexID, true, false, func(j *structs.Job) (string, string) { return j.Namespace, j.ID }),
			periodicJobsIndex(),
		),
		tableSchema(tableJobVersion, &memdb.IndexSchema{
			Name:    indexID,
			Unique:  true,
			Indexer: typedVersion[*structs.Job]{get: func(j *structs.Job) (string, string, uint64) { return j.Namespace, j.ID, j.Version }},
		}),
		tableSchema(tableJobSummary, namespaceIDIndexOf(indexID, true, false, func(s *structs.JobSummary) (string, string) { return s.Namespace, s.JobID })),
		tableSchema(tableNodes, stringIndexOf(indexID, true, false, func(n *structs.Node) string { return n.ID })),
		// No namespace index on allocs: the job index's prefix {namespace}
		// serves it (an allocation without a job ID is indexed by its
		// namespace alone, so it is listed too). No eval or deployment
		// index either: AllocsByEval and AllocsByDeployment filter the
		// eval's or deployment's job's allocations. No node index: the
		// node's node_alloc_view row lists them (AllocsByNode).
		tableSchema(tableAllocs,
			stringIndexOf(indexID, true, false, func(a *structs.Allocation) string { return a.ID }),
			jobIndexOf(func(a *structs.Allocation) (string, string) { return a.Namespace, a.JobID }),
		),
		tableSchema(tableEvals,
			stringIndexOf(indexID, true, false, func(e *structs.Evaluation) string { return e.ID }),
			jobIndexOf(func(e *structs.Evaluation) (string, string) { return e.Namespace, e.JobID }),
		),
		tableSchema(tableIndex, stringIndexOf(indexID, true, false, func(e *IndexEntry) string { return e.Key })),
		schedulerConfigTableSchema(),
		deploymentTableSchema(),
		periodicLaunchTableSchema(),
		serviceRegistrationsTableSchema(),
		jobSubmissionTableSchema(),
		scalingEventTableSchema(),
		nodePoolsTableSchema(),
		requestIDsTableSchema(),
		nodeUsageTableSchema(),
		nodeAllocViewTableSchema(),
	}
	tables = append(tables, aclTableSchemas()...)
	tables = append(tables, keyringTableSchemas()...)
	s := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{}}
	for _, t := range tables {
		s.Tables[t.Name] = t
	}
	return s
}

// newDB returns an empty database with the store's schema.
func newDB() (*memdb.MemDB, error) {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, fmt.Errorf("state: build schema: %w", err)
	}
	return db, nil
}
