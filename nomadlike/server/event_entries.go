package server

import (
	"slices"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// The per-entry halves of deriveEvents: each decodes the entry again (the
// apply functions keep their request to themselves) and reads back what it
// wrote. Every event of an entry gets the entry's type, as in Nomad. The
// frequent, large entries decode into objRef views that keep only the IDs:
// msgpack skips the rest (a plan's allocations and jobs) cheaply.

// objRef is the identity of an object in an entry.
type objRef struct {
	ID        string
	Namespace string
}

func refIDs(lists ...[]objRef) []string {
	var ids []string
	for _, l := range lists {
		for _, r := range l {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

func refEvals(refs []objRef) []*structs.Evaluation {
	evals := make([]*structs.Evaluation, len(refs))
	for i, r := range refs {
		evals[i] = &structs.Evaluation{ID: r.ID}
	}
	return evals
}

func (d *eventDeriver) jobRegister(buf []byte) error {
	var req struct{ Job, Eval *objRef }
	if err := decodeBody(buf, &req); err != nil || req.Job == nil {
		return err
	}
	d.typ = structs.TypeJobRegistered
	if err := d.job(req.Job.Namespace, req.Job.ID); err != nil {
		return err
	}
	if req.Eval == nil {
		return nil
	}
	return d.evals(refEvals([]objRef{*req.Eval}))
}

func (d *eventDeriver) jobDeregister(buf []byte) error {
	var req structs.JobDeregisterRequest
	if err := decodeBody(buf, &req); err != nil {
		return err
	}
	d.typ = structs.TypeJobDeregistered
	if err := d.job(req.Namespace, req.JobID); err != nil {
		return err
	}
	return d.evals([]*structs.Evaluation{req.Eval})
}

func (d *eventDeriver) evalUpdate(buf []byte) error {
	var req struct{ Evals []objRef }
	if err := decodeBody(buf, &req); err != nil {
		return err
	}
	d.typ = structs.TypeEvalUpdated
	return d.evals(refEvals(req.Evals))
}

func (d *eventDeriver) planResults(buf []byte) error {
	var req struct {
		AllocsStopped, AllocsPlaced, AllocsPreempted, Evals []objRef
		Deployment                                          *objRef
		DeploymentUpdates                                   []*structs.DeploymentStatusUpdate
	}
	if err := decodeBody(buf, &req); err != nil {
		return err
	}
	d.typ = structs.TypePlanResult
	if err := d.allocs(refIDs(req.AllocsStopped, req.AllocsPlaced, req.AllocsPreempted)); err != nil {
		return err
	}
	var deps []string
	if req.Deployment != nil {
		deps = append(deps, req.Deployment.ID)
	}
	for _, u := range req.DeploymentUpdates {
		if u != nil && !slices.Contains(deps, u.DeploymentID) {
			deps = append(deps, u.DeploymentID)
		}
	}
	for _, id := range deps {
		if err := d.deployment(id); err != nil {
			return err
		}
	}
	return d.evals(refEvals(req.Evals))
}

func (d *eventDeriver) allocClientUpdate(buf []byte) error {
	var req struct{ Allocs, Evals []objRef }
	if err := decodeBody(buf, &req); err != nil {
		return err
	}
	d.typ = structs.TypeAllocationUpdated
	if err := d.allocs(refIDs(req.Allocs)); err != nil {
		return err
	}
	return d.evals(refEvals(req.Evals))
}

func (d *eventDeriver) allocDesiredUpdate(buf []byte) error {
	var req structs.AllocDesiredUpdateRequest
	if err := decodeBody(buf, &req); err != nil {
		return err
	}
	d.typ = structs.TypeAllocationUpdateDesiredStatus
	if err := d.allocs(req.AllocIDs); err != nil {
		return err
	}
	return d.evals(req.Evals)
}

func (d *eventDeriver) allocDesiredTransition(buf []byte) error {
	var req structs.AllocUpdateDesiredTransitionRequest
	if err := decodeBody(buf, &req); err != nil {
		return err
	}
	d.typ = structs.TypeAllocationUpdateDesiredStatus
	ids := make([]string, 0, len(req.Allocs))
	for id := range req.Allocs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if err := d.allocs(ids); err != nil {
		return err
	}
	return d.evals(req.Evals)
}

// nodeEntry derives the events of an entry that names one node and the
// evals it created: a registration (by Node), a status, drain or
// eligibility update (by NodeID). typ is the entry's event type.
func (d *eventDeriver) nodeEntry(typ string, buf []byte) error {
	var req struct {
		Node   *objRef
		NodeID string
		Evals  []objRef
	}
	if err := decodeBody(buf, &req); err != nil {
		return err
	}
	id := req.NodeID
	if typ == structs.TypeNodeRegistration {
		if req.Node == nil {
			return nil
		}
		id = req.Node.ID
	}
	d.typ = typ
	if err := d.node(id); err != nil {
		return err
	}
	return d.evals(refEvals(req.Evals))
}

func (d *eventDeriver) nodeDeregister(buf []byte) error {
	var req structs.NodeDeregisterRequest
	if err := decodeBody(buf, &req); err != nil {
		return err
	}
	d.typ = structs.TypeNodeDeregistration
	for _, id := range req.NodeIDs {
		if err := d.node(id); err != nil {
			return err
		}
	}
	return nil
}

func (d *eventDeriver) deploymentStatus(buf []byte) error {
	var req structs.DeploymentStatusUpdateRequest
	if err := decodeBody(buf, &req); err != nil || req.DeploymentUpdate == nil {
		return err
	}
	d.typ = structs.TypeDeploymentUpdate
	return d.deploymentWithJob(req.DeploymentUpdate.DeploymentID, req.Job, req.Eval)
}

// deploymentWithJob adds the deployment, the job version the entry wrote
// (an auto-revert), if any, and its eval.
func (d *eventDeriver) deploymentWithJob(id string, job *structs.Job, eval *structs.Evaluation) error {
	if err := d.deployment(id); err != nil {
		return err
	}
	if job != nil {
		if err := d.job(job.Namespace, job.ID); err != nil {
			return err
		}
	}
	return d.evals([]*structs.Evaluation{eval})
}

func (d *eventDeriver) deploymentPromote(buf []byte) error {
	var req structs.DeploymentPromoteRequest
	if err := decodeBody(buf, &req); err != nil {
		return err
	}
	d.typ = structs.TypeDeploymentPromotion
	return d.deploymentWithJob(req.DeploymentID, nil, req.Eval)
}

func (d *eventDeriver) deploymentAllocHealth(buf []byte) error {
	var req structs.DeploymentAllocHealthRequest
	if err := decodeBody(buf, &req); err != nil {
		return err
	}
	d.typ = structs.TypeDeploymentAllocHealth
	if err := d.allocs(slices.Concat(req.HealthyAllocationIDs, req.UnhealthyAllocationIDs)); err != nil {
		return err
	}
	return d.deploymentWithJob(req.DeploymentID, req.Job, req.Eval)
}

func (d *eventDeriver) serviceUpsert(buf []byte) error {
	var req structs.ServiceRegistrationUpsertRequest
	if err := decodeBody(buf, &req); err != nil {
		return err
	}
	d.typ = structs.TypeServiceRegistration
	for _, r := range req.Services {
		if r == nil {
			continue
		}
		if err := d.service(r.Namespace, r.ID, nil); err != nil {
			return err
		}
	}
	return nil
}

// serviceDelete reports the registrations deleted by ID; those deleted by
// allocation or node are not named by the entry and go unreported.
func (d *eventDeriver) serviceDelete(buf []byte) error {
	var req structs.ServiceRegistrationDeleteRequest
	if err := decodeBody(buf, &req); err != nil {
		return err
	}
	d.typ = structs.TypeServiceDeregistration
	for _, id := range req.IDs {
		gone := &structs.ServiceRegistration{ID: id, Namespace: req.Namespace}
		if err := d.service(req.Namespace, id, gone); err != nil {
			return err
		}
	}
	return nil
}
