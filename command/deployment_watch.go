package command

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// maxExplainedAllocs bounds how many unhealthy allocations a failed
// deployment's explanation details.
const maxExplainedAllocs = 3

// rollingJob reports whether a group of job updates with a deployment.
func rollingJob(job *structs.Job) bool {
	if job.Type != "" && job.Type != structs.JobTypeService {
		return false
	}
	if job.Update.Rolling() {
		return true
	}
	for _, tg := range job.TaskGroups {
		if tg.Update.Rolling() {
			return true
		}
	}
	return false
}

// registrationDeployment returns the deployment a registration created:
// the evaluation's, or the job's latest when it is of the registered
// version (jobModifyIndex). Nil when the registration made none (no
// update block, or nothing changed).
func (m *monitor) registrationDeployment(ctx context.Context, job *structs.Job, jobModifyIndex uint64, ev *structs.Evaluation) (*structs.Deployment, error) {
	if !rollingJob(job) {
		return nil, nil
	}
	q := m.q
	if ev != nil && ev.DeploymentID != "" {
		d, _, err := m.cl.Deployment(ctx, ev.DeploymentID, &q)
		if err != nil {
			return nil, fail(fmt.Sprintf("reading deployment %q", m.id(ev.DeploymentID)), err, "")
		}
		return d, nil
	}
	d, _, err := m.cl.LatestDeployment(ctx, job.ID, &q)
	if err != nil {
		return nil, fail(fmt.Sprintf("reading the latest deployment of job %q", job.ID), err, "")
	}
	if d == nil || (d.JobModifyIndex != jobModifyIndex && d.JobSpecModifyIndex != jobModifyIndex) {
		return nil, nil
	}
	return d, nil
}

// followDeployment watches d with blocking queries until it ends, printing
// its status changes and each group's progress. A successful deployment
// prints its summary and returns nil; a failed or cancelled one is
// explained (description, unhealthy allocations, their tasks, last events
// and stderr) and exits with exitFailed.
func (m *monitor) followDeployment(ctx context.Context, d *structs.Deployment) error {
	m.printf("==> %s: Monitoring deployment %q", m.stamp(), m.id(d.ID))
	lastDesc := ""
	progress := map[string]string{}
	var idx uint64
	for {
		if desc := d.Status + ": " + d.StatusDescription; desc != lastDesc {
			m.printf("    Deployment %q %s", m.id(d.ID), desc)
			lastDesc = desc
		}
		for _, name := range slices.Sorted(maps.Keys(d.TaskGroups)) {
			if p := groupProgress(d.TaskGroups[name]); p != progress[name] {
				m.printf("    Group %q: %s", name, p)
				progress[name] = p
			}
		}
		if !d.Active() {
			break
		}
		if d.ModifyIndex > idx {
			idx = d.ModifyIndex
		}
		q := m.q
		q.WaitIndex, q.WaitTime = idx, blockingWait
		next, meta, err := m.cl.Deployment(ctx, d.ID, &q)
		if err != nil {
			if ctx.Err() != nil {
				return &cliError{code: exitFailed, doing: fmt.Sprintf("following deployment %q", m.id(d.ID)), err: ctx.Err(),
					hint: fmt.Sprintf("The deployment is still %q; follow it with 'nomadlike deployment status %s'.", d.Status, m.id(d.ID))}
			}
			return fail(fmt.Sprintf("reading deployment %q", m.id(d.ID)), err, "")
		}
		if meta.LastIndex > idx {
			idx = meta.LastIndex
		}
		d = next
	}
	if d.Status == structs.DeploymentStatusSuccessful {
		m.printf("==> %s: Deployment %q successful", m.stamp(), m.id(d.ID))
		m.printf("")
		writeKV(m.out, []kv{{"ID", m.id(d.ID)}, {"Job ID", d.JobID}, {"Job Version", fmt.Sprint(d.JobVersion)},
			{"Status", d.Status}, {"Description", d.StatusDescription}})
		m.printf("\nDeployed")
		writeDeployed(m.out, d, m.now().Location())
		return nil
	}
	m.printf("==> %s: Deployment %q %s: %s", m.stamp(), m.id(d.ID), d.Status, d.StatusDescription)
	m.explainDeployment(ctx, d)
	return exitWith(exitFailed)
}

// groupProgress is one group's progress in words.
func groupProgress(s *structs.DeploymentState) string {
	p := fmt.Sprintf("%d/%d placed, %d healthy, %d unhealthy", s.PlacedAllocs, s.DesiredTotal, s.HealthyAllocs, s.UnhealthyAllocs)
	if s.DesiredCanaries > 0 {
		p += fmt.Sprintf(", %d/%d canaries", len(s.PlacedCanaries), s.DesiredCanaries)
		if s.Promoted {
			p += " (promoted)"
		}
	}
	return p
}

// explainDeployment says which allocations made d fail: the unhealthy
// ones, or, when none was found unhealthy (a progress deadline), those
// that never became healthy; for each, its tasks, their events and the end
// of their stderr.
func (m *monitor) explainDeployment(ctx context.Context, d *structs.Deployment) {
	q := m.q
	allocs, _, err := m.cl.DeploymentAllocations(ctx, d.ID, &q)
	if err != nil {
		m.printf("    Could not list the deployment's allocations: %v", err)
		return
	}
	var bad []*allocFailure
	for _, a := range allocs {
		switch {
		case a.DeploymentStatus.IsUnhealthy():
			bad = append(bad, &allocFailure{alloc: a, reason: "unhealthy" + canaryNote(a)})
		case a.ClientStatus == structs.AllocClientStatusFailed:
			bad = append(bad, &allocFailure{alloc: a, reason: "failed" + canaryNote(a) + ": " + a.ClientDescription})
		}
	}
	if len(bad) == 0 {
		for _, a := range allocs {
			if !a.DeploymentStatus.HasHealth() {
				bad = append(bad, &allocFailure{alloc: a, reason: "never became healthy" + canaryNote(a)})
			}
		}
	}
	if len(bad) == 0 {
		m.printf("    No allocation of the deployment is unhealthy; see 'nomadlike deployment status %s'", m.id(d.ID))
		return
	}
	slices.SortStableFunc(bad, func(a, b *allocFailure) int { return int(a.alloc.CreateIndex) - int(b.alloc.CreateIndex) })
	for i, f := range bad {
		if i == maxExplainedAllocs {
			m.printf("    ... and %d more allocation(s); list them with 'nomadlike deployment status %s'", len(bad)-i, m.id(d.ID))
			break
		}
		m.reportUnhealthy(ctx, f)
	}
}

func canaryNote(a *structs.AllocListStub) string {
	if a.DeploymentStatus.IsCanary() {
		return " (canary)"
	}
	return ""
}

// followRegistration follows the deployment a registration created, if
// any. ok is false when there is none: the caller then waits for the
// allocations as usual. When the -timeout flag was not set, the
// deployment's own progress deadline bounds the wait.
func (m *monitor) followRegistration(ctx, wctx context.Context, timeoutSet bool, job *structs.Job, jobModifyIndex uint64, ev *structs.Evaluation) (ok bool, err error) {
	d, err := m.registrationDeployment(wctx, job, jobModifyIndex, ev)
	if err != nil || d == nil {
		return false, err
	}
	if !timeoutSet {
		wctx = ctx
	}
	return true, m.followDeployment(wctx, d)
}
