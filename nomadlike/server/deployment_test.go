package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// rollingMockJob is mockJob with a job-level update block.
func rollingMockJob(id string, count int, u *structs.UpdateStrategy) *structs.Job {
	j := mockJob(id, count, 100, 64)
	j.Update = u
	return j
}

// withArg returns a copy of j whose task runs with a different argument
// (a destructive change).
func withArg(j *structs.Job, arg string) *structs.Job {
	n := j.Copy()
	n.TaskGroups[0].Tasks[0].Config = map[string]any{"command": "/bin/sleep", "args": []any{arg}}
	return n
}

// reportHealth sends the client's health verdict on allocs of node.
func reportHealth(t *testing.T, s *Server, node *structs.Node, healthy bool, allocs ...*structs.Allocation) {
	t.Helper()
	var updates []*structs.Allocation
	for _, a := range allocs {
		h := healthy
		updates = append(updates, &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning,
			DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: &h, Timestamp: time.Now()}})
	}
	if _, err := s.UpdateAllocsFromClient(context.Background(), node.ID, node.SecretID, updates); err != nil {
		t.Fatalf("UpdateAllocsFromClient: %v", err)
	}
}

// waitDeployment waits until the job's deployment of version satisfies cond.
func waitDeployment(t *testing.T, s *Server, jobID string, version uint64, what string, cond func(d *structs.Deployment) bool) *structs.Deployment {
	t.Helper()
	var got *structs.Deployment
	waitFor(t, 15*time.Second, what, func() (bool, string) {
		ds, err := s.state.DeploymentsByJobID(nil, structs.DefaultNamespace, jobID)
		if err != nil {
			return false, err.Error()
		}
		for _, d := range ds {
			if d.JobVersion == version {
				got = d
				return cond(d), fmt.Sprintf("deployment %s: %s (%s) %+v", structs.ShortID(d.ID), d.Status, d.StatusDescription, d.TaskGroups)
			}
		}
		return false, fmt.Sprintf("no deployment of version %d among %d", version, len(ds))
	})
	return got
}

// healthAllUnreported reports healthy every live allocation of the job's
// version that has no verdict yet, and returns how many it reported.
func healthAllUnreported(t *testing.T, s *Server, node *structs.Node, jobID string, version uint64) int {
	t.Helper()
	var todo []*structs.Allocation
	for _, a := range liveAllocs(t, s, jobID) {
		if a.Job.Version == version && a.DeploymentID != "" && !a.DeploymentStatus.HasHealth() {
			todo = append(todo, a)
		}
	}
	if len(todo) > 0 {
		reportHealth(t, s, node, true, todo...)
	}
	return len(todo)
}

// deployFirstVersion registers job, reports its allocations healthy and
// waits until version 0 is deployed and stable.
func deployFirstVersion(t *testing.T, s *Server, node *structs.Node, job *structs.Job) {
	t.Helper()
	registerJob(t, s, job)
	allocs := waitLiveAllocs(t, s, job.ID, job.TaskGroups[0].Count)
	reportHealth(t, s, node, true, allocs...)
	waitDeployment(t, s, job.ID, 0, "first deployment successful", func(d *structs.Deployment) bool {
		return d.Status == structs.DeploymentStatusSuccessful
	})
	waitFor(t, 5*time.Second, "version 0 stable", func() (bool, string) {
		v, _ := s.state.JobByIDAndVersion(nil, structs.DefaultNamespace, job.ID, 0)
		return v != nil && v.Stable, "not stable"
	})
}

func TestDeploymentHealthyBecomesSuccessfulAndStable(t *testing.T) {
	s := newTestServer(t, nil)
	node := mockNode("n1")
	registerNode(t, s, node)
	job := rollingMockJob("web", 2, &structs.UpdateStrategy{MaxParallel: 1})
	deployFirstVersion(t, s, node, job)
	d, _ := s.state.LatestDeploymentByJobID(nil, structs.DefaultNamespace, "web")
	if g := d.TaskGroups["web"]; g.HealthyAllocs != 2 || g.PlacedAllocs != 2 || d.StatusDescription != structs.DeploymentStatusDescriptionSuccessful {
		t.Fatalf("deployment %+v (%s)", g, d.StatusDescription)
	}
}

