package allocrunner

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/client/clientstate"
	"github.com/nomadlike/nomadlike/nomadlike/client/clienttest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// shTask is a test_exec task running script with /bin/sh.
func shTask(name, hook string, sidecar bool, script string) *structs.Task {
	t := &structs.Task{
		Name: name, Driver: clienttest.DriverName, KillTimeout: 2 * time.Second,
		Config: map[string]any{"command": "/bin/sh", "args": []any{"-c", script}},
	}
	if hook != "" {
		t.Lifecycle = &structs.TaskLifecycleConfig{Hook: hook, Sidecar: sidecar}
	}
	return t
}

// testRunner is an alloc runner over the real test driver and state DB.
type testRunner struct {
	*Runner
	alloc *structs.Allocation
	done  chan struct{}
	// cancel ends Run's ctx: a client shutdown, which leaves tasks running.
	cancel context.CancelFunc
}

// startRunner canonicalizes and validates a one-group job of tasks and runs
// its allocation; the runner is stopped with the test.
func startRunner(t *testing.T, jobType string, tasks ...*structs.Task) *testRunner {
	t.Helper()
	job := &structs.Job{ID: "lc", Type: jobType, TaskGroups: []*structs.TaskGroup{{
		Name: "g", Count: 1, Tasks: tasks,
		RestartPolicy: &structs.RestartPolicy{Attempts: 0, Mode: structs.RestartModeFail},
	}}}
	return startRunnerJob(t, job)
}

func startRunnerJob(t *testing.T, job *structs.Job) *testRunner {
	t.Helper()
	return startRunnerJobWith(t, job, nil)
}

// startRunnerJobWith is startRunnerJob with prep (optional) applied to the
// allocation first.
func startRunnerJobWith(t *testing.T, job *structs.Job, prep func(*structs.Allocation)) *testRunner {
	t.Helper()
	return startRunnerWithServices(t, job, prep, nil)
}

