package command

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// The rules -exit-code chooses between when a batch job has several tasks.
const (
	// exitRuleFirst: the exit code of the first task to fail (in the order
	// they finished), 0 when every task succeeded.
	exitRuleFirst = "first"
	// exitRuleMax: the largest exit code of any task.
	exitRuleMax = "max"
)

// taskResult is how one task of a finished batch allocation ended.
type taskResult struct {
	alloc, task string
	// code is the task's exit code; 128+n for a task killed by signal n;
	// exitFailed for a task that failed without exiting (driver or setup
	// failure, lost node, stopped by the server).
	code int
	// at is when the task ended (unix nanoseconds), for the "first" rule.
	at  int64
	why string
}

// batchResult is the outcome of waitBatch.
type batchResult struct {
	tasks []taskResult
	// failed are the finished allocations with a failed task, to report.
	failed []*structs.AllocListStub
}

// exitCode applies rule to the results: see exitRuleFirst and exitRuleMax.
// The second value is the result that decided it (nil when all succeeded).
func (r *batchResult) exitCode(rule string) (int, *taskResult) {
	var pick *taskResult
	for i := range r.tasks {
		t := &r.tasks[i]
		if t.code == 0 {
			continue
		}
		switch {
		case pick == nil,
			rule == exitRuleMax && t.code > pick.code,
			rule == exitRuleFirst && t.at < pick.at:
			pick = t
		}
	}
	if pick == nil {
		return 0, nil
	}
	return pick.code, pick
}

// waitBatch follows the allocations ids of a batch (or sysbatch) job until
// each has finished for good: a task that exits non-zero while its restart
// policy allows another attempt is reported as restarting, and a failed
// allocation the reschedule policy replaces is followed into its
// replacement. ctx bounds the wait; when it ends, the error wraps
// errWaitTimeout and pending holds the allocations not yet finished.
func (m *monitor) waitBatch(ctx context.Context, job *structs.Job, ids []string) (res *batchResult, pending []*structs.AllocListStub, err error) {
	canon := job.Copy()
	canon.Canonicalize()
	track := slices.Clone(ids)
	finished := map[string]bool{}
	printed := map[string]int64{} // alloc/task -> time of the last event printed
	announced := map[string]bool{}
	status := map[string]string{}
	res = &batchResult{}
	m.printf("==> %s: Waiting for %d allocation(s) of %s job %q to finish", m.stamp(), len(ids), job.Type, job.ID)
	var idx uint64
	var latest map[string]*structs.AllocListStub
	for {
		q := m.q
		q.WaitIndex, q.WaitTime = idx, blockingWait
		stubs, meta, err := m.cl.JobAllocations(ctx, job.ID, &q)
		if err != nil {
			if ctx.Err() != nil {
				for _, id := range track {
					if finished[id] {
						continue
					}
					a := latest[id]
					if a == nil {
						a = &structs.AllocListStub{ID: id, ClientStatus: "unknown"}
					}
					pending = append(pending, a)
				}
				return nil, pending, fmt.Errorf("allocations not finished: %w", errWaitTimeout)
			}
			return nil, nil, fail(fmt.Sprintf("listing the allocations of job %q", job.ID), err, "")
		}
		if meta.LastIndex > idx {
			idx = meta.LastIndex
		}
		latest = map[string]*structs.AllocListStub{}
		for _, a := range stubs {
			latest[a.ID] = a
		}
		allDone := true
		for i := 0; i < len(track); i++ {
			id := track[i]
			if finished[id] {
				continue
			}
			a := latest[id]
			if _, seen := status[id]; a == nil && seen {
				// Seen before, gone now: garbage collected or purged.
				m.printf("    Allocation %q is gone from the cluster before it finished", m.id(id))
				finished[id] = true
				res.tasks = append(res.tasks, taskResult{alloc: id, code: exitFailed, at: m.now().UnixNano(),
					why: "is gone from the cluster (garbage collected or purged) before it finished"})
				continue
			}
			if a == nil {
				allDone = false
				continue
			}
			if prev, ok := status[id]; !ok || prev != a.ClientStatus {
				if ok {
					m.printf("    Allocation %q status changed: %q -> %q", m.id(id), prev, a.ClientStatus)
				}
				status[id] = a.ClientStatus
			}
			m.printTaskProgress(a, canon, printed)
			if a.NextAllocation != "" {
				m.printf("    Allocation %q was replaced by allocation %q (reschedule policy); following it", m.id(id), m.id(a.NextAllocation))
				finished[id] = true
				track = append(track, a.NextAllocation)
				continue
			}
			final, why := batchFinal(a, canon, m.now())
			if !final {
				if why != "" && !announced[id] {
					announced[id] = true
					m.printf("    Allocation %q %s", m.id(id), why)
				}
				allDone = false
				continue
			}
			finished[id] = true
			tasks := allocTaskResults(a)
			res.tasks = append(res.tasks, tasks...)
			failed := false
			for _, t := range tasks {
				failed = failed || t.code != 0
			}
			if failed {
				res.failed = append(res.failed, a)
			}
		}
		if allDone {
			return res, nil, nil
		}
	}
}

