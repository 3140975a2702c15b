package state

import "github.com/nomadlike/nomadlike/nomadlike/structs"

// tableEvents maps a table to the event of one change of one of its rows
// (ok false: the change makes no event). Tables without an entry (indexes,
// versions, summaries, configuration) make no events. A new table that
// subscribers should see adds its mapping here.
var tableEvents = map[string]func(c changeObjects) (structs.Event, bool){
	tableJobs:                 jobEvent,
	tableEvals:                evalEvent,
	tableAllocs:               allocEvent,
	tableDeployment:           deploymentEvent,
	tableNodes:                nodeEvent,
	tableServiceRegistrations: serviceEvent,
	tableVariables:            variableEvent,
	tableNodePools:            nodePoolEvent,
}

// changeObjects is one change: the row before and after the write (nil when
// created or deleted).
type changeObjects struct{ before, after any }

// Events returns the events of the write, in write order, each with type
// eventType and the write's index. An empty eventType means the write's
// message type publishes nothing.
func (r Result) Events(eventType string) []structs.Event {
	if eventType == "" {
		return nil
	}
	var out []structs.Event
	for _, c := range r.Changes {
		mapFn, ok := tableEvents[c.Table]
		if !ok {
			continue
		}
		e, ok := mapFn(changeObjects{c.Before, c.After})
		if !ok {
			continue
		}
		if e.Type == "" { // a mapping may name its own (a deletion)
			e.Type = eventType
		}
		e.Index = r.Index
		out = append(out, e)
	}
	return out
}

func jobEvent(c changeObjects) (structs.Event, bool) {
	j, _ := c.after.(*structs.Job)
	if j == nil {
		gone, ok := c.before.(*structs.Job)
		if !ok {
			return structs.Event{}, false
		}
		// Purged: Nomad sends nothing; a stub tells watchers it is gone.
		j = &structs.Job{ID: gone.ID, Namespace: gone.Namespace, Stop: true}
	}
	return structs.Event{Topic: structs.TopicJob, Key: j.ID, Namespace: j.Namespace,
		Payload: &structs.EventPayload{Job: j}}, true
}

func evalEvent(c changeObjects) (structs.Event, bool) {
	e, ok := c.after.(*structs.Evaluation)
	if !ok { // deleted by garbage collection: no event, as in Nomad
		return structs.Event{}, false
	}
	return structs.Event{Topic: structs.TopicEvaluation, Key: e.ID, Namespace: e.Namespace,
		FilterKeys: []string{e.JobID, e.DeploymentID}, Payload: &structs.EventPayload{Evaluation: e}}, true
}

func allocEvent(c changeObjects) (structs.Event, bool) {
	a, ok := c.after.(*structs.Allocation)
	if !ok {
		return structs.Event{}, false
	}
	// Without its job, as Nomad sends it: a shallow copy, the rest shared.
	cp := *a
	cp.Job = nil
	return structs.Event{Topic: structs.TopicAllocation, Key: a.ID, Namespace: a.Namespace,
		FilterKeys: []string{a.JobID, a.DeploymentID}, Payload: &structs.EventPayload{Allocation: &cp}}, true
}

func deploymentEvent(c changeObjects) (structs.Event, bool) {
	d, ok := c.after.(*structs.Deployment)
	if !ok {
		return structs.Event{}, false
	}
	return structs.Event{Topic: structs.TopicDeployment, Key: d.ID, Namespace: d.Namespace,
		FilterKeys: []string{d.JobID}, Payload: &structs.EventPayload{Deployment: d}}, true
}

func nodeEvent(c changeObjects) (structs.Event, bool) {
	n, _ := c.after.(*structs.Node)
	if n == nil {
		gone, ok := c.before.(*structs.Node)
		if !ok {
			return structs.Event{}, false
		}
		// Deregistered: only its ID is left.
		n = &structs.Node{ID: gone.ID}
	}
	return structs.Event{Topic: structs.TopicNode, Key: n.ID, Payload: &structs.EventPayload{Node: n.Sanitized()}}, true
}

func serviceEvent(c changeObjects) (structs.Event, bool) {
	r, _ := c.after.(*structs.ServiceRegistration)
	if r == nil {
		gone, ok := c.before.(*structs.ServiceRegistration)
		if !ok {
			return structs.Event{}, false
		}
		r = gone
	}
	return structs.Event{Topic: structs.TopicService, Key: r.ID, Namespace: r.Namespace,
		FilterKeys: []string{r.JobID, r.ServiceName}, Payload: &structs.EventPayload{Service: r}}, true
}

// variableEvent carries a variable's metadata only: its items, even
// encrypted, never leave the state store through events.
func variableEvent(c changeObjects) (structs.Event, bool) {
	v, _ := c.after.(*structs.VariableEncrypted)
	if v == nil {
		gone, ok := c.before.(*structs.VariableEncrypted)
		if !ok {
			return structs.Event{}, false
		}
		return structs.Event{Topic: structs.TopicVariables, Type: structs.TypeVariableDeleted, Key: gone.Path, Namespace: gone.Namespace,
			Payload: &structs.EventPayload{Variable: gone.Metadata()}}, true
	}
	return structs.Event{Topic: structs.TopicVariables, Key: v.Path, Namespace: v.Namespace,
		Payload: &structs.EventPayload{Variable: v.Metadata()}}, true
}

// nodePoolEvent is NodePoolUpserted for a pool written (by a user, or by a
// node registering in a new pool) and NodePoolDeleted for one deleted.
func nodePoolEvent(c changeObjects) (structs.Event, bool) {
	if p, ok := c.after.(*structs.NodePool); ok {
		return structs.Event{Topic: structs.TopicNodePool, Type: structs.TypeNodePoolUpserted, Key: p.Name,
			Payload: &structs.EventPayload{NodePool: p}}, true
	}
	gone, ok := c.before.(*structs.NodePool)
	if !ok {
		return structs.Event{}, false
	}
	return structs.Event{Topic: structs.TopicNodePool, Type: structs.TypeNodePoolDeleted, Key: gone.Name,
		Payload: &structs.EventPayload{NodePool: gone}}, true
}
