package state

import (
	"fmt"
	"maps"
	"math/rand"
	"reflect"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// summaryJob returns testJob(id) with one group per name (count count).
func summaryJob(id string, groups []string, count int) *structs.Job {
	j := testJob(id)
	tg := j.TaskGroups[0]
	j.TaskGroups = nil
	for _, name := range groups {
		c := tg.Copy()
		c.Name = name
		c.Count = count
		j.TaskGroups = append(j.TaskGroups, c)
	}
	return j
}

// TestJobSummaryIncrementalMatchesRecount applies random sequences of job
// registrations (changing groups), purges, allocation upserts (new,
// server status changes, moves between groups and jobs, stale job
// incarnations), client updates, batched client updates with evaluations,
// evaluation upserts with queued counts and garbage collection of
// evaluations and allocations, over several jobs. After every step each
// job's summary must equal a full recount, and a summary whose counts did
// not change must not have been rewritten.
func TestJobSummaryIncrementalMatchesRecount(t *testing.T) {
	jobIDs := []string{"a", "b", "c"}
	groupSets := [][]string{{"web"}, {"web", "api"}, {"api", "db"}}
	allGroups := []string{"web", "api", "db", "gone"}
	clientStatuses := []string{
		structs.AllocClientStatusPending, structs.AllocClientStatusRunning, structs.AllocClientStatusComplete,
		structs.AllocClientStatusFailed, structs.AllocClientStatusLost, structs.AllocClientStatusUnknown, "", "weird",
	}
	for seed := int64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			s := newTestStore(t)
			ns := structs.DefaultNamespace
			history := map[string][]*structs.Job{} // every stored version, for stale incarnations
			prev := map[string]*structs.JobSummary{}
			var allocIDs, evalIDs []string
			pick := func(ids []string) string { return ids[r.Intn(len(ids))] }
			storedJob := func(id string) *structs.Job {
				j, err := s.JobByID(nil, ns, id)
				must(t, err)
				return j
			}
			anyJob := func(id string) *structs.Job {
				if h := history[id]; len(h) > 0 && r.Intn(4) == 0 {
					return h[r.Intn(len(h))]
				}
				if j := storedJob(id); j != nil {
					return j
				}
				return summaryJob(id, groupSets[0], 1)
			}
			newAlloc := func() *structs.Allocation {
				jobID := pick(jobIDs)
				job := anyJob(jobID)
				id := fmt.Sprintf("%08d-0000-0000-0000-000000000000", len(allocIDs))
				a := testAlloc(id, job, fmt.Sprint("node-", r.Intn(5)))
				a.TaskGroup = pick(allGroups)
				a.ClientStatus = pick(clientStatuses)
				allocIDs = append(allocIDs, id)
				return a
			}
			queued := func() map[string]int {
				q := map[string]int{}
				for _, g := range allGroups {
					if r.Intn(2) == 0 {
						q[g] = r.Intn(4)
					}
				}
				return q
			}
			newEval := func() *structs.Evaluation {
				id := fmt.Sprintf("eval-%06d", len(evalIDs))
				evalIDs = append(evalIDs, id)
				e := testEval(id, anyJob(pick(jobIDs)), pick([]string{structs.EvalStatusComplete, structs.EvalStatusPending, structs.EvalStatusBlocked}))
				e.QueuedAllocations = queued()
				return e
			}
			clientUpdates := func() []*structs.Allocation {
				var us []*structs.Allocation
				for range 1 + r.Intn(4) {
					if len(allocIDs) == 0 {
						break
					}
					us = append(us, &structs.Allocation{ID: pick(allocIDs), ClientStatus: pick(clientStatuses)})
				}
				return us
			}
			for step := range 250 {
				index := uint64(step + 1)
				op := r.Intn(100)
				var what string
				switch {
				case op < 12:
					id := pick(jobIDs)
					what = "register " + id
					must(t, s.UpsertJob(index, summaryJob(id, groupSets[r.Intn(len(groupSets))], 1+r.Intn(3))))
					history[id] = append(history[id], storedJob(id))
				case op < 15:
					id := pick(jobIDs)
					what = "purge " + id
					if storedJob(id) != nil {
						must(t, s.DeleteJob(index, ns, id))
					}
				case op < 45:
					what = "upsert allocs"
					var as []*structs.Allocation
					for range 1 + r.Intn(5) {
						if len(allocIDs) == 0 || r.Intn(2) == 0 {
							as = append(as, newAlloc())
							continue
						}
						cur, err := s.AllocByID(nil, pick(allocIDs))
						must(t, err)
						if cur == nil {
							continue
						}
						c := cur.Copy()
						switch r.Intn(5) {
						case 0:
							c.ClientStatus = pick(clientStatuses) // kept only for lost and unknown
						case 1:
							c.TaskGroup = pick(allGroups)
						case 2:
							j := anyJob(pick(jobIDs))
							c.JobID, c.Job = j.ID, j
						case 3:
							c.Job = anyJob(c.JobID)
						default:
							c.DesiredStatus = structs.AllocDesiredStatusStop
						}
						as = append(as, c)
					}
					must(t, s.UpsertAllocs(index, as))
				case op < 70:
					what = "client update"
					must(t, s.UpdateAllocsFromClient(index, clientUpdates()))
				case op < 80:
					what = "upsert evals"
					must(t, s.UpsertEvals(index, []*structs.Evaluation{newEval(), newEval()}))
				case op < 88:
					what = "gc"
					req := &structs.EvalDeleteRequest{}
					for range r.Intn(3) {
						if len(evalIDs) > 0 {
							req.Evals = append(req.Evals, pick(evalIDs))
						}
					}
					for range r.Intn(4) {
						if len(allocIDs) > 0 {
							req.Allocs = append(req.Allocs, pick(allocIDs))
						}
					}
					must(t, errOf(s.EvalDelete(index, req)))
				default:
					what = "client update batch"
					req := &structs.AllocClientUpdateBatchRequest{}
					for range 1 + r.Intn(3) {
						p := &structs.AllocClientUpdateRequest{Allocs: clientUpdates(), Timestamp: int64(step)}
						if r.Intn(2) == 0 {
							p.Evals = []*structs.Evaluation{newEval()}
						}
						req.Parts = append(req.Parts, p)
					}
					must(t, errOf(s.AllocClientUpdateBatch(index, req)))
				}
				for _, id := range jobIDs {
					job := storedJob(id)
					sum, err := s.JobSummaryByID(nil, ns, id)
					must(t, err)
					if job == nil {
						if sum != nil {
							t.Fatalf("step %d (%s): purged job %q has a summary", step, what, id)
						}
						delete(prev, id)
						continue
					}
					want, err := recountSummaryTxn(s.readTxn(), job)
					must(t, err)
					if sum == nil || !maps.Equal(sum.Summary, want) {
						var got map[string]structs.TaskGroupSummary
						if sum != nil {
							got = sum.Summary
						}
						t.Fatalf("step %d (%s): summary of job %q is %+v, a recount gives %+v", step, what, id, got, want)
					}
					if p := prev[id]; p != nil && p.CreateIndex == sum.CreateIndex {
						changed := !maps.Equal(p.Summary, sum.Summary)
						if changed && sum.ModifyIndex != index || !changed && sum.ModifyIndex != p.ModifyIndex {
							t.Fatalf("step %d (%s): summary of job %q: counts changed %v, ModifyIndex %d -> %d at index %d",
								step, what, id, changed, p.ModifyIndex, sum.ModifyIndex, index)
						}
					}
					prev[id] = sum
				}
			}
		})
	}
}

