package allocrunner

import (
	"path/filepath"

	"github.com/nomadlike/nomadlike/nomadlike/client/taskenv"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// boundService is one service of an allocation as the client registers and
// checks it: ${...} references (NOMAD_* variables, node attributes and
// meta) in its fields resolved against its task's environment (for a
// group service: the allocation's, with no task), as Nomad does.
type boundService struct {
	// kind is "task" or "group"; owner the task or group name.
	kind, owner string
	// task is the task of a task service ("" for a group service).
	task string
	svc  *structs.Service
}

// bindServices returns the allocation's services (the group's, then each
// task's in job order) with their fields interpolated. allocDir is the
// allocation's directory (for NOMAD_ALLOC_DIR and the like), region the
// client's.
func bindServices(alloc *structs.Allocation, node *structs.Node, allocDir, region string) []boundService {
	if alloc == nil || alloc.Job == nil {
		return nil
	}
	tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup)
	if tg == nil {
		return nil
	}
	env := func(t *structs.Task) *taskenv.Env {
		return taskenv.Build(taskenv.Input{Node: node, Alloc: alloc, Task: t, AllocDir: allocDir,
			TaskDir: filepath.Join(allocDir, t.Name), Region: region})
	}
	var out []boundService
	if len(tg.Services) > 0 {
		e := env(&structs.Task{})
		for _, s := range tg.Services {
			out = append(out, boundService{kind: "group", owner: tg.Name, svc: interpolateService(e, s)})
		}
	}
	for _, t := range tg.Tasks {
		if len(t.Services) == 0 {
			continue
		}
		e := env(t)
		for _, s := range t.Services {
			out = append(out, boundService{kind: "task", owner: t.Name, task: t.Name, svc: interpolateService(e, s)})
		}
	}
	return out
}

// interpolateService returns a copy of s with the fields Nomad interpolates
// on the client resolved by e.
func interpolateService(e *taskenv.Env, s *structs.Service) *structs.Service {
	n := s.Copy()
	n.Name = e.Replace(n.Name)
	n.PortLabel = e.Replace(n.PortLabel)
	replaceAll(e, n.Tags)
	replaceAll(e, n.CanaryTags)
	for k, v := range n.Meta {
		n.Meta[k] = e.Replace(v)
	}
	for _, c := range n.Checks {
		c.Name = e.Replace(c.Name)
		c.PortLabel = e.Replace(c.PortLabel)
		c.Path = e.Replace(c.Path)
		c.Command = e.Replace(c.Command)
		replaceAll(e, c.Args)
		c.Body = e.Replace(c.Body)
		for _, vals := range c.Header {
			replaceAll(e, vals)
		}
	}
	return n
}

func replaceAll(e *taskenv.Env, list []string) {
	for i, v := range list {
		list[i] = e.Replace(v)
	}
}

// tags returns the tags a service registers with: its canary_tags while the
// allocation is an unpromoted canary (when it has any), else its tags.
func (b boundService) tags(alloc *structs.Allocation) []string {
	if ds := alloc.DeploymentStatus; ds != nil && ds.Canary && len(b.svc.CanaryTags) > 0 {
		return b.svc.CanaryTags
	}
	return b.svc.Tags
}
