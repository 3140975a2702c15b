package server

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// eventDeriver turns one applied Raft entry into the events of the objects
// it wrote, read back from the state after the write (so they carry their
// indexes). Like apply, it is deterministic: everything comes from the entry
// and the state. It runs on the FSM goroutine.
type eventDeriver struct {
	st    *state.Store
	index uint64
	typ   string
	out   []structs.Event
}

// deriveEvents returns the events of the entry of type t with body buf,
// applied at index. Entries that change nothing a subscriber can see (GC,
// configuration) produce none.
func deriveEvents(st *state.Store, t structs.MessageType, buf []byte, index uint64) (structs.Events, error) {
	d := &eventDeriver{st: st, index: index}
	var err error
	switch t {
	case structs.JobRegisterRequestType:
		err = d.jobRegister(buf)
	case structs.JobDeregisterRequestType:
		err = d.jobDeregister(buf)
	case structs.EvalUpdateRequestType:
		err = d.evalUpdate(buf)
	case structs.ApplyPlanResultsRequestType:
		err = d.planResults(buf)
	case structs.AllocClientUpdateRequestType:
		err = d.allocClientUpdate(buf)
	case structs.AllocDesiredUpdateRequestType:
		err = d.allocDesiredUpdate(buf)
	case structs.AllocUpdateDesiredTransitionRequestType:
		err = d.allocDesiredTransition(buf)
	case structs.NodeRegisterRequestType:
		err = d.nodeEntry(structs.TypeNodeRegistration, buf)
	case structs.NodeUpdateStatusRequestType:
		err = d.nodeEntry(structs.TypeNodeEvent, buf)
	case structs.NodeDeregisterRequestType:
		err = d.nodeDeregister(buf)
	case structs.NodeUpdateDrainRequestType:
		err = d.nodeEntry(structs.TypeNodeDrain, buf)
	case structs.NodeUpdateEligibilityRequestType:
		err = d.nodeEntry(structs.TypeNodeDrain, buf)
	case structs.DeploymentStatusUpdateRequestType:
		err = d.deploymentStatus(buf)
	case structs.DeploymentPromoteRequestType:
		err = d.deploymentPromote(buf)
	case structs.DeploymentAllocHealthRequestType:
		err = d.deploymentAllocHealth(buf)
	case structs.ServiceRegistrationUpsertRequestType:
		err = d.serviceUpsert(buf)
	case structs.ServiceRegistrationDeleteRequestType:
		err = d.serviceDelete(buf)
	}
	if err != nil {
		return structs.Events{}, fmt.Errorf("derive events of raft entry %d (type %d): %w", index, t, err)
	}
	return structs.Events{Index: index, Events: d.out}, nil
}

func (d *eventDeriver) add(e structs.Event) {
	e.Type, e.Index = d.typ, d.index
	d.out = append(d.out, e)
}

func (d *eventDeriver) job(namespace, id string) error {
	j, err := d.st.JobByID(nil, namespace, id)
	if err != nil {
		return fmt.Errorf("look up job %q: %w", id, err)
	}
	if j == nil {
		// Purged: Nomad sends nothing; a stub tells watchers it is gone.
		j = &structs.Job{ID: id, Namespace: namespace, Stop: true}
	}
	d.add(structs.Event{Topic: structs.TopicJob, Key: j.ID, Namespace: j.Namespace,
		Payload: &structs.EventPayload{Job: j}})
	return nil
}

func (d *eventDeriver) evals(evals []*structs.Evaluation) error {
	for _, in := range evals {
		if in == nil {
			continue
		}
		e, err := d.st.EvalByID(nil, in.ID)
		if err != nil {
			return fmt.Errorf("look up eval %s: %w", in.ID, err)
		}
		if e == nil {
			continue
		}
		d.add(structs.Event{Topic: structs.TopicEvaluation, Key: e.ID, Namespace: e.Namespace,
			FilterKeys: []string{e.JobID, e.DeploymentID}, Payload: &structs.EventPayload{Evaluation: e}})
	}
	return nil
}

func (d *eventDeriver) allocs(ids []string) error {
	for _, id := range ids {
		a, err := d.st.AllocByID(nil, id)
		if err != nil {
			return fmt.Errorf("look up alloc %s: %w", id, err)
		}
		if a == nil {
			continue
		}
		// Without its job, as Nomad sends it: a shallow copy, the rest shared.
		c := *a
		c.Job = nil
		d.add(structs.Event{Topic: structs.TopicAllocation, Key: a.ID, Namespace: a.Namespace,
			FilterKeys: []string{a.JobID, a.DeploymentID}, Payload: &structs.EventPayload{Allocation: &c}})
	}
	return nil
}

func (d *eventDeriver) deployment(id string) error {
	if id == "" {
		return nil
	}
	dep, err := d.st.DeploymentByID(nil, id)
	if err != nil {
		return fmt.Errorf("look up deployment %s: %w", id, err)
	}
	if dep == nil {
		return nil
	}
	d.add(structs.Event{Topic: structs.TopicDeployment, Key: dep.ID, Namespace: dep.Namespace,
		FilterKeys: []string{dep.JobID}, Payload: &structs.EventPayload{Deployment: dep}})
	return nil
}

func (d *eventDeriver) node(id string) error {
	n, err := d.st.NodeByID(nil, id)
	if err != nil {
		return fmt.Errorf("look up node %s: %w", id, err)
	}
	if n == nil {
		// Deregistered: only its ID is left.
		n = &structs.Node{ID: id}
	}
	d.add(structs.Event{Topic: structs.TopicNode, Key: id, Payload: &structs.EventPayload{Node: n.Sanitized()}})
	return nil
}

func (d *eventDeriver) service(namespace, id string, deleted *structs.ServiceRegistration) error {
	r, err := d.st.ServiceRegistrationByID(nil, namespace, id)
	if err != nil {
		return fmt.Errorf("look up service registration %s: %w", id, err)
	}
	if r == nil {
		if deleted == nil {
			return nil
		}
		r = deleted
	}
	d.add(structs.Event{Topic: structs.TopicService, Key: r.ID, Namespace: r.Namespace,
		FilterKeys: []string{r.JobID, r.ServiceName}, Payload: &structs.EventPayload{Service: r}})
	return nil
}
