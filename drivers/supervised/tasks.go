package supervised

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// exitSettle bounds how long StopTask waits for a racing exit to be recorded.
const exitSettle = 5 * time.Second

// Kind describes one driver to Tasks: its name, the words its messages use
// and the hooks where its tasks differ. X is the driver's own per-task data,
// kept in DriverState beside State.
type Kind[X any] struct {
	// Name is the driver's name as messages use it ("recover raw_exec task",
	// "raw_exec handle").
	Name string
	// NotFound is the format of the 404 message for an unknown task, with
	// the task ID as its only operand (`raw_exec task "%s"`).
	NotFound string
	// Under ends the conflict of a second start of one task ID: "a task with
	// this ID is already running under <Under>".
	Under string
	// Noun names one task in messages: "task" or "VM" ("lost track of task
	// ...", "task recovered").
	Noun string
	// It is the subject of "<It> is still running" and "<It> has already
	// exited": "it" or "the VM".
	It string
	// Workload names the supervised process in "its <Workload> (pid 12) was
	// still running unsupervised".
	Workload string

	// Result converts a supervisor result (nil: ExitResult).
	Result func(t *Task[X], r *supervisor.Result) *drivers.ExitResult
	// BeforeStop, optional, runs when StopTask is about to ask the supervisor
	// of a running task to stop it with sig after timeout. It returns the
	// signal and timeout to use instead, or done when the task is gone.
	BeforeStop func(ctx context.Context, t *Task[X], sig syscall.Signal, timeout time.Duration) (_ syscall.Signal, _ time.Duration, done bool)
	// Cleanup removes what a destroyed task leaves behind once it is
	// forgotten (nil: the supervisor's files, with RemoveFiles); DestroyTask
	// wraps its error as "destroy task <id>: <err>".
	Cleanup func(t *Task[X]) error
}

// Task is the record of one task, live or exited. Its exported fields are
// set when the record is made and never change.
type Task[X any] struct {
	ID       string
	Config   *drivers.TaskConfig
	StateDir string
	// Client is nil for a task recovered after it exited.
	Client    *supervisor.Client
	PID       int
	StartedAt time.Time
	// Data is the driver's own data, kept in DriverState.
	Data X
	// Usage turns CPU times into rates between TaskStats calls.
	Usage supervisor.CPUTracker

	// cancel stops the waiter goroutine; waiterDone is closed when it ended.
	cancel     context.CancelFunc
	waiterDone chan struct{}

	// exited is closed once result and completedAt are set.
	exited      chan struct{}
	exitOnce    sync.Once
	result      *drivers.ExitResult
	completedAt time.Time
}

func newTask[X any](cfg *drivers.TaskConfig, st State, client *supervisor.Client, data X) *Task[X] {
	return &Task[X]{
		ID: cfg.ID, Config: cfg, StateDir: st.StateDir, Client: client, PID: st.PID, StartedAt: st.StartedAt, Data: data,
		cancel: func() {}, waiterDone: make(chan struct{}), exited: make(chan struct{}),
	}
}

// Exited is closed once the task's exit is recorded.
func (t *Task[X]) Exited() <-chan struct{} { return t.exited }

// HasExited reports whether the task's exit is recorded.
func (t *Task[X]) HasExited() bool {
	select {
	case <-t.exited:
		return true
	default:
		return false
	}
}

// finish records the exit once; later calls are ignored.
func (t *Task[X]) finish(res *drivers.ExitResult, at time.Time) {
	t.exitOnce.Do(func() {
		t.result, t.completedAt = res, at
		close(t.exited)
	})
}

// ExitResult converts a supervisor result: exit code, signal and error.
func ExitResult(r *supervisor.Result) *drivers.ExitResult {
	out := &drivers.ExitResult{ExitCode: r.ExitCode, Signal: r.Signal}
	if r.Err != "" {
		out.Err = errors.New(r.Err)
	}
	return out
}

// Tasks is a driver's table of tasks, keyed by task ID. It is safe for
// concurrent use.
type Tasks[X any] struct {
	kind   Kind[X]
	logger *slog.Logger

	mu    sync.Mutex
	tasks map[string]*Task[X]
}

// NewTasks returns an empty table for the driver kind describes; logger
// (nil: discard) receives the recovery events.
func NewTasks[X any](kind Kind[X], logger *slog.Logger) *Tasks[X] {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Tasks[X]{kind: kind, logger: logger, tasks: make(map[string]*Task[X])}
}

// Lifecycle returns the table's drivers.Driver methods, for the driver to
// embed.
func (ts *Tasks[X]) Lifecycle() Lifecycle[X] { return Lifecycle[X]{ts: ts} }

// Admit checks that cfg may start: it has a state dir and no task with its
// ID is known.
func (ts *Tasks[X]) Admit(cfg *drivers.TaskConfig) error {
	if cfg.StateDir == "" {
		return fmt.Errorf("start task %q: TaskConfig.StateDir is empty; the client must give each task a state dir", cfg.ID)
	}
	ts.mu.Lock()
	_, dup := ts.tasks[cfg.ID]
	ts.mu.Unlock()
	if dup {
		return structs.NewConflict("start task %q: a task with this ID is already running under %s", cfg.ID, ts.kind.Under)
	}
	return nil
}

