package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestCheckReplacement(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	m := &structs.MigrateStrategy{MaxParallel: 1, HealthCheck: "task_states", MinHealthyTime: 10 * time.Second, HealthyDeadline: 5 * time.Minute}
	tg := &structs.TaskGroup{Name: "web", Tasks: []*structs.Task{
		{Name: "init", Lifecycle: &structs.TaskLifecycleConfig{Hook: "prestart"}},
		{Name: "main"},
		{Name: "side", Lifecycle: &structs.TaskLifecycleConfig{Hook: "prestart", Sidecar: true}},
	}}
	running := func(since time.Duration) *structs.TaskState {
		return &structs.TaskState{State: structs.TaskStateRunning, StartedAt: now.Add(-since)}
	}
	alloc := func(status string, created time.Duration, states map[string]*structs.TaskState) *structs.Allocation {
		return &structs.Allocation{ID: "r", TaskGroup: "web", ClientStatus: status, CreateTime: now.Add(-created).UnixNano(), TaskStates: states}
	}
	dead := &structs.TaskState{State: structs.TaskStateDead, StartedAt: now.Add(-time.Minute)}
	tests := []struct {
		name     string
		r        *structs.Allocation
		m        *structs.MigrateStrategy
		want     replacementHealth
		wantWake time.Time
	}{
		{"no migrate block: running is enough", alloc("running", time.Second, nil), nil, replacementHealthy, time.Time{}},
		{"no migrate block: pending", alloc("pending", time.Second, nil), nil, replacementPending, time.Time{}},
		{"healthy after min_healthy_time", alloc("running", time.Minute,
			map[string]*structs.TaskState{"init": dead, "main": running(11 * time.Second), "side": running(time.Minute)}), m, replacementHealthy, time.Time{}},
		{"running, not long enough", alloc("running", time.Minute,
			map[string]*structs.TaskState{"init": dead, "main": running(4 * time.Second), "side": running(time.Minute)}), m, replacementPending, now.Add(6 * time.Second)},
		{"restarted: counts from the restart", alloc("running", time.Minute,
			map[string]*structs.TaskState{"main": {State: structs.TaskStateRunning, StartedAt: now.Add(-time.Minute), LastRestart: now.Add(-2 * time.Second)}, "side": running(time.Minute)}),
			m, replacementPending, now.Add(8 * time.Second)},
		{"a sidecar that is not running", alloc("running", time.Minute,
			map[string]*structs.TaskState{"main": running(time.Minute), "side": dead}), m, replacementPending, now.Add(4 * time.Minute)},
		{"pending until the deadline", alloc("pending", time.Minute, nil), m, replacementPending, now.Add(4 * time.Minute)},
		{"past healthy_deadline", alloc("pending", 6*time.Minute, nil), m, replacementFailed, time.Time{}},
		{"would become healthy only after the deadline", alloc("running", 5*time.Minute-time.Second,
			map[string]*structs.TaskState{"main": running(time.Second), "side": running(time.Second)}), m, replacementPending, now.Add(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, wake := checkReplacement(tt.r, tg, tt.m, now)
			if got != tt.want || !wake.Equal(tt.wantWake) {
				t.Errorf("got %d wake %s, want %d wake %s", got, wake, tt.want, tt.wantWake)
			}
		})
	}
}

// runTasks marks the job's pending allocations on nodes other than skip
// running, with their task running since `since`, as a client would.
func runTasks(t testing.TB, s *Server, nodes map[string]*structs.Node, skip, jobID string, since time.Time) {
	t.Helper()
	for _, a := range liveAllocs(t, s, jobID) {
		if a.NodeID == skip || a.ClientStatus != structs.AllocClientStatusPending {
			continue
		}
		n := nodes[a.NodeID]
		u := &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning, TaskStates: map[string]*structs.TaskState{
			"server": {State: structs.TaskStateRunning, StartedAt: since},
		}}
		if _, err := s.UpdateAllocsFromClient(context.Background(), n.ID, n.SecretID, []*structs.Allocation{u}); err != nil {
			t.Fatalf("UpdateAllocsFromClient: %v", err)
		}
	}
}

// marked counts the job's allocations on node marked for migration.
func marked(t testing.TB, s *Server, jobID, nodeID string) int {
	allocs, err := s.state.AllocsByJob(nil, structs.DefaultNamespace, jobID, true)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range onNode(allocs, nodeID) {
		if a.DesiredTransition.ShouldMigrate() {
			n++
		}
	}
	return n
}

