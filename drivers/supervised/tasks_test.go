package supervised

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/drivertest"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestMain(m *testing.M) { drivertest.RunMain(m) }

// testTimeout bounds every call in these tests.
const testTimeout = 30 * time.Second

// testData stands for a driver's own per-task data.
type testData struct {
	Note string
}

// testKind returns a Kind whose Cleanup counts its calls in cleanups.
func testKind(cleanups *atomic.Int32) Kind[testData] {
	return Kind[testData]{
		Name: "test", NotFound: `test task "%s"`, Under: "test", Noun: "task", It: "it", Workload: "workload",
		Cleanup: func(t *Task[testData]) error {
			cleanups.Add(1)
			return RemoveFiles(SupervisorFiles(t.StateDir)...)
		},
	}
}

// start starts script under a real supervisor (this test binary) and adds
// it to ts.
func start(t *testing.T, ts *Tasks[testData], script string) (*drivers.TaskConfig, *drivers.TaskHandle) {
	t.Helper()
	cfg := drivertest.TaskConfig(t, "web", nil)
	return cfg, startConfig(t, ts, cfg, script)
}

// startConfig starts script for cfg under a real supervisor and adds it to ts.
func startConfig(t *testing.T, ts *Tasks[testData], cfg *drivers.TaskConfig, script string) *drivers.TaskHandle {
	t.Helper()
	if err := ts.Admit(cfg); err != nil {
		t.Fatalf("Admit: %v", err)
	}
	spec, err := Spec(cfg, 0)
	if err != nil {
		t.Fatalf("Spec: %v", err)
	}
	spec.Command, spec.Args = "/bin/sh", []string{"-c", script}
	spec.Env, spec.Dir = EnvList(Env(cfg.Env)), cfg.TaskDir
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	client, err := supervisor.Start(ctx, "", spec, nil)
	if err != nil {
		t.Fatalf("supervisor.Start: %v", err)
	}
	h, err := ts.Add(cfg, client, testData{Note: "kept"})
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	t.Cleanup(func() {
		_ = ts.Lifecycle().StopTask(context.Background(), cfg.ID, 0, "SIGKILL")
		ts.Lifecycle().Close()
	})
	return h
}

