package state

import (
	"fmt"
	"slices"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// UpsertDeployment stores a deployment as a plan does (see upsertDeploymentTxn).
func (s *Store) UpsertDeployment(index uint64, d *structs.Deployment) error {
	_, err := s.write(index, func(txn *memdb.Txn) error { return upsertDeploymentTxn(txn, index, d) })
	return err
}

// upsertDeploymentTxn stores a plan's deployment. A new one is stored as
// given (CreateIndex = index). An existing one keeps what the cluster
// reported since the scheduler read it (status, counters, canaries,
// promotion, deadlines): only groups the stored copy lacks are added and the
// desired counts of the others are taken from d.
func upsertDeploymentTxn(txn *memdb.Txn, index uint64, d *structs.Deployment) error {
	if d == nil {
		return nil
	}
	if d.ID == "" {
		return structs.NewBadRequest("state: upsert deployment at index %d: deployment of job %q has no ID", index, d.JobID)
	}
	existing, err := deploymentByIDTxn(txn, nil, d.ID)
	if err != nil {
		return err
	}
	var n *structs.Deployment
	if existing == nil {
		n = d.Copy()
		n.Namespace = objectNamespace(n.Namespace)
		n.CreateIndex = index
	} else {
		n = existing.Copy()
		for name, g := range d.TaskGroups {
			cur, ok := n.TaskGroups[name]
			if !ok {
				n.TaskGroups[name] = g.Copy()
				continue
			}
			cur.DesiredTotal = g.DesiredTotal
			cur.DesiredCanaries = g.DesiredCanaries
		}
		if d.ModifyTime > n.ModifyTime {
			n.ModifyTime = d.ModifyTime
		}
	}
	return putDeploymentTxn(txn, index, n)
}

// putDeploymentTxn inserts n (owned by the caller, not shared) at index.
func putDeploymentTxn(txn *memdb.Txn, index uint64, n *structs.Deployment) error {
	n.ModifyIndex = index
	if err := txn.Insert(tableDeployment, n); err != nil {
		return fmt.Errorf("state: insert deployment %q: %w", n.ID, err)
	}
	return setIndex(txn, tableDeployment, index)
}

// applyDeploymentUpdatesTxn changes deployments' status; unknown IDs are
// skipped (garbage collected meanwhile), so a race never fails an entry.
func applyDeploymentUpdatesTxn(txn *memdb.Txn, index uint64, updates []*structs.DeploymentStatusUpdate, ts int64) error {
	for _, u := range updates {
		if u == nil {
			continue
		}
		if err := updateDeploymentStatusTxn(txn, index, u, ts); err != nil {
			return err
		}
	}
	return nil
}

func updateDeploymentStatusTxn(txn *memdb.Txn, index uint64, u *structs.DeploymentStatusUpdate, ts int64) error {
	d, err := deploymentByIDTxn(txn, nil, u.DeploymentID)
	if err != nil || d == nil {
		return err
	}
	n := d.Copy()
	n.Status = u.Status
	n.StatusDescription = u.StatusDescription
	if ts != 0 {
		n.ModifyTime = ts
	}
	return putDeploymentTxn(txn, index, n)
}

// updateDeploymentWithAllocTxn counts, in alloc's deployment, a new
// placement (an allocation new to the deployment, canaries also in
// PlacedCanaries) or a health verdict reached since existing, and moves the
// group's progress deadline, as Nomad's updateDeploymentWithAlloc. alloc is
// the copy being stored: its DeploymentStatus.ModifyIndex is set when its
// health was counted. owned (nil: none) are the deployment rows this write
// already stored in txn: a row that is still the stored one is changed in
// place, so that a write of many allocations of one deployment (a plan, a
// batch of client updates) copies and stores the deployment once, not
// once per allocation; the rows it stores are added to it.
func updateDeploymentWithAllocTxn(txn *memdb.Txn, index uint64, existing, alloc *structs.Allocation, owned *ownedDeployments) error {
	if alloc.DeploymentID == "" {
		return nil
	}
	d, err := deploymentByIDTxn(txn, nil, alloc.DeploymentID)
	if err != nil || d == nil {
		return err
	}
	if _, ok := d.TaskGroups[alloc.TaskGroup]; !ok {
		return nil
	}
	placed, healthy, unhealthy := 0, 0, 0
	switch {
	case existing == nil || existing.DeploymentID != alloc.DeploymentID:
		placed = 1
	case !existing.DeploymentStatus.HasHealth() && alloc.DeploymentStatus.HasHealth():
		if alloc.DeploymentStatus.IsHealthy() {
			healthy = 1
		} else {
			unhealthy = 1
		}
	case existing.DeploymentStatus.HasHealth() && alloc.DeploymentStatus.HasHealth() &&
		existing.DeploymentStatus.IsHealthy() != alloc.DeploymentStatus.IsHealthy():
		// Health changed (marked by hand).
		if alloc.DeploymentStatus.IsHealthy() {
			healthy, unhealthy = 1, -1
		} else {
			healthy, unhealthy = -1, 1
		}
	}
	canaryNew := alloc.DeploymentStatus.IsCanary() && !slices.Contains(d.TaskGroups[alloc.TaskGroup].PlacedCanaries, alloc.ID)
	if placed == 0 && healthy == 0 && unhealthy == 0 && !canaryNew {
		return nil
	}
	if healthy != 0 || unhealthy != 0 {
		alloc.DeploymentStatus.ModifyIndex = index
	}
	mine := owned != nil && owned.rows[d.ID] == d
	n := d
	if !mine {
		n = d.Copy()
	}
	g := n.TaskGroups[alloc.TaskGroup]
	g.PlacedAllocs += placed
	g.HealthyAllocs = max(0, g.HealthyAllocs+healthy)
	g.UnhealthyAllocs = max(0, g.UnhealthyAllocs+unhealthy)
	if canaryNew {
		g.PlacedCanaries = append(g.PlacedCanaries, alloc.ID)
	}
	if pd := g.ProgressDeadline; pd != 0 {
		switch {
		case placed != 0 && g.RequireProgressBy.IsZero():
			// The first placement starts the clock. ModifyTime, not
			// CreateTime: an in-place update may join a deployment.
			g.RequireProgressBy = time.Unix(0, alloc.ModifyTime).UTC().Add(pd)
		case healthy > 0:
			at := alloc.DeploymentStatus.Timestamp
			if at.IsZero() {
				at = time.Unix(0, alloc.ModifyTime).UTC()
			}
			if by := at.Add(pd); by.After(g.RequireProgressBy) {
				g.RequireProgressBy = by
			}
		}
	}
	if mine {
		return nil // stored, at index, by this write
	}
	if owned != nil {
		if owned.rows == nil {
			owned.rows = map[string]*structs.Deployment{}
		}
		owned.rows[n.ID] = n
	}
	return putDeploymentTxn(txn, index, n)
}

// ownedDeployments are the deployment rows one write stored in its
// transaction, by ID (see updateDeploymentWithAllocTxn).
type ownedDeployments struct {
	rows map[string]*structs.Deployment
}

// upsertJobAndEvalsTxn registers job (when not nil) and stores evals, the
// extras a deployment entry may carry; an evaluation of that job is stored
// with the job's JobModifyIndex. The caller's objects are not changed.
func upsertJobAndEvalsTxn(txn *memdb.Txn, index uint64, job *structs.Job, evals []*structs.Evaluation) error {
	if job != nil {
		stored, err := upsertJobTxn(txn, index, job)
		if err != nil {
			return err
		}
		for i, e := range evals {
			if e.JobID == stored.ID && objectNamespace(e.Namespace) == stored.Namespace {
				c := e.Copy()
				c.JobModifyIndex = stored.JobModifyIndex
				evals[i] = c
			}
		}
	}
	_, err := upsertEvalsTxn(txn, index, evals)
	return err
}

func evalList(e *structs.Evaluation) []*structs.Evaluation {
	if e == nil {
		return nil
	}
	return []*structs.Evaluation{e}
}

// existingDeploymentTxn returns the deployment id, or a 404 CodedError
// when there is none.
func existingDeploymentTxn(txn *memdb.Txn, id string) (*structs.Deployment, error) {
	d, err := deploymentByIDTxn(txn, nil, id)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, structs.NewNotFound("deployment %q not found", id)
	}
	return d, nil
}