func TestDeploymentRollsOneAtATimeAndAutoRevertsOnUnhealthy(t *testing.T) {
	s := newTestServer(t, nil)
	node := mockNode("n1")
	registerNode(t, s, node)
	v0 := rollingMockJob("web", 3, &structs.UpdateStrategy{MaxParallel: 1, AutoRevert: true})
	deployFirstVersion(t, s, node, v0)

	registerJob(t, s, withArg(v0, "v1"))
	// One new allocation; the rest waits for it to be healthy.
	var first *structs.Allocation
	waitFor(t, 10*time.Second, "first new-version alloc", func() (bool, string) {
		n := 0
		for _, a := range liveAllocs(t, s, "web") {
			if a.Job.Version == 1 {
				first = a
				n++
			}
		}
		return n == 1, fmt.Sprintf("%d new", n)
	})
	reportHealth(t, s, node, true, first)
	var second *structs.Allocation
	waitFor(t, 10*time.Second, "second new-version alloc after the first is healthy", func() (bool, string) {
		for _, a := range liveAllocs(t, s, "web") {
			if a.Job.Version == 1 && a.ID != first.ID {
				second = a
				return true, ""
			}
		}
		return false, "only one"
	})
	reportHealth(t, s, node, false, second)
	d := waitDeployment(t, s, "web", 1, "failed with rollback", func(d *structs.Deployment) bool {
		return d.Status == structs.DeploymentStatusFailed
	})
	want := structs.DeploymentStatusDescriptionRollback(structs.DeploymentStatusDescriptionFailedAllocations, 0)
	if d.StatusDescription != want {
		t.Fatalf("description %q, want %q", d.StatusDescription, want)
	}
	cur, _ := s.state.JobByID(nil, structs.DefaultNamespace, "web")
	if cur.Version != 2 || cur.TaskGroups[0].Tasks[0].Config["args"].([]any)[0] != "1000" {
		t.Fatalf("current job version %d config %v, want version 2 with version 0's spec", cur.Version, cur.TaskGroups[0].Tasks[0].Config)
	}
	// The reverted version gets its own deployment.
	waitDeployment(t, s, "web", 2, "deployment of the reverted version", func(*structs.Deployment) bool { return true })
}

func TestDeploymentProgressDeadline(t *testing.T) {
	s := newTestServer(t, nil)
	node := mockNode("n1")
	registerNode(t, s, node)
	job := rollingMockJob("web", 1, &structs.UpdateStrategy{MaxParallel: 1, MinHealthyTime: 10 * time.Millisecond,
		HealthyDeadline: 200 * time.Millisecond, ProgressDeadline: 300 * time.Millisecond})
	registerJob(t, s, job)
	waitLiveAllocs(t, s, "web", 1)
	d := waitDeployment(t, s, "web", 0, "failed on the progress deadline", func(d *structs.Deployment) bool {
		return d.Status == structs.DeploymentStatusFailed
	})
	if d.StatusDescription != structs.DeploymentStatusDescriptionProgressDeadline {
		t.Fatalf("description %q", d.StatusDescription)
	}
}

func TestDeploymentCanaryAutoPromote(t *testing.T) {
	s := newTestServer(t, nil)
	node := mockNode("n1")
	registerNode(t, s, node)
	v0 := rollingMockJob("web", 2, &structs.UpdateStrategy{MaxParallel: 1})
	deployFirstVersion(t, s, node, v0)

	v1 := withArg(v0, "v1")
	v1.Update = &structs.UpdateStrategy{MaxParallel: 1, Canary: 1, AutoPromote: true}
	registerJob(t, s, v1)
	d := waitDeployment(t, s, "web", 1, "canary placed", func(d *structs.Deployment) bool {
		return len(d.TaskGroups["web"].PlacedCanaries) == 1
	})
	if d.StatusDescription != structs.DeploymentStatusDescriptionRunningAutoPromotion {
		t.Fatalf("description %q", d.StatusDescription)
	}
	if got := len(liveAllocs(t, s, "web")); got != 3 {
		t.Fatalf("%d live allocs with the canary, want 2 old + 1 canary", got)
	}
	waitFor(t, 20*time.Second, "rollout after automatic promotion", func() (bool, string) {
		healthAllUnreported(t, s, node, "web", 1)
		d, _ := s.state.DeploymentByID(nil, d.ID)
		return d.Status == structs.DeploymentStatusSuccessful, fmt.Sprintf("%s (%s) %+v", d.Status, d.StatusDescription, d.TaskGroups["web"])
	})
	d, _ = s.state.DeploymentByID(nil, d.ID)
	if !d.TaskGroups["web"].Promoted {
		t.Fatal("not promoted")
	}
	live := liveAllocs(t, s, "web")
	if len(live) != 2 {
		t.Fatalf("%d live allocs at the end, want 2", len(live))
	}
	for _, a := range live {
		if a.Job.Version != 1 {
			t.Fatalf("alloc %s still runs version %d", a.Name, a.Job.Version)
		}
	}
}

