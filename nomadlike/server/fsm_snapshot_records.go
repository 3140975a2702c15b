package server

import (
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// snapshotRecord numbers the kinds of records in an FSM snapshot. Like
// message types they are part of the on-disk format: every kind lives in
// this file, numbers are append only and never reused (a retired kind stays
// listed in retiredSnapshotRecords). Ranges reserved while several people
// add tables: 7-19 state core, 20-29 ACL and namespaces, 30-39
// compatibility, 40-49 keyring and variables.
type snapshotRecord uint8

const (
	recordJob                 snapshotRecord = 0
	recordJobVersion          snapshotRecord = 1
	recordJobSummary          snapshotRecord = 2
	recordNode                snapshotRecord = 3
	recordAlloc               snapshotRecord = 4
	recordEval                snapshotRecord = 5
	recordIndex               snapshotRecord = 6
	recordSchedulerConfig     snapshotRecord = 7
	recordDeployment          snapshotRecord = 8
	recordPeriodicLaunch      snapshotRecord = 9
	recordServiceRegistration snapshotRecord = 10
	// recordHeader opens a snapshot of format 1 or later (snapshotHeader).
	recordHeader snapshotRecord = 11
	// recordWriteRecord is a row of the request ID dedup table
	// (structs.WriteRecord), so a restored server dedups retries the
	// same way.
	recordWriteRecord snapshotRecord = 12
	// recordAllocJob is a job version that allocations refer to
	// (structs.Job), written once before the first recordAllocRef that
	// uses it; the N-th such record is job reference N. It is not a row.
	recordAllocJob snapshotRecord = 13
	// recordAllocRef is a row of the allocs table without its job
	// (allocRef): the job is the recordAllocJob it names. Allocations
	// that share a job in memory share it in the snapshot and again once
	// restored. Allocations without a job stay recordAlloc.
	recordAllocRef snapshotRecord = 53
	// The ACL system and namespaces (20-29 reserved for them). The ACL
	// bootstrap index is a row of the index table ("acl_token_bootstrap").
	recordACLPolicy snapshotRecord = 20
	recordACLToken  snapshotRecord = 21
	recordACLRole   snapshotRecord = 22
	recordNamespace snapshotRecord = 23
	// recordJobSubmission is a job version's source (compat range 30-39).
	recordJobSubmission snapshotRecord = 30
	// recordScalingEvents is a job's recent scaling events.
	recordScalingEvents snapshotRecord = 34
	// recordNodePool is a node pool (the built-in ones are not stored).
	recordNodePool snapshotRecord = 31
	// The keyring (wrapped keys only) and variables (encrypted), 40-49.
	recordRootKey  snapshotRecord = 40
	recordVariable snapshotRecord = 41
	// recordEnd closes a snapshot, so truncation is detected.
	recordEnd snapshotRecord = 255
)

// retiredSnapshotRecords are kinds no longer written; their numbers must
// not be given to another kind.
var retiredSnapshotRecords = []snapshotRecord{}

// snapshotTable is the record kind of one state table and how to decode
// one of its rows.
type snapshotTable struct {
	kind  snapshotRecord
	table string
	// newRow returns an empty row to decode into.
	newRow func() any
}

// snapshotTables lists every table of the state store with its record
// kind, in the order snapshots write them (the index table last). A new
// state table adds a line here; TestSnapshotCoversEveryTable fails until it
// does.
var snapshotTables = []snapshotTable{
	{recordJob, "jobs", func() any { return new(structs.Job) }},
	{recordJobVersion, "job_version", func() any { return new(structs.Job) }},
	{recordJobSummary, "job_summary", func() any { return new(structs.JobSummary) }},
	{recordNode, "nodes", func() any { return new(structs.Node) }},
	{recordAlloc, "allocs", func() any { return new(structs.Allocation) }},
	{recordEval, "evals", func() any { return new(structs.Evaluation) }},
	{recordSchedulerConfig, "scheduler_config", func() any { return new(structs.SchedulerConfig) }},
	{recordPeriodicLaunch, "periodic_launch", func() any { return new(structs.PeriodicLaunch) }},
	{recordDeployment, "deployment", func() any { return new(structs.Deployment) }},
	{recordServiceRegistration, "service_registrations", func() any { return new(structs.ServiceRegistration) }},
	{recordACLPolicy, "acl_policy", func() any { return new(structs.ACLPolicy) }},
	{recordACLToken, "acl_token", func() any { return new(structs.ACLToken) }},
	{recordACLRole, "acl_role", func() any { return new(structs.ACLRole) }},
	{recordNamespace, "namespaces", func() any { return new(structs.Namespace) }},
	{recordJobSubmission, "job_submission", func() any { return new(structs.JobSubmission) }},
	{recordScalingEvents, "scaling_event", func() any { return new(structs.JobScalingEvents) }},
	{recordNodePool, "node_pools", func() any { return new(structs.NodePool) }},
	{recordRootKey, "root_keys", func() any { return new(structs.RootKey) }},
	{recordVariable, "variables", func() any { return new(structs.VariableEncrypted) }},
	{recordWriteRecord, "request_ids", func() any { return new(structs.WriteRecord) }},
	{recordIndex, "index", func() any { return new(indexRecord) }},
}

// indexRecord is one table's modify index in a snapshot (a row of the
// "index" table, state.IndexEntry, under the names format 0 used).
type indexRecord struct {
	Table string
	Index uint64
}

// snapshotRow returns what a snapshot stores for a row of table.
func snapshotRow(table string, row any) any {
	if e, ok := row.(*state.IndexEntry); ok && table == "index" {
		return indexRecord{Table: e.Key, Index: e.Value}
	}
	return row
}

// stateRow returns the state row of a decoded snapshot record.
func stateRow(row any) any {
	if r, ok := row.(*indexRecord); ok {
		return &state.IndexEntry{Key: r.Table, Value: r.Index}
	}
	return row
}

// allocRef is a recordAllocRef: an allocation whose Job is the JobRef-th
// recordAllocJob of the snapshot (counting from 0).
type allocRef struct {
	JobRef int
	Alloc  *structs.Allocation
}