// DeploymentStatusUpdate applies a DeploymentStatusUpdateRequest in one
// transaction: the status change, the job it registers (auto-revert) and its
// evaluation. An unknown deployment is a 404 CodedError.
func (s *Store) DeploymentStatusUpdate(index uint64, req *structs.DeploymentStatusUpdateRequest) (Result, error) {
	if req == nil || req.DeploymentUpdate == nil {
		return Result{}, structs.NewBadRequest("state: update deployment status at index %d: no update", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		if _, err := existingDeploymentTxn(txn, req.DeploymentUpdate.DeploymentID); err != nil {
			return err
		}
		if err := updateDeploymentStatusTxn(txn, index, req.DeploymentUpdate, req.UpdatedAt); err != nil {
			return err
		}
		return upsertJobAndEvalsTxn(txn, index, req.Job, evalList(req.Eval))
	})
}

// DeploymentPromote promotes the canaries of every group (req.All)
// or of the named groups: the groups are marked Promoted (their progress
// deadline restarts at req.UpdatedAt) and their canaries lose the canary
// flag, so the scheduler may replace the old allocations. The evaluation is
// stored in the same transaction. Unknown deployment: 404; a terminal one,
// a group without canaries or with unhealthy canaries: 400.
func (s *Store) DeploymentPromote(index uint64, req *structs.DeploymentPromoteRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: promote deployment at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		d, err := existingDeploymentTxn(txn, req.DeploymentID)
		if err != nil {
			return err
		}
		allocs, err := allocsByDeploymentTxn(txn, nil, d.ID)
		if err != nil {
			return err
		}
		groups, err := PromotableGroups(d, allocs, req.All, req.Groups)
		if err != nil {
			return err
		}
		n := d.Copy()
		at := time.Unix(0, req.UpdatedAt).UTC()
		for _, name := range groups {
			g := n.TaskGroups[name]
			g.Promoted = true
			if g.ProgressDeadline != 0 && req.UpdatedAt != 0 {
				g.RequireProgressBy = at.Add(g.ProgressDeadline)
			}
		}
		if n.Status == structs.DeploymentStatusRunning {
			n.StatusDescription = structs.DeploymentStatusDescriptionRunning
		}
		if req.UpdatedAt != 0 {
			n.ModifyTime = req.UpdatedAt
		}
		if err := putDeploymentTxn(txn, index, n); err != nil {
			return err
		}
		var unflagged []*structs.Allocation
		for _, a := range allocs {
			if !a.DeploymentStatus.IsCanary() || !slices.Contains(groups, a.TaskGroup) {
				continue
			}
			c := shallowAllocCopy(a)
			c.DeploymentStatus = a.DeploymentStatus.Copy()
			c.DeploymentStatus.Canary = false
			c.DeploymentStatus.ModifyIndex = index
			// A new AllocModifyIndex, as Nomad sets it: the client's
			// allocation watch then delivers the change, and the client
			// registers the services without their canary_tags.
			c.ModifyIndex, c.AllocModifyIndex = index, index
			if err := txn.Insert(tableAllocs, c); err != nil {
				return fmt.Errorf("state: promote canary %q: %w", c.ID, err)
			}
			unflagged = append(unflagged, c)
		}
		if len(unflagged) > 0 {
			if err := setIndex(txn, tableAllocs, index); err != nil {
				return err
			}
		}
		return upsertJobAndEvalsTxn(txn, index, nil, evalList(req.Eval))
	})
}