func TestDeploymentEndpoints(t *testing.T) {
	s := newTestServer(t, nil)
	ctx := context.Background()
	node := mockNode("n1")
	registerNode(t, s, node)
	v0 := rollingMockJob("web", 2, &structs.UpdateStrategy{MaxParallel: 1, AutoRevert: true})
	deployFirstVersion(t, s, node, v0)
	v1 := withArg(v0, "v1")
	v1.Update = &structs.UpdateStrategy{MaxParallel: 1, Canary: 1, AutoRevert: true}
	registerJob(t, s, v1)
	d := waitDeployment(t, s, "web", 1, "canary placed", func(d *structs.Deployment) bool {
		return len(d.TaskGroups["web"].PlacedCanaries) == 1
	})

	is := func(err error, code int) bool {
		var ce *structs.CodedError
		return errors.As(err, &ce) && ce.Code == code
	}
	if _, err := s.PromoteDeployment(ctx, &structs.DeploymentPromoteRequest{DeploymentID: "nope", All: true}); !errors.Is(err, structs.ErrNotFound) {
		t.Fatalf("promote unknown: %v, want ErrNotFound", err)
	}
	if _, err := s.PromoteDeployment(ctx, &structs.DeploymentPromoteRequest{DeploymentID: d.ID, All: true}); !is(err, http.StatusBadRequest) {
		t.Fatalf("promote with an unhealthy canary: %v, want 400", err)
	}
	if _, err := s.SetDeploymentAllocHealth(ctx, &structs.DeploymentAllocHealthRequest{DeploymentID: d.ID, HealthyAllocationIDs: []string{"nope"}}); !is(err, http.StatusBadRequest) {
		t.Fatalf("health of a foreign alloc: %v, want 400", err)
	}
	// Pause, resume.
	if _, err := s.PauseDeployment(ctx, &structs.DeploymentPauseRequest{DeploymentID: d.ID, Pause: true}); err != nil {
		t.Fatalf("pause: %v", err)
	}
	if cur, _ := s.state.DeploymentByID(nil, d.ID); cur.Status != structs.DeploymentStatusPaused {
		t.Fatalf("status %s after pause", cur.Status)
	}
	resp, err := s.PauseDeployment(ctx, &structs.DeploymentPauseRequest{DeploymentID: d.ID})
	if err != nil || resp.EvalID == "" {
		t.Fatalf("resume: %v %+v, want an eval", err, resp)
	}
	cur, _ := s.state.DeploymentByID(nil, d.ID)
	if cur.Status != structs.DeploymentStatusRunning || cur.StatusDescription != structs.DeploymentStatusDescriptionRunningNeedsPromotion {
		t.Fatalf("after resume %s (%s)", cur.Status, cur.StatusDescription)
	}
	// Mark the canary healthy by hand and promote.
	canary := cur.TaskGroups["web"].PlacedCanaries[0]
	if _, err := s.SetDeploymentAllocHealth(ctx, &structs.DeploymentAllocHealthRequest{DeploymentID: d.ID, HealthyAllocationIDs: []string{canary}}); err != nil {
		t.Fatalf("set health: %v", err)
	}
	if _, err := s.PromoteDeployment(ctx, &structs.DeploymentPromoteRequest{DeploymentID: d.ID, All: true}); err != nil {
		t.Fatalf("promote: %v", err)
	}
	// Fail by hand: auto-revert to version 0.
	resp, err = s.FailDeployment(ctx, &structs.DeploymentFailRequest{DeploymentID: d.ID})
	if err != nil {
		t.Fatalf("fail: %v", err)
	}
	if resp.RevertedJobVersion == nil || *resp.RevertedJobVersion != 0 {
		t.Fatalf("reverted version %v, want 0", resp.RevertedJobVersion)
	}
	cur, _ = s.state.DeploymentByID(nil, d.ID)
	if want := structs.DeploymentStatusDescriptionRollback(structs.DeploymentStatusDescriptionFailedByUser, 0); cur.StatusDescription != want {
		t.Fatalf("description %q, want %q", cur.StatusDescription, want)
	}
	if _, err := s.PauseDeployment(ctx, &structs.DeploymentPauseRequest{DeploymentID: d.ID, Pause: true}); !is(err, http.StatusBadRequest) {
		t.Fatalf("pause a failed deployment: %v, want 400", err)
	}
	// Stopping the job cancels the reverted version's deployment.
	// Nothing reports its allocations' health, so it stays active until the stop.
	d2 := waitDeployment(t, s, "web", 2, "deployment of the reverted version", func(*structs.Deployment) bool { return true })
	if !d2.Active() {
		t.Fatalf("deployment of the reverted version is %s (%s) before the stop, want active", d2.Status, d2.StatusDescription)
	}
	if _, err := s.DeregisterJob(ctx, structs.DefaultNamespace, "web", false); err != nil {
		t.Fatalf("stop job: %v", err)
	}
	cur, _ = s.state.DeploymentByID(nil, d2.ID)
	if cur.Status != structs.DeploymentStatusCancelled || cur.StatusDescription != structs.DeploymentStatusDescriptionStoppedJob {
		t.Fatalf("after job stop: %s (%s)", cur.Status, cur.StatusDescription)
	}
}

// TestWatcherRest: the deployment watcher rests 50 times its last pass
// (a pass over thousands of active deployments took ~1.5 ms and ran once
// per Raft batch, 16% of the leader's CPU with 12,000 registered service
// jobs), at most 250 ms, and not at all after a pass of a small cluster.
func TestWatcherRest(t *testing.T) {
	for _, c := range []struct{ spent, want time.Duration }{
		{10 * time.Microsecond, 0},
		{1500 * time.Microsecond, 75 * time.Millisecond},
		{time.Second, 250 * time.Millisecond},
	} {
		if got := watcherRest(c.spent); got != c.want {
			t.Errorf("watcherRest(%v) = %v, want %v", c.spent, got, c.want)
		}
	}
}
