// Package state is the cluster's state store: jobs (and their kept versions
// and summaries), nodes, allocations and evaluations in a hashicorp/go-memdb
// database, plus the per-table modify indexes that blocking queries report.
//
// # Contract
//
//   - Writes are called by the FSM only, from one goroutine, with the Raft
//     index of the entry being applied. Each write is one memdb transaction
//     (Store.write): all or nothing. One Raft entry is one store method: the
//     entry of message type FooRequestType is applied by
//     Store.Foo(index, *structs.FooRequest), which does its reads, checks and
//     derived updates inside that transaction and returns a Result, the
//     transaction's change set. The FSM notifies the leader's components
//     from it, and Result.Events maps it, table by table, to the events of
//     the event stream (events.go). Writes are deterministic: no clocks,
//     randomness or new IDs; times come inside the objects.
//   - Reads may come from any goroutine. Objects returned are shared and
//     immutable: Copy before changing one. The store never changes an object
//     after storing it; it stores copies of what callers pass to writes
//     (the methods that say so write the resulting server-set indexes back
//     into the caller's objects), except Restore, which takes ownership of
//     what it is given. The objects of a Result's change set are the
//     store's own.
//   - A Snapshot is a frozen point-in-time, read-only view (memdb MVCC): it
//     never sees later writes and has no write methods (Fork gives a
//     private writable copy). The scheduler reads one snapshot per
//     evaluation; every blocking query reads one snapshot per run, so the
//     data and the index it reports always agree. The HTTP layer gets only
//     a Reader (blocking queries and snapshots).
//   - Every read takes a memdb.WatchSet (nil for none) and adds the channels
//     of what it read, so BlockingQuery can wait for exactly that data to
//     change; past WatchLimit channels a read adds its whole table's
//     channel instead (coarser wake-ups, a bounded watch set). A waiting
//     query keeps only its watch set. Restore.Commit swaps the whole
//     database and closes AbandonCh.
//
// # Derived data
//
// Job status and job summaries are derived, and recomputed inside the same
// transaction as every job, allocation and evaluation write that touches the
// job: status with Nomad's rule (running / pending / dead, see jobStatusTxn),
// summaries by recounting the current incarnation's allocations by client
// status, with queued counts from the job's latest evaluation.
//
// node_usage holds, per node with live allocations, the sum of what they
// use (structs.NodeUsage): Store.write updates it from every transaction's
// own changes to allocs, whatever the write path, and a restore rebuilds
// it (never in a snapshot). The scheduler ranks a node with one read of it
// instead of reading each of the node's allocations. node_alloc_view
// holds, per node with allocations, the last index at which one was
// created or removed or its AllocModifyIndex changed and a compact list of
// them (NodeAlloc), kept and rebuilt the same way: the client protocol's
// delta watch reads and waits on that one row (NodeAllocs), which the
// node's own status reports do not touch, and reads only the allocations
// it lists as changed.
//
// # Tables
//
//	jobs         id {Namespace, ID} (its prefix serves namespace lookups); periodic
//	job_version  id {Namespace, ID, Version}   (newest JobTrackedVersions kept)
//	job_summary  id {Namespace, JobID}
//	nodes        id
//	allocs       id; node; job {Namespace, JobID} (its prefix serves namespace lookups); deployment
//	evals        id; job {Namespace, JobID} (its prefix serves namespace lookups)
//	index        id (table name) -> Raft index of the table's last write
//	node_usage   id (NodeID)  derived from allocs
//	node_alloc_view id (NodeID)  derived from allocs
//
// String "id" indexes also answer "id_prefix" lookups (short IDs in the CLI).
package state