// PromotableGroups returns the groups of d a promotion request (all groups,
// or the named ones) promotes, checking it as Nomad does: d must be active,
// named groups must exist and have canaries, and every promoted group needs
// as many healthy canaries as it desires. Errors are 400 CodedErrors saying
// what to do.
func PromotableGroups(d *structs.Deployment, allocs []*structs.Allocation, all bool, names []string) ([]string, error) {
	if !d.Active() {
		return nil, structs.NewBadRequest("deployment %s is %s: only an active deployment can be promoted", d.ID, d.Status)
	}
	var groups []string
	if all || len(names) == 0 {
		for name, g := range d.TaskGroups {
			if g.DesiredCanaries > 0 && !g.Promoted {
				groups = append(groups, name)
			}
		}
		if len(groups) == 0 {
			return nil, structs.NewBadRequest("deployment %s has no canaries to promote (no group sets canary in its update block, or they are promoted already)", d.ID)
		}
	} else {
		for _, name := range names {
			g, ok := d.TaskGroups[name]
			if !ok {
				return nil, structs.NewBadRequest("deployment %s has no task group %q: name one of the job's groups that deploys canaries", d.ID, name)
			}
			if g.DesiredCanaries == 0 {
				return nil, structs.NewBadRequest("task group %q of deployment %s has no canaries to promote", name, d.ID)
			}
			groups = append(groups, name)
		}
	}
	slices.Sort(groups)
	healthy := map[string]int{}
	for _, a := range allocs {
		if a.DeploymentStatus.IsCanary() && a.DeploymentStatus.IsHealthy() && !a.TerminalStatus() {
			healthy[a.TaskGroup]++
		}
	}
	for _, name := range groups {
		g := d.TaskGroups[name]
		if g.Promoted {
			continue
		}
		if healthy[name] < g.DesiredCanaries {
			return nil, structs.NewBadRequest("task group %q has %d/%d healthy canaries: wait until they are healthy (or set their health with PUT /v1/deployment/allocation-health/:id, or fail the deployment) before promoting",
				name, healthy[name], g.DesiredCanaries)
		}
	}
	return groups, nil
}

