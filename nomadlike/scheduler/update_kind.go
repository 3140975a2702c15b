package scheduler

import (
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Annotations on a plan's task diffs, as Nomad words them.
const (
	AnnotationForcesCreate            = "forces create"
	AnnotationForcesDestroy           = "forces destroy"
	AnnotationForcesInplaceUpdate     = "forces in-place update"
	AnnotationForcesDestructiveUpdate = "forces create/destroy update"
)

// Keys of TaskGroupDiff.Updates, as Nomad names them.
const (
	UpdateTypeIgnore            = "ignore"
	UpdateTypeCreate            = "create"
	UpdateTypeDestroy           = "destroy"
	UpdateTypeMigrate           = "migrate"
	UpdateTypeCanary            = "canary"
	UpdateTypeInplaceUpdate     = "in-place update"
	UpdateTypeDestructiveUpdate = "create/destroy update"
	UpdateTypePreemption        = "preemption"
)

// DestructiveChange reports whether moving an allocation from group old (its
// job version) to group updated needs a new allocation rather than an
// in-place update, and names the first difference found. It is the rule the
// reconciler applies; job plan uses it to annotate its diff.
func DestructiveChange(old, updated *structs.TaskGroup) (bool, string) {
	return destructiveChange(old, updated)
}

// Annotate adds to a job diff what the scheduler does about it: each group's
// Updates from the plan's DesiredTGUpdates, a count change's "forces create"
// or "forces destroy", and on each changed task whether it forces a
// create/destroy or an in-place update, by the reconciler's rule
// (DestructiveChange). oldJob is nil for a new job.
func Annotate(diff *structs.JobDiff, oldJob, newJob *structs.Job, annotations *structs.PlanAnnotations) {
	if diff == nil {
		return
	}
	for _, tgDiff := range diff.TaskGroups {
		if annotations != nil {
			if du := annotations.DesiredTGUpdates[tgDiff.Name]; du != nil {
				tgDiff.Updates = updatesMap(du)
			}
		}
		annotateCount(tgDiff)
		var oldTG, newTG *structs.TaskGroup
		if oldJob != nil {
			oldTG = oldJob.LookupTaskGroup(tgDiff.Name)
		}
		if newJob != nil {
			newTG = newJob.LookupTaskGroup(tgDiff.Name)
		}
		groupDestructive := false
		if oldTG != nil && newTG != nil {
			// Group-level causes (disk, network, task set) replace every allocation.
			groupDestructive = !ephemeralDiskEqual(oldTG.EphemeralDisk, newTG.EphemeralDisk) ||
				!networksEqual(oldTG.Networks, newTG.Networks) || len(oldTG.Tasks) != len(newTG.Tasks) ||
				!volumesEqual(oldTG.Volumes, newTG.Volumes)
		}
		for _, tDiff := range tgDiff.Tasks {
			annotateTask(tDiff, tgDiff, oldTG, newTG, groupDestructive)
		}
	}
}

// updatesMap turns DesiredUpdates into TaskGroupDiff.Updates (non-zero counts only).
func updatesMap(du *structs.DesiredUpdates) map[string]uint64 {
	m := map[string]uint64{}
	add := func(k string, n uint64) {
		if n > 0 {
			m[k] = n
		}
	}
	add(UpdateTypeIgnore, du.Ignore)
	add(UpdateTypeCreate, du.Place)
	add(UpdateTypeMigrate, du.Migrate)
	add(UpdateTypeDestroy, du.Stop)
	add(UpdateTypeCanary, du.Canary)
	add(UpdateTypeInplaceUpdate, du.InPlaceUpdate)
	add(UpdateTypeDestructiveUpdate, du.DestructiveUpdate)
	add(UpdateTypePreemption, du.Preemptions)
	return m
}

// annotateCount marks a changed Count with what it forces.
func annotateCount(tgDiff *structs.TaskGroupDiff) {
	for _, f := range tgDiff.Fields {
		if f.Name != "Count" || f.Type != structs.DiffTypeEdited {
			continue
		}
		var oldN, newN int
		if _, err := fmt.Sscan(f.Old, &oldN); err != nil {
			continue
		}
		if _, err := fmt.Sscan(f.New, &newN); err != nil {
			continue
		}
		if newN > oldN {
			f.Annotations = append(f.Annotations, AnnotationForcesCreate)
		} else if newN < oldN {
			f.Annotations = append(f.Annotations, AnnotationForcesDestroy)
		}
	}
}

// annotateTask says what a task's change forces.
func annotateTask(tDiff *structs.TaskDiff, tgDiff *structs.TaskGroupDiff, oldTG, newTG *structs.TaskGroup, groupDestructive bool) {
	if tDiff.Type == structs.DiffTypeNone {
		return
	}
	if tgDiff.Type == structs.DiffTypeAdded {
		tDiff.Annotations = append(tDiff.Annotations, AnnotationForcesCreate)
		return
	}
	if tgDiff.Type == structs.DiffTypeDeleted {
		tDiff.Annotations = append(tDiff.Annotations, AnnotationForcesDestroy)
		return
	}
	destructive := groupDestructive || tDiff.Type != structs.DiffTypeEdited
	if !destructive && oldTG != nil && newTG != nil {
		oldT, newT := oldTG.LookupTask(tDiff.Name), newTG.LookupTask(tDiff.Name)
		if oldT != nil && newT != nil {
			destructive, _ = destructiveChange(&structs.TaskGroup{Tasks: []*structs.Task{oldT}},
				&structs.TaskGroup{Tasks: []*structs.Task{newT}})
		}
	}
	if destructive {
		tDiff.Annotations = append(tDiff.Annotations, AnnotationForcesDestructiveUpdate)
	} else {
		tDiff.Annotations = append(tDiff.Annotations, AnnotationForcesInplaceUpdate)
	}
}

// DesiredUpdates reconciles eval's job with its allocations in st, as
// Process does, and returns what the plan would do to each group, without
// placing anything. Job plan uses it when the scheduler submitted no plan
// (nothing could be placed or nothing changes). For system and sysbatch
// jobs it counts the live allocations as ignored.
func DesiredUpdates(st State, eval *structs.Evaluation, now time.Time) (map[string]*structs.DesiredUpdates, error) {
	job, err := st.JobByID(nil, eval.Namespace, eval.JobID)
	if err != nil {
		return nil, fmt.Errorf("read job %q: %w", eval.JobID, err)
	}
	allocs, err := st.AllocsByJob(nil, eval.Namespace, eval.JobID, true)
	if err != nil {
		return nil, fmt.Errorf("read allocations of job %q: %w", eval.JobID, err)
	}
	allocs = dropPurgedInstance(job, allocs)
	if eval.Type == structs.JobTypeSystem || eval.Type == structs.JobTypeSysBatch {
		// A system job's plan is empty only when every node already runs
		// the current version or none can: its live allocations stay.
		out := map[string]*structs.DesiredUpdates{}
		if job != nil {
			for _, tg := range job.TaskGroups {
				out[tg.Name] = &structs.DesiredUpdates{}
			}
		}
		for _, a := range allocs {
			if du := out[a.TaskGroup]; du != nil && !a.TerminalStatus() {
				du.Ignore++
			}
		}
		return out, nil
	}
	nodeList, err := st.Nodes(nil)
	if err != nil {
		return nil, fmt.Errorf("read nodes: %w", err)
	}
	nodes := make(map[string]*structs.Node, len(nodeList))
	for _, n := range nodeList {
		nodes[n.ID] = n
	}
	r := &reconciler{
		job:    job,
		evalID: eval.ID,
		batch:  eval.Type == structs.JobTypeBatch || eval.Type == structs.JobTypeSysBatch,
		nodes:  nodes,
		now:    now,
	}
	if job != nil {
		feas := newFeasibilityChecker(job, 0)
		r.inplaceOK = func(a *structs.Allocation, tg *structs.TaskGroup) bool {
			ok, _ := feas.check(tg, nodes[a.NodeID], -1)
			return ok
		}
	}
	return r.reconcile(allocs).desired, nil
}
