package allocrunner

import (
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestJudgeHealth(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	u := &structs.UpdateStrategy{MaxParallel: 1, MinHealthyTime: 10 * time.Second, HealthyDeadline: time.Minute}
	main := &structs.Task{Name: "web"}
	pre := &structs.Task{Name: "init", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.TaskLifecycleHookPrestart}}
	post := &structs.Task{Name: "cleanup", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.TaskLifecycleHookPoststop}}
	running := func(at time.Time) *structs.TaskState {
		return &structs.TaskState{State: structs.TaskStateRunning, StartedAt: at}
	}
	pending := &structs.TaskState{State: structs.TaskStatePending}
	done := &structs.TaskState{State: structs.TaskStateDead, StartedAt: t0, FinishedAt: t0.Add(time.Second)}
	failed := &structs.TaskState{State: structs.TaskStateDead, Failed: true, StartedAt: t0}
	cases := []struct {
		name    string
		group   []*structs.Task
		states  map[string]*structs.TaskState
		now     time.Time
		decided bool
		healthy bool
		next    time.Time
		event   string // task: message part
	}{
		{name: "pending waits for the deadline", group: []*structs.Task{main},
			states: map[string]*structs.TaskState{"web": pending}, now: t0.Add(time.Second), next: t0.Add(time.Minute)},
		{name: "running waits for min_healthy_time", group: []*structs.Task{main},
			states: map[string]*structs.TaskState{"web": running(t0.Add(2 * time.Second))}, now: t0.Add(5 * time.Second),
			next: t0.Add(12 * time.Second)},
		{name: "running for min_healthy_time is healthy", group: []*structs.Task{main},
			states: map[string]*structs.TaskState{"web": running(t0.Add(2 * time.Second))}, now: t0.Add(12 * time.Second),
			decided: true, healthy: true},
		{name: "a restart counts from the new start", group: []*structs.Task{main},
			states: map[string]*structs.TaskState{"web": {State: structs.TaskStateRunning, StartedAt: t0.Add(8 * time.Second), Restarts: 1}},
			now:    t0.Add(12 * time.Second), next: t0.Add(18 * time.Second)},
		{name: "failed task is unhealthy at once", group: []*structs.Task{main},
			states: map[string]*structs.TaskState{"web": failed}, now: t0.Add(time.Second), decided: true,
			event: "web: failed task"},
		{name: "a main task that completes is unhealthy", group: []*structs.Task{main},
			states: map[string]*structs.TaskState{"web": done}, now: t0.Add(time.Second), decided: true,
			event: "web: dead task"},
		{name: "deadline passes", group: []*structs.Task{main},
			states: map[string]*structs.TaskState{"web": pending}, now: t0.Add(time.Minute), decided: true,
			event: "web: Task not running for min_healthy_time of 10s by healthy_deadline of 1m0s"},
		{name: "min_healthy_time ending after the deadline cannot be healthy", group: []*structs.Task{main},
			states: map[string]*structs.TaskState{"web": running(t0.Add(55 * time.Second))}, now: t0.Add(58 * time.Second),
			next: t0.Add(time.Minute)},
		{name: "prestart done and poststop pending do not count", group: []*structs.Task{pre, main, post},
			states: map[string]*structs.TaskState{"init": done, "web": running(t0.Add(2 * time.Second)), "cleanup": pending},
			now:    t0.Add(20 * time.Second), decided: true, healthy: true},
		{name: "prestart still running", group: []*structs.Task{pre, main, post},
			states: map[string]*structs.TaskState{"init": running(t0), "web": pending}, now: t0.Add(20 * time.Second),
			next: t0.Add(time.Minute)},
		{name: "prestart failed", group: []*structs.Task{pre, main},
			states: map[string]*structs.TaskState{"init": failed, "web": pending}, now: t0.Add(time.Second), decided: true,
			event: "init: failed task"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := judgeHealth(c.group, c.states, "", u, t0, c.now)
			if v.Decided != c.decided || v.Healthy != c.healthy || !v.Next.Equal(c.next) {
				t.Fatalf("verdict = %+v, want decided=%v healthy=%v next=%v", v, c.decided, c.healthy, c.next)
			}
			if c.event != "" {
				task, msg, _ := strings.Cut(c.event, ": ")
				if !strings.Contains(v.Events[task], msg) {
					t.Fatalf("events = %v, want %q for task %s", v.Events, msg, task)
				}
			}
		})
	}
}