// printTaskProgress prints the exits, restarts and failures of a's tasks not
// printed before (printed maps alloc/task to the last event's time shown).
func (m *monitor) printTaskProgress(a *structs.AllocListStub, job *structs.Job, printed map[string]int64) {
	for _, name := range slices.Sorted(maps.Keys(a.TaskStates)) {
		ts := a.TaskStates[name]
		if ts == nil {
			continue
		}
		key := a.ID + "/" + name
	events:
		for i, e := range ts.Events {
			if e.Time <= printed[key] {
				continue
			}
			switch e.Type {
			case structs.TaskTerminated:
				// Said together with what follows it (restart or not).
				if i+1 < len(ts.Events) {
					continue
				}
				if ts.State != structs.TaskStateDead {
					// The restart decision is not reported yet.
					break events
				}
				m.printf("    Allocation %q task %q %s", m.id(a.ID), name, exitPhrase(e))
			case structs.TaskRestarting:
				what := "restarts"
				if i > 0 && ts.Events[i-1].Type == structs.TaskTerminated {
					what = exitPhrase(ts.Events[i-1]) + "; a restart follows"
				}
				m.printf("    Allocation %q task %q %s in %s (restart policy: %s); still waiting",
					m.id(a.ID), name, what, time.Duration(e.StartDelay), restartPolicyText(job, a.TaskGroup))
			case structs.TaskNotRestarting:
				what := "is not restarted"
				if i > 0 && ts.Events[i-1].Type == structs.TaskTerminated {
					what = exitPhrase(ts.Events[i-1]) + "; no restart follows"
				}
				m.printf("    Allocation %q task %q %s: %s", m.id(a.ID), name, what, eventMessage(e))
			case structs.TaskDriverFailure, structs.TaskSetupFailure:
				m.printf("    Allocation %q task %q: %s: %s", m.id(a.ID), name, e.Type, eventMessage(e))
			}
			printed[key] = e.Time
		}
	}
}

// exitPhrase says how a Terminated event ended the task.
func exitPhrase(e *structs.TaskEvent) string {
	if e.Signal != 0 {
		return fmt.Sprintf("was killed by signal %d", e.Signal)
	}
	return fmt.Sprintf("exited with code %d", e.ExitCode)
}

// restartPolicyText describes the restart policy of group in job.
func restartPolicyText(job *structs.Job, group string) string {
	tg := job.LookupTaskGroup(group)
	if tg == nil || tg.RestartPolicy == nil {
		return "unknown"
	}
	p := tg.RestartPolicy
	return fmt.Sprintf("%d attempt(s) in %s, delay %s", p.Attempts, p.Interval, p.Delay)
}

