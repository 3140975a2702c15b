package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
)

// stateVersion is the encoding version of driverState in TaskHandle.DriverState.
const stateVersion = 1

// driverState is what a restarted client needs to find the supervisor again.
type driverState struct {
	StateDir string
	// Workload is what the supervisor runs, kept to clean up after a
	// supervisor that died without doing so.
	Workload      workloadConfig
	SupervisorPID int
	PID           int
	StartedAt     time.Time
}

func decodeState(h *drivers.TaskHandle) (*driverState, error) {
	if h.Version != stateVersion {
		return nil, fmt.Errorf("container handle has version %d, this driver understands %d", h.Version, stateVersion)
	}
	var st driverState
	if err := json.Unmarshal(h.DriverState, &st); err != nil {
		return nil, fmt.Errorf("decode container handle state: %w", err)
	}
	if st.StateDir == "" {
		return nil, errors.New("container handle state has no state dir")
	}
	return &st, nil
}

// task is the driver's record of one task, live or exited.
type task struct {
	id       string
	cfg      *drivers.TaskConfig
	stateDir string
	// client is nil for a task recovered after it exited.
	client    *supervisor.Client
	pid       int
	startedAt time.Time
	workload  workloadConfig
	// usage turns CPU times into rates between TaskStats calls.
	usage supervisor.CPUTracker

	// cancel stops the waiter goroutine; waiterDone is closed when it ended.
	cancel     context.CancelFunc
	waiterDone chan struct{}

	// exited is closed once result and completedAt are set.
	exited      chan struct{}
	exitOnce    sync.Once
	result      *drivers.ExitResult
	completedAt time.Time
}

func newTask(cfg *drivers.TaskConfig, stateDir string, wl workloadConfig, client *supervisor.Client, pid int, startedAt time.Time) *task {
	return &task{
		id: cfg.ID, cfg: cfg, stateDir: stateDir, workload: wl, client: client, pid: pid, startedAt: startedAt,
		cancel: func() {}, waiterDone: make(chan struct{}), exited: make(chan struct{}),
	}
}

// finish records the exit once; later calls are ignored.
func (t *task) finish(res *drivers.ExitResult, at time.Time) {
	t.exitOnce.Do(func() {
		t.result, t.completedAt = res, at
		close(t.exited)
	})
}

// hasExited reports whether the exit is known.
func (t *task) hasExited() bool {
	select {
	case <-t.exited:
		return true
	default:
		return false
	}
}

// handle returns the TaskHandle the client stores.
func (t *task) handle() (*drivers.TaskHandle, error) {
	b, err := json.Marshal(driverState{StateDir: t.stateDir, Workload: t.workload, SupervisorPID: t.client.SupervisorPID(), PID: t.pid, StartedAt: t.startedAt})
	if err != nil {
		return nil, fmt.Errorf("encode container handle: %w", err)
	}
	return &drivers.TaskHandle{Version: stateVersion, Config: t.cfg, State: drivers.TaskStateRunning, DriverState: b}, nil
}

// follow waits for the task's exit through the supervisor and records it.
// It ends when the task exits or ctx is cancelled (the driver closed).
func (t *task) follow(ctx context.Context) {
	defer close(t.waiterDone)
	res, err := t.client.Wait(ctx)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		// The supervisor may have delivered the result elsewhere and exited:
		// its status file keeps the result.
		st, serr := supervisor.ReadStatus(t.stateDir)
		if serr != nil || st.Result == nil {
			t.finish(&drivers.ExitResult{Err: fmt.Errorf("lost track of task %q: its supervisor (pid %d) stopped answering (%v) and recorded no exit", t.id, t.client.SupervisorPID(), err)}, time.Now())
			return
		}
		res = st.Result
	}
	t.finish(exitResult(res, t.workload.MemoryLimitMB), res.CompletedAt)
}

// exitResult converts a supervisor result. An OOM kill carries a message
// naming the memory limit, which the client shows in the task event.
func exitResult(r *supervisor.Result, memoryMB int64) *drivers.ExitResult {
	out := &drivers.ExitResult{ExitCode: r.ExitCode, Signal: r.Signal, OOMKilled: r.OOMKilled}
	switch {
	case r.Err != "":
		out.Err = errors.New(r.Err)
	case r.OOMKilled:
		out.Err = fmt.Errorf("the container was killed by the kernel's OOM killer: it used more than its memory limit of %d MB; raise resources.memory or reduce its memory use", memoryMB)
	}
	return out
}