func TestHealthStrategy(t *testing.T) {
	job := func(u *structs.UpdateStrategy) *structs.Job {
		return &structs.Job{ID: "j", TaskGroups: []*structs.TaskGroup{{Name: "g", Update: u}}}
	}
	rolling := &structs.UpdateStrategy{MaxParallel: 1, HealthCheck: structs.UpdateStrategyHealthCheckChecks}
	manual := &structs.UpdateStrategy{MaxParallel: 1, HealthCheck: structs.UpdateStrategyHealthCheckManual}
	yes := true
	cases := []struct {
		name  string
		alloc *structs.Allocation
		want  bool
	}{
		{"no deployment", &structs.Allocation{TaskGroup: "g", Job: job(rolling)}, false},
		{"rolling checks", &structs.Allocation{TaskGroup: "g", DeploymentID: "d", Job: job(rolling)}, true},
		{"manual", &structs.Allocation{TaskGroup: "g", DeploymentID: "d", Job: job(manual)}, false},
		{"no update block", &structs.Allocation{TaskGroup: "g", DeploymentID: "d", Job: job(nil)}, false},
		{"already decided", &structs.Allocation{TaskGroup: "g", DeploymentID: "d", Job: job(rolling),
			DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: &yes}}, false},
	}
	for _, c := range cases {
		if got := healthStrategy(c.alloc) != nil; got != c.want {
			t.Errorf("%s: healthStrategy != nil is %v, want %v", c.name, got, c.want)
		}
	}
}

func TestKeepHealth(t *testing.T) {
	yes := true
	old := &structs.Allocation{DeploymentID: "d1", DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: &yes}}
	n := &structs.Allocation{DeploymentID: "d1", DeploymentStatus: &structs.AllocDeploymentStatus{Canary: true}}
	keepHealth(old, n)
	if !n.DeploymentStatus.IsHealthy() || !n.DeploymentStatus.Canary {
		t.Fatalf("server copy lost the client's verdict or the canary flag: %+v", n.DeploymentStatus)
	}
	moved := &structs.Allocation{DeploymentID: "d2"}
	keepHealth(old, moved)
	if moved.DeploymentStatus.HasHealth() {
		t.Fatalf("a verdict for deployment d1 was carried to d2")
	}
}

// deploymentJob is a one-task service job of a deployment with the given
// min_healthy_time and healthy_deadline.
func deploymentJob(script string, minHealthy, deadline time.Duration) *structs.Job {
	return &structs.Job{ID: "lc", Type: structs.JobTypeService, TaskGroups: []*structs.TaskGroup{{
		Name: "g", Count: 1, Tasks: []*structs.Task{shTask("web", "", false, script)},
		RestartPolicy: &structs.RestartPolicy{Attempts: 0, Mode: structs.RestartModeFail},
		Update: &structs.UpdateStrategy{MaxParallel: 1, HealthCheck: structs.UpdateStrategyHealthCheckTaskStates,
			MinHealthyTime: minHealthy, HealthyDeadline: deadline, ProgressDeadline: deadline},
	}}}
}