// DeploymentAllocHealth records health verdicts on allocations of a
// deployment (marked by hand, or decided by the server), counting them in
// the deployment, with an optional status change, job (auto-revert) and
// evaluation, in one transaction. req.UpdatedAt is the verdicts' timestamp.
// Unknown deployment: 404; an allocation not in it: 400.
func (s *Store) DeploymentAllocHealth(index uint64, req *structs.DeploymentAllocHealthRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: set allocation health at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		d, err := existingDeploymentTxn(txn, req.DeploymentID)
		if err != nil {
			return err
		}
		at := time.Unix(0, req.UpdatedAt).UTC()
		set := func(ids []string, healthy bool) error {
			for _, id := range ids {
				a, err := allocByIDTxn(txn, nil, id)
				if err != nil {
					return err
				}
				if a == nil || a.DeploymentID != d.ID {
					return structs.NewBadRequest("allocation %q is not part of deployment %s (GET /v1/deployment/allocations/%s lists its allocations)", id, d.ID, d.ID)
				}
				c := shallowAllocCopy(a)
				c.DeploymentStatus = a.DeploymentStatus.Copy()
				if c.DeploymentStatus == nil {
					c.DeploymentStatus = &structs.AllocDeploymentStatus{}
				}
				h := healthy
				c.DeploymentStatus.Healthy = &h
				c.DeploymentStatus.Timestamp = at
				c.ModifyIndex = index
				if req.UpdatedAt != 0 {
					c.ModifyTime = req.UpdatedAt
				}
				if err := updateDeploymentWithAllocTxn(txn, index, a, c, nil); err != nil {
					return err
				}
				if err := txn.Insert(tableAllocs, c); err != nil {
					return fmt.Errorf("state: set health of allocation %q: %w", id, err)
				}
			}
			return nil
		}
		if err := set(req.HealthyAllocationIDs, true); err != nil {
			return err
		}
		if err := set(req.UnhealthyAllocationIDs, false); err != nil {
			return err
		}
		if len(req.HealthyAllocationIDs)+len(req.UnhealthyAllocationIDs) > 0 {
			if err := setIndex(txn, tableAllocs, index); err != nil {
				return err
			}
		}
		if req.DeploymentUpdate != nil {
			if err := updateDeploymentStatusTxn(txn, index, req.DeploymentUpdate, req.UpdatedAt); err != nil {
				return err
			}
		}
		return upsertJobAndEvalsTxn(txn, index, req.Job, evalList(req.Eval))
	})
}