// batchFinal reports whether a batch allocation has finished for good. When
// it has not, why says what it waits for if that is worth telling (a
// reschedule), or is empty.
func batchFinal(a *structs.AllocListStub, job *structs.Job, now time.Time) (bool, string) {
	switch a.ClientStatus {
	case structs.AllocClientStatusComplete:
		return true, ""
	case structs.AllocClientStatusFailed, structs.AllocClientStatusLost:
	default:
		return false, ""
	}
	if a.DesiredStatus != structs.AllocDesiredStatusRun && a.DesiredStatus != "" {
		return true, "" // stopped by the server or by someone: no replacement
	}
	if a.ClientStatus == structs.AllocClientStatusLost {
		return false, "is lost; the scheduler replaces it"
	}
	if a.FollowupEvalID != "" {
		return false, "failed; the reschedule policy places a replacement after its delay"
	}
	tg := job.LookupTaskGroup(a.TaskGroup)
	if tg != nil && tg.ReschedulePolicy.AllowsAnother(a.RescheduleTracker, now) {
		return false, "failed; the reschedule policy places a replacement"
	}
	return true, ""
}

// allocTaskResults is how each task of a finished allocation ended.
func allocTaskResults(a *structs.AllocListStub) []taskResult {
	// An allocation the server stopped (job stop, alloc stop, a drain) did
	// not finish its work: its killed tasks count as failures.
	stopped := a.DesiredStatus == structs.AllocDesiredStatusStop || a.DesiredStatus == structs.AllocDesiredStatusEvict
	var out []taskResult
	for _, name := range slices.Sorted(maps.Keys(a.TaskStates)) {
		ts := a.TaskStates[name]
		if ts == nil {
			continue
		}
		r := taskResult{alloc: a.ID, task: name, at: ts.FinishedAt.UnixNano()}
		if ts.FinishedAt.IsZero() {
			r.at = a.ModifyTime
		}
		var last *structs.TaskEvent
		for _, e := range ts.Events {
			if e.Type == structs.TaskTerminated {
				last = e
			}
		}
		switch {
		case stopped && (hasEvent(ts, structs.TaskKilling) || hasEvent(ts, structs.TaskKilled)):
			r.code, r.why = exitFailed, "was stopped by the server ("+orNone(a.DesiredDescription)+")"
		case !ts.Failed && a.ClientStatus == structs.AllocClientStatusComplete:
			r.why = "succeeded"
			if last != nil {
				r.why = exitPhrase(last)
			}
		case !ts.Failed && hasEvent(ts, structs.TaskSiblingFailed):
			r.why = "was stopped because a sibling task failed"
		case last != nil && last.Signal != 0:
			r.code, r.why = 128+last.Signal, exitPhrase(last)
		case last != nil && (last.ExitCode != 0 || !ts.Failed):
			r.code, r.why = last.ExitCode, exitPhrase(last)
		case ts.Failed || a.ClientStatus != structs.AllocClientStatusComplete:
			r.code, r.why = exitFailed, "failed without an exit code ("+orNone(lastEventText(ts))+")"
		}
		if last != nil && r.at == 0 {
			r.at = last.Time
		}
		out = append(out, r)
	}
	if len(out) == 0 && a.ClientStatus != structs.AllocClientStatusComplete {
		out = append(out, taskResult{alloc: a.ID, code: exitFailed, at: a.ModifyTime,
			why: fmt.Sprintf("allocation %s: %s", a.ClientStatus, orNone(a.ClientDescription))})
	}
	return out
}

// hasEvent reports whether ts has an event of type typ.
func hasEvent(ts *structs.TaskState, typ string) bool {
	return slices.ContainsFunc(ts.Events, func(e *structs.TaskEvent) bool { return e.Type == typ })
}

// lastEventText is the last event of ts as "Type: message".
func lastEventText(ts *structs.TaskState) string {
	if n := len(ts.Events); n > 0 {
		e := ts.Events[n-1]
		return e.Type + ": " + eventMessage(e)
	}
	return ""
}