// Bringing a summary up to date copies its counts only when they change:
// with no allocation counted and the queued counts as stored, the stored
// map itself is the result (the registration's own refresh and most eval
// updates), and a change never writes into the stored map.
func TestSummaryCountsCopiedOnlyWhenChanged(t *testing.T) {
	job := testJob("web")
	job.CreateIndex = 5
	stored := map[string]structs.TaskGroupSummary{"web": {Queued: 1, Running: 2}}
	existing := &structs.JobSummary{JobID: "web", Namespace: "default", Summary: stored}
	base := summaryBase{job: job, summary: existing}
	same := func(a, b map[string]structs.TaskGroupSummary) bool {
		return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer()
	}

	counts, ok := applyAllocCounts(job, base, existing, []allocCount{{sign: 1, hasJob: true, jobCreate: 4, taskGroup: "web", clientState: structs.AllocClientStatusRunning}})
	if !ok || !same(counts, stored) {
		t.Errorf("no delta of the job's incarnation: got a copy (%v), want the stored counts", ok)
	}
	if got := withQueued(counts, &structs.Evaluation{QueuedAllocations: map[string]int{"web": 1}}); !same(got, stored) {
		t.Errorf("withQueued with the stored queued count made a copy")
	}
	got := withQueued(counts, nil)
	if same(got, stored) || got["web"].Queued != 0 || stored["web"].Queued != 1 {
		t.Errorf("withQueued(nil): got %v (a copy: %v), stored %v; want a copy with Queued 0 and the stored map unchanged", got, !same(got, stored), stored)
	}
	counts, ok = applyAllocCounts(job, base, existing, []allocCount{{sign: 1, hasJob: true, jobCreate: 5, taskGroup: "web", clientState: structs.AllocClientStatusRunning}})
	if !ok || same(counts, stored) || counts["web"].Running != 3 || stored["web"].Running != 2 {
		t.Errorf("a counted delta: got %v (ok %v), stored %v; want a copy with Running 3 and the stored map unchanged", counts, ok, stored)
	}
}
