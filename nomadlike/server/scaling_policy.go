package server

import (
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// assignScalingPolicyIDs gives every group scaling policy of job an ID
// before the job goes through Raft (the FSM must not generate IDs): a group
// whose policy already exists in the current version existing keeps that
// policy's ID, as Nomad does; any other policy gets a new one, whatever ID
// the request carried, so that IDs stay unique across jobs. Horizontal
// policies also get their target (namespace, job, group) refreshed.
func assignScalingPolicyIDs(job, existing *structs.Job) {
	old := map[string]string{}
	if existing != nil {
		for _, g := range existing.TaskGroups {
			if g.Scaling != nil && g.Scaling.ID != "" {
				old[g.Name] = g.Scaling.ID
			}
		}
	}
	for _, g := range job.TaskGroups {
		if g.Scaling == nil {
			continue
		}
		if id, ok := old[g.Name]; ok {
			g.Scaling.ID = id
		} else {
			g.Scaling.ID = structs.GenerateUUID()
		}
		if g.Scaling.Type == structs.ScalingPolicyTypeHorizontal {
			// A dispatched or periodic child targets itself, not its parent.
			g.Scaling.Target = map[string]string{
				structs.ScalingTargetNamespace: job.Namespace,
				structs.ScalingTargetJob:       job.ID,
				structs.ScalingTargetGroup:     g.Name,
			}
		}
	}
}

// JobScalingPolicies returns copies of the scaling policies of the current
// job versions jobs, in job then group order, optionally only those of the
// job named jobID (any job when ""). There is no policy table: a policy's
// CreateIndex is its job's CreateIndex and its ModifyIndex the index of the
// job's last change (JobModifyIndex).
func JobScalingPolicies(jobs []*structs.Job, jobID string) []*structs.ScalingPolicy {
	var out []*structs.ScalingPolicy
	for _, j := range jobs {
		if jobID != "" && j.ID != jobID {
			continue
		}
		for _, g := range j.TaskGroups {
			if g.Scaling == nil || g.Scaling.ID == "" {
				continue
			}
			p := g.Scaling.Copy()
			p.CreateIndex, p.ModifyIndex = j.CreateIndex, j.JobModifyIndex
			if p.ModifyIndex == 0 {
				p.ModifyIndex = j.ModifyIndex
			}
			out = append(out, p)
		}
	}
	return out
}
