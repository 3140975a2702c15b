// Package scheduler decides where a job's allocations run. It is a pure
// function of a read-only State snapshot and an Evaluation: it does no I/O,
// knows no Raft, and commits its decisions only through a Planner.
//
// One evaluation of a service or batch job goes through these steps:
//
//	State ──► reconcile ──► stops, in-place updates, follow-ups, placements
//	            │                                   │
//	            │        ready nodes (status, dc, pool), shuffled with rng
//	            │                                   │
//	            │  feasibility (drivers, constraints; cached per computed class)
//	            │                                   │
//	            │  fit (cpu, memory, disk, ports) + score (bin-pack, anti-affinity,
//	            │  reschedule penalty), over a bounded number of candidates
//	            ▼                                   ▼
//	          Plan ──► Planner.SubmitPlan ──► Planner.UpdateEval (+ CreateEval)
//
// Reconciliation (reconcile.go) compares the job's groups and counts with its
// allocations: it places missing indexes (names "<job>.<group>[<i>]", lowest
// free index first), stops the highest indexes above the count and every
// allocation of a removed group or a stopped or purged job, replaces
// allocations on down or missing nodes (stopped with client status "lost")
// and on draining nodes (with a DrainStrategy, only those the server's
// drainer marked with DesiredTransition.Migrate: it paces the drain), and updates allocations of an older job version in
// place unless a task changed in a way the running task would see
// (destructiveChange), in which case the old one is stopped only once its
// replacement is placed. Failed allocations are replaced under the group's
// ReschedulePolicy; a replacement due later gets a pending follow-up
// evaluation (WaitUntil, TriggeredBy "alloc-failure") whose ID is recorded on
// the failed allocation. Completed batch allocations are never replaced.
//
// Deployments (reconcile_deploy.go) apply to service groups whose update
// block has max_parallel > 0, as Nomad's reconciler does: a job version with
// something to roll out (including the first) gets a Deployment in the plan
// (Plan.Deployment), and an active deployment of an older version, or of a
// stopped job, is cancelled (Plan.DeploymentUpdates). New allocations and
// in-place updates join the deployment (DeploymentID). Destructive updates
// are limited to max_parallel minus the deployment's live allocations not yet
// healthy (none once one is unhealthy, none while the deployment is paused or
// failed). With canary > 0 the first evaluation places that many canaries
// (DeploymentStatus.Canary) beside the old allocations, named after those
// they will replace, and stops nothing; after promotion (the state store
// clears the canary flag) a canary displaces the old allocation of its name
// and the rest rolls max_parallel at a time. A successful deployment is over:
// later evaluations of the same version create none.
//
// Placement (plan.go, rank.go) of service and batch jobs builds per-node usage lazily, once per
// evaluation, from the node's allocations minus those the plan stops plus
// those it places; it never rescans state per placement. The allocations'
// part is the state's per-node sum (State.NodeUsage, one read) unless some
// of them hold ports or cores, which are then counted from the allocations;
// preemption reads a node's allocations only when it looks for victims. Like Nomad it scores
// max(2, ceil(log2(n))) feasible nodes per service placement (2 for batch)
// from a shuffled order that continues across placements, so the job
// anti-affinity penalty spreads a group while bin-packing favours fuller
// nodes. Every placement carries an AllocMetric worded as Nomad's (nodes
// evaluated, filtered by which constraint, exhausted on which dimension).
// After the first failed placement of a group, further placements of that
// group are not attempted: they count as CoalescedFailures and as queued.
//
// Feasibility (feasible.go) is checked once per computed node class and
// group, as Nomad does: structs.Node.ComputedClass, set when the node
// registers, hashes what constraints can read except unique.* values, so
// nodes of one class pass or fail alike. Constraints that reference
// ${node.unique.*}, ${attr.unique.*} or ${meta.unique.*} are "escaped" and
// checked per node; nodes without a class (stored before classes existed)
// are checked one by one. Every filtered node still counts in the metric
// under the constraint that filtered it.
//
// Feasibility covers the constraint operators (=, !=, <, <=, >, >=, regexp,
// version, semver, is_set, is_not_set, set_contains[_all], set_contains_any),
// datacenter globs, node pool, drivers (detected and healthy), and the
// dynamic distinct_hosts and distinct_property constraints (distinct.go),
// which read where the job's allocations are as the plan grows. Fit covers
// CPU, memory, disk, static and dynamic ports and whole cores (usage.go).
// Ranking (rank.go) averages the components present, as Nomad's score
// normalisation does: binpack (or its mirror under the "spread" scheduler
// algorithm), job-anti-affinity, node-reschedule-penalty, node-affinity and
// allocation-spread; the top five go to AllocMetric.ScoreMetaData. A group
// with affinities or spreads scores up to 100 feasible nodes per placement
// instead of log2(n), a fixed bound so the cost per placement stays flat.
//
// Preemption (preempt.go): when nothing fits and the SchedulerConfig (read
// from State.SchedulerConfig; nil means Nomad's defaults: system jobs only) enables
// it for the job type, the nodes exhausted on resources are searched for
// allocations of jobs at least 10 priority levels lower whose eviction frees
// enough, fewest and lowest-priority victims first. A static port the
// placement asks for counts like a resource: every lower-priority holder of
// it is a victim (a node whose port is reserved, or held by a job too
// important to preempt, is skipped), then CPU, memory, disk and cores as usual. They go to
// Plan.NodePreemptions and DesiredTGUpdates.Preemptions.
//
// System and sysbatch jobs (system.go) skip ranking: one allocation of each
// group per ready node that passes feasibility and fits; see buildSystem.
//
// Outcome: a plan is submitted once per evaluation; when the applier refuses
// part of it (RefreshIndex set) the scheduler re-plans against the fresh
// state it is handed, up to 5 attempts, after which the evaluation is marked
// failed ("maximum attempts reached (5)") and a blocked evaluation with
// TriggeredBy "max-plan-attempts" is created. Otherwise the evaluation is
// marked complete, even when placements failed; its FailedTGAllocs hold the
// metric of each group's first failed placement and QueuedAllocations what
// could not be placed, and a blocked evaluation (TriggeredBy "queued-allocs")
// is created and named in BlockedEval.
//
// Blocked evaluations: when the evaluation being processed is itself a
// blocked evaluation being retried (Status "blocked") and placements still
// fail, no new blocked evaluation is created. UpdateEval is called with the
// status left "blocked" and the fresh FailedTGAllocs and QueuedAllocations;
// the server must re-block it. When it places everything it is marked complete.
//
// Determinism: every random choice (node order, dynamic ports) comes from the
// rng given to NewScheduler and every timestamp from its now function, so a
// run can be replayed. Allocation and evaluation IDs come from
// structs.GenerateUUID and are the only non-replayable values.
//
// Concurrency: a Scheduler serves one goroutine; Process calls the Planner
// from that goroutine only. Objects read from State are never modified.
package scheduler