// waitHealth waits until the runner decides the allocation's health.
func waitHealth(t *testing.T, r *Runner) *structs.Allocation {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if a := r.Alloc(); a.DeploymentStatus.HasHealth() {
			return a
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("health not decided in 20s; task states:\n%s", describe(r.Alloc()))
	return nil
}

func TestRunnerReportsHealthy(t *testing.T) {
	tr := startRunnerJobWith(t, deploymentJob("sleep 30", 300*time.Millisecond, 10*time.Second), inDeployment)
	a := waitHealth(t, tr.Runner)
	if !a.DeploymentStatus.IsHealthy() {
		t.Fatalf("healthy = false, want true; states:\n%s", describe(a))
	}
	started := eventTime(t, a, "web", structs.TaskStarted)
	if got := a.DeploymentStatus.Timestamp.UnixNano() - started; got < int64(300*time.Millisecond) {
		t.Fatalf("healthy %v after start, before min_healthy_time of 300ms", time.Duration(got))
	}
}

func TestRunnerReportsUnhealthyOnFailure(t *testing.T) {
	tr := startRunnerJobWith(t, deploymentJob("echo boom >&2; exit 1", time.Second, 10*time.Second), inDeployment)
	a := waitHealth(t, tr.Runner)
	if !a.DeploymentStatus.IsUnhealthy() {
		t.Fatalf("healthy = true, want false; states:\n%s", describe(a))
	}
	a = tr.wait(t)
	if !hasEvent(a, "web", TaskAllocUnhealthy, "failed task") {
		t.Fatalf("no %q event; states:\n%s", TaskAllocUnhealthy, describe(a))
	}
}

func TestRunnerReportsUnhealthyAtDeadline(t *testing.T) {
	// Restarted every 100ms, the task never stays up for min_healthy_time.
	job := deploymentJob("sleep 0.1; exit 1", 2*time.Second, 1500*time.Millisecond)
	job.TaskGroups[0].Update.MinHealthyTime = time.Second
	job.TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Attempts: 100, Interval: time.Hour, Delay: 50 * time.Millisecond, Mode: structs.RestartModeFail}
	tr := startRunnerJobWith(t, job, inDeployment)
	a := waitHealth(t, tr.Runner)
	if !a.DeploymentStatus.IsUnhealthy() {
		t.Fatalf("healthy = true, want false; states:\n%s", describe(a))
	}
	deadline := time.Now().Add(5 * time.Second)
	for !hasEvent(a, "web", TaskAllocUnhealthy, "by healthy_deadline of 1.5s") {
		if time.Now().After(deadline) {
			t.Fatalf("no deadline event; states:\n%s", describe(a))
		}
		time.Sleep(20 * time.Millisecond)
		a = tr.Alloc()
	}
}

func inDeployment(a *structs.Allocation) { a.DeploymentID = "dep-1" }

// A client restarted after deciding restores the verdict from its state
// and does not decide again, even when the task fails afterwards.
func TestRunnerKeepsRestoredHealth(t *testing.T) {
	yes := true
	decided := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := startRunnerJobWith(t, deploymentJob("exit 1", 100*time.Millisecond, 10*time.Second), func(a *structs.Allocation) {
		a.DeploymentID = "dep-1"
		a.DeploymentStatus = &structs.AllocDeploymentStatus{Healthy: &yes, Timestamp: decided}
	})
	a := tr.wait(t)
	if !a.DeploymentStatus.IsHealthy() || !a.DeploymentStatus.Timestamp.Equal(decided) {
		t.Fatalf("restored verdict changed: %+v", a.DeploymentStatus)
	}
	if hasEvent(a, "web", TaskAllocUnhealthy, "") {
		t.Fatalf("an %q event was added to a decided allocation:\n%s", TaskAllocUnhealthy, describe(a))
	}
}

// A newer server copy of the allocation without the verdict (the report
// is on its way) does not erase it.
func TestRunnerUpdateKeepsHealth(t *testing.T) {
	tr := startRunnerJobWith(t, deploymentJob("sleep 30", 100*time.Millisecond, 10*time.Second), inDeployment)
	waitHealth(t, tr.Runner)
	srv := tr.alloc.Copy()
	srv.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	tr.Update(srv)
	if a := tr.Alloc(); !a.DeploymentStatus.IsHealthy() || !a.DeploymentStatus.Canary {
		t.Fatalf("after a server update: %+v, want healthy and canary", a.DeploymentStatus)
	}
}
