// Package server is the cluster core of a nomadlike server agent: Raft
// consensus and the FSM that applies its log to the state store, the write
// endpoints the HTTP API calls, and the duties only the leader performs.
//
// Data flow of a write:
//
//	endpoint (validate, pick IDs and timestamps)
//	   -> raftApply: []byte{MessageType} + msgpack(body)
//	   -> FSM.Apply on every server (deterministic: no clock, no randomness)
//	   -> state.Store
//	   -> on the leader: eval broker / blocked evals notified
//
// Leader duties (started on gaining leadership, stopped on losing it):
//
//	evalBroker   priority queue of pending evaluations, one outstanding per job,
//	             Ack/Nack with redelivery and a delivery limit, a delay heap for WaitUntil
//	blockedEvals one blocked evaluation per job, released when capacity changes
//	workers      NumSchedulers goroutines: Dequeue -> wait for the eval's index ->
//	             snapshot -> scheduler.Process, with the worker as the Planner
//	planApplier  plans by priority then FIFO, checked against the newest state
//	             plus the one plan whose Raft entry is in flight (pipelined);
//	             refuses each node whose part no longer fits, commits the rest
//	             in one Raft entry once the in-flight one is applied
//	heartbeats   a TTL timer per node; expiry marks the node down and creates
//	             node-update evaluations so its allocations are replaced; a node
//	             with allocations of groups with max_client_disconnect becomes
//	             "disconnected" instead: those are "unknown" until their window
//	             ends (an evaluation then), the node down after the longest one
//	drainer      marks allocations of draining nodes for migration, max_parallel
//	             per group at a time, the next batch once the previous one's
//	             replacements are healthy per the group's migrate block
//
// Cluster (cluster.go, serf.go, snapshot.go): servers gossip on a serf LAN
// pool whose tags carry each server's Raft and HTTP addresses. With
// bootstrap_expect N, once N servers are alive and none is already in a
// cluster, each bootstraps the same Raft configuration; a server with Raft
// state never bootstraps again. The leader reconciles serf with Raft: alive
// servers become voters, left ones are removed, failed ones after
// DeadServerThreshold if the rest keep a quorum. A new leader rebuilds the
// broker and blocked evals from state and arms every node's heartbeat timer
// with FailoverHeartbeatTTL. Snapshot archives (save, inspect, restore and
// the leader's automatic backups) are gzipped tars with checksums.
//
// Concurrency: the FSM runs on Raft's apply goroutine only. Every leader
// goroutine is owned by the leadership context created in leader.go and is
// waited for when leadership ends. Public methods of Server are safe for
// concurrent use. Errors meant for users are *structs.CodedError.
package server
