package schedtest

import (
	"github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// UpsertDeployment adds or replaces a deployment (no merging: tests set
// the counters they need).
func (s *State) UpsertDeployment(d *structs.Deployment) {
	idx := s.next()
	if old, ok := s.deps[d.ID]; ok {
		d.CreateIndex = old.CreateIndex
	} else {
		d.CreateIndex = idx
	}
	d.ModifyIndex = idx
	s.deps[d.ID] = d
}

// DeploymentByID returns the deployment or nil.
func (s *State) DeploymentByID(id string) *structs.Deployment { return s.deps[id] }

// LatestDeploymentByJobID implements scheduler.State.
func (s *State) LatestDeploymentByJobID(_ memdb.WatchSet, namespace, jobID string) (*structs.Deployment, error) {
	var latest *structs.Deployment
	for _, d := range s.deps {
		if d.Namespace != namespace || d.JobID != jobID {
			continue
		}
		if latest == nil || d.CreateIndex > latest.CreateIndex {
			latest = d
		}
	}
	return latest, nil
}

// applyDeployment stores a plan's deployment (a new one as is; an existing
// one keeps its counters and gains missing groups) and status updates.
func (s *State) applyDeployment(d *structs.Deployment, updates []*structs.DeploymentStatusUpdate) {
	if d != nil {
		if old, ok := s.deps[d.ID]; ok {
			n := old.Copy()
			for name, g := range d.TaskGroups {
				if _, ok := n.TaskGroups[name]; !ok {
					n.TaskGroups[name] = g.Copy()
				}
			}
			s.UpsertDeployment(n)
		} else {
			s.UpsertDeployment(d.Copy())
		}
	}
	for _, u := range updates {
		old, ok := s.deps[u.DeploymentID]
		if !ok {
			continue
		}
		n := old.Copy()
		n.Status, n.StatusDescription = u.Status, u.StatusDescription
		s.UpsertDeployment(n)
	}
}