// Add records the task its supervisor client just started, starts
// following its exit and returns the handle the client stores.
func (ts *Tasks[X]) Add(cfg *drivers.TaskConfig, client *supervisor.Client, data X) (*drivers.TaskHandle, error) {
	st := State{StateDir: cfg.StateDir, SupervisorPID: client.SupervisorPID(), PID: client.PID(), StartedAt: client.StartedAt()}
	b, err := encodeState(st, data)
	if err != nil {
		return nil, fmt.Errorf("encode %s handle: %w", ts.kind.Name, err)
	}
	ts.track(newTask(cfg, st, client, data))
	return &drivers.TaskHandle{Version: StateVersion, Config: cfg, State: drivers.TaskStateRunning, DriverState: b}, nil
}

// Lookup returns the task, or a 404 wrapping drivers.ErrTaskNotFound.
func (ts *Tasks[X]) Lookup(taskID string) (*Task[X], error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t, ok := ts.tasks[taskID]
	if !ok {
		return nil, &structs.CodedError{Code: 404, Msg: fmt.Sprintf(ts.kind.NotFound, taskID), Err: drivers.ErrTaskNotFound}
	}
	return t, nil
}

// Running returns the task if it is still running, or a 409 saying doing
// (e.g. "exec") failed because it has exited.
func (ts *Tasks[X]) Running(taskID, doing string) (*Task[X], error) {
	t, err := ts.Lookup(taskID)
	if err != nil {
		return nil, err
	}
	if t.HasExited() || t.Client == nil {
		return nil, structs.NewConflict("%s: task %q has exited", doing, taskID)
	}
	return t, nil
}

// TreeStats sums the memory (RSS) and CPU use of the running task's process
// tree, read from /proc, with CPU rates over the interval since the last
// call. noun names the task in errors ("task", "VM").
func (ts *Tasks[X]) TreeStats(ctx context.Context, taskID, noun string) (*structs.TaskResourceUsage, error) {
	t, err := ts.Running(taskID, "resource usage")
	if err != nil {
		return nil, err
	}
	u, err := t.Usage.TreeStats(ctx, t.PID)
	if err != nil {
		if t.HasExited() {
			return nil, structs.NewConflict("resource usage: %s %q has exited", noun, taskID)
		}
		return nil, fmt.Errorf("resource usage of %s %q: %w", noun, taskID, err)
	}
	return u, nil
}

// track registers t and starts its waiter goroutine when it has a supervisor.
func (ts *Tasks[X]) track(t *Task[X]) {
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	ts.mu.Lock()
	ts.tasks[t.ID] = t
	ts.mu.Unlock()
	if t.Client == nil {
		close(t.waiterDone)
		return
	}
	go ts.follow(ctx, t)
}

// result converts a supervisor result with the driver's hook.
func (ts *Tasks[X]) result(t *Task[X], r *supervisor.Result) *drivers.ExitResult {
	if ts.kind.Result != nil {
		return ts.kind.Result(t, r)
	}
	return ExitResult(r)
}

// follow is t's waiter goroutine: it waits for the exit through the
// supervisor and records it. It ends when the task exits or ctx is
// cancelled (by DestroyTask or Close).
func (ts *Tasks[X]) follow(ctx context.Context, t *Task[X]) {
	defer close(t.waiterDone)
	res, err := t.Client.Wait(ctx)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		// The supervisor may have delivered the result elsewhere and exited:
		// its status file keeps the result.
		st, serr := supervisor.ReadStatus(t.StateDir)
		if serr != nil || st.Result == nil {
			why := "recorded no exit"
			// The workload may run on unsupervised: kill it now, before the
			// task is restarted or stopped (stopping an exited task does
			// nothing, and nothing would ever stop the orphan).
			if serr == nil && st.PID == t.PID && supervisor.KillOrphan(st) {
				why = fmt.Sprintf("recorded no exit; its %s (pid %d) was still running unsupervised and has been killed", ts.kind.Workload, t.PID)
				ts.logger.Warn("killed unsupervised "+ts.kind.Noun+" "+ts.kind.Workload, "task", t.ID, "pid", t.PID)
			}
			t.finish(&drivers.ExitResult{Err: fmt.Errorf("lost track of %s %q: its supervisor (pid %d) stopped answering (%v) and %s", ts.kind.Noun, t.ID, t.Client.SupervisorPID(), err, why)}, time.Now())
			return
		}
		res = st.Result
	}
	t.finish(ts.result(t, res), res.CompletedAt)
}

// forget removes the task and joins its waiter goroutine.
func (ts *Tasks[X]) forget(t *Task[X]) {
	t.cancel()
	<-t.waiterDone
	ts.mu.Lock()
	delete(ts.tasks, t.ID)
	ts.mu.Unlock()
}

// SupervisorFiles are the files a supervisor keeps in its state dir.
func SupervisorFiles(stateDir string) []string {
	var out []string
	for _, f := range []string{supervisor.SpecFile, supervisor.StatusFile, supervisor.LogFile, supervisor.SocketFile} {
		out = append(out, filepath.Join(stateDir, f))
	}
	return out
}

// RemoveFiles removes each non-empty path; a missing one is no error.
func RemoveFiles(paths ...string) error {
	var errs []error
	for _, p := range paths {
		if p == "" {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