// fifoTask starts script with a fifo at $NOMAD_TASK_DIR/fifo made first
// and returns the fifo's path.
func fifoTask(t *testing.T, ts *Tasks[testData], script string) (*drivers.TaskConfig, string) {
	t.Helper()
	cfg := drivertest.TaskConfig(t, "web", nil)
	fifo := filepath.Join(cfg.TaskDir, "local", "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	startConfig(t, ts, cfg, script)
	return cfg, fifo
}

func TestWaitDeliversResultOnceToEveryWaiter(t *testing.T) {
	ts := NewTasks(testKind(new(atomic.Int32)), nil)
	l := ts.Lifecycle()
	cfg, fifo := fifoTask(t, ts, `read x < "$NOMAD_TASK_DIR/fifo"; exit 3`)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var chans []<-chan *drivers.ExitResult
	for range 3 {
		ch, err := l.WaitTask(ctx, cfg.ID)
		if err != nil {
			t.Fatalf("WaitTask: %v", err)
		}
		chans = append(chans, ch)
	}
	// Release the task only now, so that every waiter waits for the exit.
	if err := os.WriteFile(fifo, []byte("go\n"), 0); err != nil {
		t.Fatal(err)
	}
	for i, ch := range chans {
		res, ok := <-ch
		if !ok || res == nil || res.ExitCode != 3 {
			t.Fatalf("waiter %d got %+v (ok %v), want exit code 3", i, res, ok)
		}
		if res, ok := <-ch; ok {
			t.Errorf("waiter %d got a second result %+v, want the channel closed", i, res)
		}
	}
	// A waiter that comes after the exit gets the result too.
	ch, err := l.WaitTask(ctx, cfg.ID)
	if err != nil {
		t.Fatalf("WaitTask after exit: %v", err)
	}
	if res := <-ch; res == nil || res.ExitCode != 3 {
		t.Errorf("late waiter got %+v, want exit code 3", res)
	}
	st, err := l.InspectTask(cfg.ID)
	if err != nil {
		t.Fatalf("InspectTask: %v", err)
	}
	if st.State != drivers.TaskStateExited || st.ExitResult == nil || st.ExitResult.ExitCode != 3 {
		t.Errorf("InspectTask = %+v, want exited with code 3", st)
	}
}

func TestWaitEndsWithCallersContext(t *testing.T) {
	ts := NewTasks(testKind(new(atomic.Int32)), nil)
	cfg, _ := start(t, ts, `exec sleep 300`)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := ts.Lifecycle().WaitTask(ctx, cfg.ID)
	if err != nil {
		t.Fatalf("WaitTask: %v", err)
	}
	cancel()
	if res, ok := <-ch; ok {
		t.Errorf("WaitTask after cancel yielded %+v, want the channel closed without a value", res)
	}
}

func TestStopExitedTaskIsNoop(t *testing.T) {
	ts := NewTasks(testKind(new(atomic.Int32)), nil)
	l := ts.Lifecycle()
	cfg, _ := start(t, ts, `exit 0`)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ch, err := l.WaitTask(ctx, cfg.ID)
	if err != nil {
		t.Fatalf("WaitTask: %v", err)
	}
	if res := <-ch; res == nil || !res.Successful() {
		t.Fatalf("task ended with %+v, want success", res)
	}
	for _, sig := range []string{"", "SIGTERM", "SIGKILL"} {
		if err := l.StopTask(ctx, cfg.ID, time.Second, sig); err != nil {
			t.Errorf("StopTask(%q) of an exited task = %v, want nil", sig, err)
		}
	}
	if err := l.SignalTask(ctx, cfg.ID, "SIGHUP"); !strings.Contains(err.Error(), "it has already exited") {
		t.Errorf("SignalTask of an exited task = %v, want a conflict saying it has already exited", err)
	}
	if _, err := ts.Running(cfg.ID, "exec"); err == nil || err.Error() != `exec: task "`+cfg.ID+`" has exited` {
		t.Errorf("Running of an exited task = %v, want a conflict", err)
	}
}

func TestDestroyJoinsWaiter(t *testing.T) {
	var cleanups atomic.Int32
	ts := NewTasks(testKind(&cleanups), nil)
	l := ts.Lifecycle()
	cfg, _ := start(t, ts, `exec sleep 300`)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	task, err := ts.Lookup(cfg.ID)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	err = l.DestroyTask(ctx, cfg.ID, false)
	var coded *structs.CodedError
	if !errors.As(err, &coded) || coded.Code != 409 || !strings.Contains(err.Error(), "it is still running") {
		t.Fatalf("DestroyTask of a running task without force = %v, want a 409 saying it is still running", err)
	}
	if err := l.DestroyTask(ctx, cfg.ID, true); err != nil {
		t.Fatalf("DestroyTask with force: %v", err)
	}
	select {
	case <-task.waiterDone:
	default:
		t.Fatal("DestroyTask returned before the task's waiter goroutine ended")
	}
	if !task.HasExited() || !drivertest.ProcessGone(task.PID) {
		t.Errorf("destroyed task: exited %v, pid %d gone %v; want both", task.HasExited(), task.PID, drivertest.ProcessGone(task.PID))
	}
	if n := cleanups.Load(); n != 1 {
		t.Errorf("Cleanup ran %d times, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, supervisor.SpecFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spec file after destroy: %v, want it removed", err)
	}
	if _, err := l.InspectTask(cfg.ID); !errors.Is(err, drivers.ErrTaskNotFound) {
		t.Errorf("InspectTask after destroy = %v, want ErrTaskNotFound", err)
	}
}

func TestCloseJoinsWaitersAndRecoverReattaches(t *testing.T) {
	first := NewTasks(testKind(new(atomic.Int32)), nil)
	cfg, h := start(t, first, `exec sleep 300`)
	task, err := first.Lookup(cfg.ID)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	first.Lifecycle().Close()
	select {
	case <-task.waiterDone:
	default:
		t.Fatal("Close returned before the task's waiter goroutine ended")
	}
	if drivertest.ProcessGone(task.PID) {
		t.Fatal("Close killed the task; it must keep running under its supervisor")
	}

	second := NewTasks(testKind(new(atomic.Int32)), nil)
	l := second.Lifecycle()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := l.RecoverTask(ctx, h); err != nil {
		t.Fatalf("RecoverTask: %v", err)
	}
	got, err := second.Lookup(cfg.ID)
	if err != nil {
		t.Fatalf("Lookup after recovery: %v", err)
	}
	if got.PID != task.PID || got.Data.Note != "kept" {
		t.Errorf("recovered pid %d data %+v, want pid %d data {Note:kept}", got.PID, got.Data, task.PID)
	}
	if err := l.StopTask(ctx, cfg.ID, time.Second, "SIGTERM"); err != nil {
		t.Fatalf("StopTask after recovery: %v", err)
	}
	st, err := l.InspectTask(cfg.ID)
	if err != nil || st.State != drivers.TaskStateExited {
		t.Errorf("InspectTask after stop = %+v, %v; want exited", st, err)
	}
	l.Close()
}

func TestRecoverMissingSupervisor(t *testing.T) {
	l := NewTasks(testKind(new(atomic.Int32)), nil).Lifecycle()
	cfg := drivertest.TaskConfig(t, "gone", nil)
	state, err := encodeState(State{StateDir: cfg.StateDir, SupervisorPID: 1 << 22, PID: 1 << 22}, testData{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = l.RecoverTask(ctx, &drivers.TaskHandle{Version: StateVersion, Config: cfg, DriverState: state})
	if !errors.Is(err, drivers.ErrTaskNotFound) {
		t.Fatalf("RecoverTask with no supervisor and no status = %v, want ErrTaskNotFound", err)
	}
	if _, err := l.InspectTask(cfg.ID); !errors.Is(err, drivers.ErrTaskNotFound) {
		t.Errorf("InspectTask after failed recovery = %v, want ErrTaskNotFound", err)
	}

	for _, tc := range []struct {
		name string
		h    *drivers.TaskHandle
		want string
	}{
		{"no config", &drivers.TaskHandle{Version: StateVersion}, "recover test task: handle has no task config"},
		{"version", &drivers.TaskHandle{Version: 7, Config: cfg, DriverState: state}, `recover task "` + cfg.ID + `": test handle has version 7, this driver understands 1`},
		{"no state dir", &drivers.TaskHandle{Version: StateVersion, Config: cfg, DriverState: []byte(`{"PID":3}`)}, `recover task "` + cfg.ID + `": test handle state has no state dir`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := l.RecoverTask(ctx, tc.h)
			if err == nil || err.Error() != tc.want {
				t.Errorf("RecoverTask = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestUnknownTask(t *testing.T) {
	l := NewTasks(testKind(new(atomic.Int32)), nil).Lifecycle()
	_, err := l.InspectTask("a/b")
	var coded *structs.CodedError
	if !errors.Is(err, drivers.ErrTaskNotFound) || !errors.As(err, &coded) || coded.Code != 404 || coded.Msg != `test task "a/b"` {
		t.Errorf("InspectTask of an unknown task = %#v, want a 404 wrapping ErrTaskNotFound", err)
	}
}

func TestStateEncoding(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	st := State{StateDir: "/s", SupervisorPID: 10, PID: 11, StartedAt: at}

	// Without driver data the encoding is State's own (raw_exec's format).
	got, err := encodeState(st, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(st)
	if string(got) != string(want) {
		t.Errorf("encodeState without data = %s, want %s", got, want)
	}

	// With driver data, one flat object, as the drivers wrote before.
	type old struct {
		StateDir      string
		Note          string
		SupervisorPID int
		PID           int
		StartedAt     time.Time
	}
	got, err = encodeState(st, testData{Note: "n"})
	if err != nil {
		t.Fatal(err)
	}
	var o old
	if err := json.Unmarshal(got, &o); err != nil {
		t.Fatalf("decode %s: %v", got, err)
	}
	if diff := cmp.Diff(old{StateDir: "/s", Note: "n", SupervisorPID: 10, PID: 11, StartedAt: at}, o); diff != "" {
		t.Errorf("encoded state (-want +got):\n%s", diff)
	}

	// A handle written in the old format decodes.
	b, _ := json.Marshal(o)
	gotSt, gotData, err := decodeState[testData]("test", &drivers.TaskHandle{Version: StateVersion, DriverState: b})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, gotSt); diff != "" {
		t.Errorf("decoded State (-want +got):\n%s", diff)
	}
	if gotData.Note != "n" {
		t.Errorf("decoded data = %+v, want Note n", gotData)
	}

	if _, err := encodeState(st, 3); err == nil {
		t.Error("encodeState with data that is not an object succeeded, want an error")
	}
}