// startRunnerWithServices is startRunnerJobWith with sd (nil: none) as the
// runner's service discovery.
func startRunnerWithServices(t *testing.T, job *structs.Job, prep func(*structs.Allocation), sd ServiceDiscovery) *testRunner {
	t.Helper()
	job.Canonicalize()
	if err := job.Validate(); err != nil {
		t.Fatalf("test job is invalid: %v", err)
	}
	dir := t.TempDir()
	db, err := clientstate.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	alloc := &structs.Allocation{ID: "8d4f0a52-1c3e-4b7a-9f1e-2a6b3c4d5e6f", Name: "lc.g[0]", Namespace: "default",
		JobID: job.ID, TaskGroup: "g", Job: job, DesiredStatus: structs.AllocDesiredStatusRun}
	if prep != nil {
		prep(alloc)
	}
	node := &structs.Node{ID: "node-1", Name: "test-node", Datacenter: "dc1",
		Attributes: map[string]string{"kernel.name": "linux"}, Meta: map[string]string{"rack": "r7"}}
	r, err := New(Config{
		Alloc: alloc, Node: func() *structs.Node { return node }, Region: "global",
		AllocRoot: filepath.Join(dir, "alloc"), StateRoot: filepath.Join(dir, "tasks"),
		Drivers: map[string]drivers.Driver{clienttest.DriverName: clienttest.NewDriver()},
		Store:   db, Logger: slog.New(slog.DiscardHandler), Services: sd,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr := &testRunner{Runner: r, alloc: alloc, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(tr.done)
		r.Run(ctx)
	}()
	t.Cleanup(func() {
		r.Kill(nil)
		select {
		case <-tr.done:
		case <-time.After(15 * time.Second):
			t.Errorf("alloc runner did not return 15s after being killed")
		}
		cancel()
	})
	return tr
}

// wait waits for Run to return: every task dead.
func (tr *testRunner) wait(t *testing.T) *structs.Allocation {
	t.Helper()
	select {
	case <-tr.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("allocation did not finish in 20s; task states:\n%s", describe(tr.Alloc()))
	}
	return tr.Alloc()
}

func describe(a *structs.Allocation) string {
	var b strings.Builder
	for name, s := range a.TaskStates {
		b.WriteString(name + ": " + s.State)
		for _, e := range s.Events {
			b.WriteString(" | " + e.Type + ": " + e.DisplayMessage)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// eventTime returns the time of the task's first event of type typ.
func eventTime(t *testing.T, a *structs.Allocation, task, typ string) int64 {
	t.Helper()
	for _, e := range a.TaskStates[task].Events {
		if e.Type == typ {
			return e.Time
		}
	}
	t.Fatalf("task %s has no %q event; states:\n%s", task, typ, describe(a))
	return 0
}

func hasEvent(a *structs.Allocation, task, typ, msgPart string) bool {
	for _, e := range a.TaskStates[task].Events {
		if e.Type == typ && strings.Contains(e.DisplayMessage, msgPart) {
			return true
		}
	}
	return false
}

func readLog(t *testing.T, r *Runner, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.Dir().LogDir(), name+".0"))
	if err != nil {
		t.Fatalf("read log %s: %v", name, err)
	}
	return string(b)
}

func TestLifecycleOrder(t *testing.T) {
	r := startRunner(t, structs.JobTypeBatch,
		shTask("cleanup", "poststop", false, `echo cleanup >> "$NOMAD_ALLOC_DIR/data/order"`),
		shTask("main", "", false, `echo main >> "$NOMAD_ALLOC_DIR/data/order"; cat "$NOMAD_ALLOC_DIR/data/init.txt"; sleep 0.2`),
		shTask("warm", "poststart", false, `echo warm >> "$NOMAD_ALLOC_DIR/data/order"`),
		shTask("proxy", "prestart", true, `exec sleep 60`),
		shTask("init", "prestart", false, `echo from-init > "$NOMAD_ALLOC_DIR/data/init.txt"`),
	)
	a := r.wait(t)
	if a.ClientStatus != structs.AllocClientStatusComplete {
		t.Fatalf("got client status %s, want complete; states:\n%s", a.ClientStatus, describe(a))
	}
	started := func(task string) int64 { return eventTime(t, a, task, structs.TaskStarted) }
	finished := func(task string) int64 { return a.TaskStates[task].FinishedAt.UnixNano() }
	for _, c := range []struct {
		what        string
		before, not int64
	}{
		{"init finishes before main starts", finished("init"), started("main")},
		{"proxy (sidecar) starts before main", started("proxy"), started("main")},
		{"main starts before warm (poststart)", started("main"), started("warm")},
		{"main finishes before cleanup (poststop) starts", finished("main"), started("cleanup")},
		{"proxy is stopped before cleanup starts", finished("proxy"), started("cleanup")},
		{"warm finishes before cleanup starts", finished("warm"), started("cleanup")},
	} {
		if c.before > c.not {
			t.Errorf("%s: got %d > %d", c.what, c.before, c.not)
		}
	}
	if !hasEvent(a, "proxy", structs.TaskMainDead, "Main tasks in the group died") {
		t.Errorf("sidecar proxy was not stopped for the main tasks' exit; states:\n%s", describe(a))
	}
	for name, s := range a.TaskStates {
		if s.State != structs.TaskStateDead || s.Failed {
			t.Errorf("task %s: got state %s failed=%v, want dead and not failed", name, s.State, s.Failed)
		}
		if s.Restarts != 0 {
			t.Errorf("task %s: got %d restarts, want none (ephemeral lifecycle tasks complete on success)", name, s.Restarts)
		}
	}
	if out := readLog(t, r.Runner, "main.stdout"); !strings.Contains(out, "from-init") {
		t.Errorf("main's stdout %q lacks what init wrote", out)
	}
	order, err := os.ReadFile(filepath.Join(r.Dir().SharedDir(), "data", "order"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Fields(string(order)); lines[0] != "main" || lines[len(lines)-1] != "cleanup" {
		t.Errorf("got run order %v, want main first and cleanup last", lines)
	}
}

// A service job's ephemeral prestart task completes on exit 0 instead of
// being restarted as a service task would be.
func TestLifecyclePrestartCompletesInServiceJob(t *testing.T) {
	r := startRunner(t, structs.JobTypeService,
		shTask("init", "prestart", false, `true`),
		shTask("main", "", false, `exec sleep 60`),
	)
	clienttest.WaitFor(t, 15*time.Second, "main to run after init completed", func() bool {
		a := r.Alloc()
		return a.TaskStates["main"].State == structs.TaskStateRunning
	})
	a := r.Alloc()
	if s := a.TaskStates["init"]; s.State != structs.TaskStateDead || s.Failed || s.Restarts != 0 {
		t.Errorf("init: got state %s failed=%v restarts=%d, want dead, not failed, no restarts", s.State, s.Failed, s.Restarts)
	}
	if a.ClientStatus != structs.AllocClientStatusRunning {
		t.Errorf("got client status %s, want running", a.ClientStatus)
	}
}

func TestLifecyclePrestartFailureFailsAlloc(t *testing.T) {
	r := startRunner(t, structs.JobTypeService,
		shTask("init", "prestart", false, `echo cannot reach the database >&2; exit 3`),
		shTask("main", "", false, `echo main ran > "$NOMAD_ALLOC_DIR/data/main"; exec sleep 60`),
		shTask("warm", "poststart", false, `true`),
		shTask("cleanup", "poststop", false, `echo cleaned > "$NOMAD_ALLOC_DIR/data/cleanup"`),
	)
	a := r.wait(t)
	if a.ClientStatus != structs.AllocClientStatusFailed {
		t.Errorf("got client status %s, want failed; states:\n%s", a.ClientStatus, describe(a))
	}
	for _, task := range []string{"main", "warm"} {
		if !hasEvent(a, task, structs.TaskSiblingFailed, `Task not started: prestart task "init" failed`) {
			t.Errorf("task %s lacks the \"Task not started\" event; states:\n%s", task, describe(a))
		}
		if !a.TaskStates[task].StartedAt.IsZero() {
			t.Errorf("task %s was started, want never started", task)
		}
	}
	if _, err := os.Stat(filepath.Join(r.Dir().SharedDir(), "data", "main")); err == nil {
		t.Errorf("main ran although its prestart task failed")
	}
	if b, err := os.ReadFile(filepath.Join(r.Dir().SharedDir(), "data", "cleanup")); err != nil || string(b) != "cleaned\n" {
		t.Errorf("poststop did not run after the failure: %q, %v", b, err)
	}
}

func TestLifecycleStopRunsPoststop(t *testing.T) {
	r := startRunner(t, structs.JobTypeService,
		shTask("main", "", false, `exec sleep 60`),
		shTask("side", "poststart", true, `exec sleep 60`),
		shTask("cleanup", "poststop", false, `echo cleaned after stop >> "$NOMAD_ALLOC_DIR/data/cleanup"`),
	)
	clienttest.WaitFor(t, 15*time.Second, "main and its poststart sidecar to run", func() bool {
		a := r.Alloc()
		return a.TaskStates["main"].State == structs.TaskStateRunning && a.TaskStates["side"].State == structs.TaskStateRunning
	})
	if s := r.Alloc().TaskStates["cleanup"]; s.State != structs.TaskStatePending {
		t.Fatalf("poststop task is %s while main runs, want pending", s.State)
	}
	stop := r.alloc.Copy()
	stop.DesiredStatus = structs.AllocDesiredStatusStop
	r.Update(stop)
	a := r.wait(t)
	if a.ClientStatus != structs.AllocClientStatusComplete {
		t.Errorf("got client status %s, want complete; states:\n%s", a.ClientStatus, describe(a))
	}
	if b, err := os.ReadFile(filepath.Join(r.Dir().SharedDir(), "data", "cleanup")); err != nil || string(b) != "cleaned after stop\n" {
		t.Errorf("poststop did not run once after the stop: %q, %v", b, err)
	}
	if got, want := eventTime(t, a, "cleanup", structs.TaskStarted), a.TaskStates["main"].FinishedAt.UnixNano(); got < want {
		t.Errorf("cleanup started at %d, before main was dead at %d", got, want)
	}
}