func TestDrainWaitsForHealthyReplacements(t *testing.T) {
	s := newTestServer(t, nil)
	a, b := mockNode("a"), mockNode("b")
	registerNode(t, s, a)
	nodes := map[string]*structs.Node{a.ID: a, b.ID: b}
	const minHealthy = 700 * time.Millisecond
	job := mockJob("web", 2, 100, 64)
	job.TaskGroups[0].Migrate = &structs.MigrateStrategy{MaxParallel: 1, HealthCheck: "task_states", MinHealthyTime: minHealthy, HealthyDeadline: time.Minute}
	registerJob(t, s, job)
	waitLiveAllocs(t, s, "web", 2)
	runTasks(t, s, nodes, "", "web", time.Now())
	registerNode(t, s, b)
	if _, err := s.UpdateNodeDrain(context.Background(), &structs.NodeUpdateDrainRequest{NodeID: a.ID, DrainSpec: &structs.DrainSpec{Deadline: time.Hour}}); err != nil {
		t.Fatalf("UpdateNodeDrain: %v", err)
	}
	// The first replacement is placed; it starts running now.
	waitFor(t, 10*time.Second, "the first replacement placed on b", func() (bool, string) {
		got := allocsByNode(t, s, "web")
		return got[b.ID] == 1, fmt.Sprintf("per node %v", got)
	})
	started := time.Now()
	runTasks(t, s, nodes, a.ID, "web", started)
	// Until it has run for min_healthy_time the second is not marked.
	waitFor(t, 10*time.Second, "the second allocation marked once the first replacement is healthy", func() (bool, string) {
		n := marked(t, s, "web", a.ID)
		if n == 2 && time.Since(started) < minHealthy {
			t.Fatalf("second allocation marked %s after the first replacement started, before min_healthy_time (%s)", time.Since(started), minHealthy)
		}
		return n == 2, fmt.Sprintf("%d marked", n)
	})
	waitFor(t, 10*time.Second, "drain to complete", func() (bool, string) {
		runTasks(t, s, nodes, a.ID, "web", time.Now())
		n, _ := s.state.NodeByID(nil, a.ID)
		return !n.Drain, fmt.Sprintf("per node %v", allocsByNode(t, s, "web"))
	})
	if got := allocsByNode(t, s, "web"); got[b.ID] != 2 {
		t.Errorf("web per node %v, want both on b", got)
	}
}

func TestDrainGoesOnPastHealthyDeadline(t *testing.T) {
	s := newTestServer(t, nil)
	a, b := mockNode("a"), mockNode("b")
	registerNode(t, s, a)
	job := mockJob("web", 2, 100, 64)
	job.TaskGroups[0].Migrate = &structs.MigrateStrategy{MaxParallel: 1, HealthCheck: "checks", MinHealthyTime: 100 * time.Millisecond, HealthyDeadline: 500 * time.Millisecond}
	registerJob(t, s, job)
	waitLiveAllocs(t, s, "web", 2)
	registerNode(t, s, b)
	// No client runs the replacements: they miss their healthy_deadline.
	if _, err := s.UpdateNodeDrain(context.Background(), &structs.NodeUpdateDrainRequest{NodeID: a.ID, DrainSpec: &structs.DrainSpec{Deadline: time.Hour}}); err != nil {
		t.Fatalf("UpdateNodeDrain: %v", err)
	}
	waitFor(t, 20*time.Second, "drain to complete", func() (bool, string) {
		n, _ := s.state.NodeByID(nil, a.ID)
		return !n.Drain, fmt.Sprintf("per node %v, %d marked", allocsByNode(t, s, "web"), marked(t, s, "web", a.ID))
	})
	n, _ := s.state.NodeByID(nil, a.ID)
	var failed []string
	for _, e := range n.Events {
		if strings.Contains(e.Message, "was not healthy within its healthy_deadline (500ms); counted as failed, drain continues") {
			failed = append(failed, e.Details["migrated_alloc_id"])
		}
	}
	// The first replacement's failure let the second allocation migrate;
	// the drain then completed as the node was empty, without waiting for
	// the second replacement.
	if len(failed) != 1 {
		var msgs []string
		for _, e := range n.Events {
			msgs = append(msgs, e.Message)
		}
		t.Errorf("got %d unhealthy-migration events, want 1 (the first batch's); events:\n%s", len(failed), strings.Join(msgs, "\n"))
	}
}
