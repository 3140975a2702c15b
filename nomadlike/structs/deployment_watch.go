package structs

// EvalTriggerDeploymentWatcher marks an evaluation created by the deployment
// watcher or a deployment endpoint (promote, resume, fail, allocation health)
// so the scheduler continues (or stops) a rollout, as Nomad names it.
const EvalTriggerDeploymentWatcher = "deployment-watcher"

// GroupDone reports whether the group's rollout is complete: its canaries
// (if any) are promoted and at least DesiredTotal allocations are healthy.
func (s *DeploymentState) GroupDone() bool {
	if s == nil {
		return true
	}
	if s.DesiredCanaries > 0 && !s.Promoted {
		return false
	}
	return s.HealthyAllocs >= s.DesiredTotal
}

// Done reports whether every group of the deployment is complete.
func (d *Deployment) Done() bool {
	for _, s := range d.TaskGroups {
		if !s.GroupDone() {
			return false
		}
	}
	return true
}
